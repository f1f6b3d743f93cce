"""Input a checkpoint could not store is refused with a typed error before anything is written.

Found by ``benchmarks/attacks.py``'s fuzzed corpus: a lone surrogate or an integer beyond 64 bits
in a resume value or state update, and ``None`` input on a new thread, escaped as LangGraph's or
the serializer's own exceptions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langgraph.types import Command

from nova_app import build_nova_graph
from nova_graph.errors import InvalidRequestError
from nova_graph.models import OfflineChatModel
from nova_graph.roster import Roster
from nova_graph.routing.decision import RouteDecision
from nova_graph.testing import TableRouter

UNSURE = "count or compute this"


@pytest.fixture()
def asked(small_roster: Roster, data_dir: Path) -> tuple[Any, Any]:
    """A graph with a clarifying question pending on thread ``q``."""
    router = TableRouter({UNSURE: RouteDecision(agents=["words", "calc"], ambiguous=True)})
    graph = build_nova_graph(
        roster=small_roster, router=router, data_dir=data_dir, model=OfflineChatModel()
    )
    config = {"configurable": {"thread_id": "q"}}
    assert graph.invoke({"messages": [{"role": "user", "content": UNSURE}]}, config)[
        "__interrupt__"
    ]
    return graph, config


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (Command(resume="lone \udc80 surrogate"), "unpaired surrogate"),
        (Command(resume={"answer": -(2**70)}), "beyond 64 bits"),
        (Command(update={"messages": [{"role": "user", "content": "\ud800"}]}), "surrogate"),
        (Command(update={"route": {"n": 2**64}}), "beyond 64 bits"),
    ],
    ids=["resume-surrogate", "resume-huge-int", "update-surrogate", "update-huge-int"],
)
def test_unstorable_resume_or_update_is_refused_and_the_question_stays_open(
    asked: tuple[Any, Any], command: Command[Any], message: str
) -> None:
    graph, config = asked
    before = len(list(graph.get_state_history(config)))
    with pytest.raises(InvalidRequestError, match=message):
        graph.invoke(command, config)
    assert len(list(graph.get_state_history(config))) == before
    assert graph.get_state(config).interrupts  # still answerable


def test_none_input_on_a_new_thread_is_a_typed_error(asked: tuple[Any, Any]) -> None:
    graph, _ = asked
    with pytest.raises(InvalidRequestError, match="nothing to continue"):
        graph.invoke(None, {"configurable": {"thread_id": "new"}})
