"""Size limits on history, resume values and state updates: refused before any checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langgraph.types import Command

from nova_app import build_nova_graph
from nova_graph.errors import InvalidRequestError
from nova_graph.models import OfflineChatModel
from nova_graph.reliability.guard import GuardedGraph
from nova_graph.roster import Roster
from nova_graph.routing.decision import RouteDecision
from nova_graph.settings import NovaSettings
from nova_graph.testing import TableRouter

WORDS = "how many words: alpha beta"
UNSURE = "count or compute this"


@pytest.fixture()
def graph(small_roster: Roster, data_dir: Path) -> Any:
    router = TableRouter(
        {
            WORDS: RouteDecision(agents=["words"]),
            UNSURE: RouteDecision(agents=["words", "calc"], ambiguous=True),
        }
    )
    return build_nova_graph(
        roster=small_roster, router=router, data_dir=data_dir, model=OfflineChatModel()
    )


def _cfg(thread: str) -> Any:
    return {"configurable": {"thread_id": thread}}


def _ask(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


def test_oversized_history_is_refused_before_it_is_checkpointed(graph: Any, data_dir: Path) -> None:
    history = [{"role": "user", "content": "x" * 20_000} for _ in range(60)]  # 1.2 MB in all
    with pytest.raises(InvalidRequestError, match="max_history_bytes"):
        graph.invoke({"messages": [*history, {"role": "user", "content": WORDS}]}, _cfg("h"))
    assert graph.get_state(_cfg("h")).values == {}
    db = data_dir / "checkpoints.sqlite"
    assert sum(p.stat().st_size for p in data_dir.glob("checkpoints.sqlite*")) < 1_000_000
    state = graph.invoke(_ask(WORDS), _cfg("h"))  # the thread is still usable
    assert state["results"]["words"]["status"] == "ok"
    assert db.exists()


def test_oversized_resume_is_refused_and_the_question_can_still_be_answered(graph: Any) -> None:
    first = graph.invoke(_ask(UNSURE), _cfg("r"))
    assert first["__interrupt__"]
    before = graph.get_state(_cfg("r"))
    with pytest.raises(InvalidRequestError, match="max_resume_bytes"):
        graph.invoke(Command(resume="1" * 10_000), _cfg("r"))
    assert graph.get_state(_cfg("r")).config == before.config  # nothing new was checkpointed
    state = graph.invoke(Command(resume="1"), _cfg("r"))
    assert state["routes"] == ["words"]


def test_resume_none_is_a_typed_error(graph: Any) -> None:
    graph.invoke(_ask(UNSURE), _cfg("n"))
    with pytest.raises(InvalidRequestError, match="resume"):
        graph.invoke(Command(resume=None), _cfg("n"))


def test_state_updates_are_size_checked_through_command_and_update_state(graph: Any) -> None:
    graph.invoke(_ask(WORDS), _cfg("u"))
    before = graph.get_state(_cfg("u")).config
    huge = {"request": "y" * 300_000}
    with pytest.raises(InvalidRequestError, match="max_update_bytes"):
        graph.invoke(Command(update=huge), _cfg("u"))
    with pytest.raises(InvalidRequestError, match="max_update_bytes"):
        graph.update_state(_cfg("u"), huge)
    assert graph.get_state(_cfg("u")).config == before


def test_limits_come_from_settings_and_survive_with_config(graph: Any) -> None:
    assert isinstance(graph, GuardedGraph)
    limits = NovaSettings(max_resume_bytes=64).input_limits()
    tight = graph.with_limits(limits).with_config(tags=["t"])
    assert isinstance(tight, GuardedGraph) and tight.limits.resume_bytes == 64
    with pytest.raises(InvalidRequestError, match="resume value"):
        tight.invoke(Command(resume="z" * 100), _cfg("s"))
