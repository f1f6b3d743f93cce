"""Streaming: node updates in execution order, model tokens tagged by agent, interrupts, async."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langgraph.types import Command

from nova_app import build_nova_graph
from nova_app.cli import main
from nova_graph.roster import Roster
from nova_graph.routing.decision import ClauseRoute, RouteDecision
from nova_graph.streaming import StreamEvent, astream_run, describe_update, stream_run
from nova_graph.testing import TableRouter

MULTI_Q = "what time is it, and also count the words: alpha beta gamma"
AMBIGUOUS_Q = "the numbers thing"
TABLE = {
    MULTI_Q: RouteDecision(
        agents=["clock", "words"],
        scores={"clock": 0.81, "words": 0.77},
        clauses=[
            ClauseRoute(text="what time is it", agent="clock", score=0.81),
            ClauseRoute(text="count the words: alpha beta gamma", agent="words", score=0.77),
        ],
    ),
    AMBIGUOUS_Q: RouteDecision(agents=["math", "stock"], ambiguous=True),
}


class StreamingFakeModel(GenericFakeChatModel):
    """LangChain's fake model that streams its reply word by word; tools are accepted, unused."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


def _config() -> Any:
    return {"configurable": {"thread_id": uuid.uuid4().hex}}


def _ask(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


@pytest.fixture()
def graph(small_roster: Roster, offline_model: Any, data_dir: Path) -> Any:
    return build_nova_graph(
        roster=small_roster, router=TableRouter(TABLE), model=offline_model, data_dir=data_dir
    )


def _updates(events: list[StreamEvent]) -> list[str]:
    return [e.node for e in events if e.kind == "update"]


def test_updates_arrive_per_node_in_execution_order(graph: Any) -> None:
    events = list(stream_run(graph, _ask(MULTI_Q), _config(), tokens=False))
    nodes = _updates(events)
    assert nodes[0] == "supervisor" and nodes[-2:] == ["next_steps", "compose"]
    assert sorted(nodes[1:-2]) == ["clock", "words"]  # one superstep: then the plan's status
    assert events[0].data["routes"] == ["clock", "words"]


def test_update_descriptions_show_the_route_and_each_agents_tools(graph: Any) -> None:
    events = list(stream_run(graph, _ask(MULTI_Q), _config(), tokens=False))
    lines = [describe_update(e.node, e.data) for e in events if e.kind == "update"]
    assert lines[0] == "supervisor: route → clock (0.81), words (0.77)"
    assert any(line.startswith("clock: clock ok (current_time;") for line in lines)
    assert lines[-1] == "compose: answer ready"


def test_model_tokens_are_tagged_with_the_agent_node_that_produced_them(
    small_roster: Roster, data_dir: Path
) -> None:
    def replies() -> Iterator[AIMessage]:
        while True:
            yield AIMessage(content="tick tock said the clock")

    model = StreamingFakeModel(messages=replies())
    graph = build_nova_graph(
        roster=small_roster, router=TableRouter(TABLE), model=model, data_dir=data_dir
    )
    events = list(stream_run(graph, _ask(MULTI_Q), _config()))
    tokens = [e for e in events if e.kind == "token" and e.node in ("clock", "words")]
    assert {e.node for e in tokens} == {"clock", "words"}
    clock_text = "".join(e.data for e in tokens if e.node == "clock")
    assert clock_text == "tick tock said the clock"
    assert len([e for e in tokens if e.node == "clock"]) > 1  # several chunks, not one message
    first_clock = next(i for i, e in enumerate(events) if e.kind == "token" and e.node == "clock")
    clock_done = next(i for i, e in enumerate(events) if e.kind == "update" and e.node == "clock")
    assert first_clock < clock_done


def test_tokens_false_streams_updates_only(graph: Any) -> None:
    events = list(stream_run(graph, _ask(MULTI_Q), _config(), tokens=False))
    assert {e.kind for e in events} == {"update"}


def test_clarification_is_streamed_as_an_interrupt_and_resume_streams_the_rest(
    graph: Any,
) -> None:
    config = _config()
    first = list(stream_run(graph, _ask(AMBIGUOUS_Q), config))
    pending = [e for e in first if e.kind == "interrupt"]
    assert len(pending) == 1 and pending[0].data["type"] == "clarification"
    assert [o["agent"] for o in pending[0].data["options"]] == ["math", "stock"]
    assert "compose" not in _updates(first)
    second = list(stream_run(graph, Command(resume="math"), config))
    # a lone plan step goes straight to compose (no next_steps superstep)
    assert _updates(second) == ["supervisor", "math", "compose"]


def test_astream_yields_the_same_updates_as_stream(graph: Any) -> None:
    async def collect() -> list[StreamEvent]:
        return [e async for e in astream_run(graph, _ask(MULTI_Q), _config(), tokens=False)]

    async_nodes = _updates(asyncio.run(collect()))
    sync_nodes = _updates(list(stream_run(graph, _ask(MULTI_Q), _config(), tokens=False)))
    assert async_nodes[0] == sync_nodes[0] == "supervisor"
    assert sorted(async_nodes) == sorted(sync_nodes)


@pytest.fixture()
def small_nova_env(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``nova ask`` configured through NOVA_* settings: the small roster, no memory."""
    monkeypatch.setenv(
        "NOVA_ROSTER_PATH", str(Path(__file__).parent / "data" / "roster_small.yaml")
    )
    monkeypatch.setenv("NOVA_CHROMA_URL", "off")
    return data_dir


def test_nova_ask_prints_each_nodes_update_before_the_outcome(
    small_nova_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", "what time is it"]) == 0
    out = capsys.readouterr().out
    steps = ["· supervisor: route → clock", "· clock: clock ok (current_time;", "· compose:"]
    positions = [out.index(step) for step in steps]
    assert positions == sorted(positions)
    assert positions[-1] < out.index("--- answer ---")
    assert (small_nova_env / "checkpoints.sqlite").is_file()  # settings: SQLite in the data dir


def test_nova_ask_tokens_prints_model_output_tagged_with_the_agent(
    small_nova_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", "what time is it", "--tokens"]) == 0
    out = capsys.readouterr().out
    assert "  [clock] Result of `current_time`" in out
    assert out.index("  [clock] ") < out.index("· clock: ")  # tokens arrive before the update
    assert "  [compose] " not in out  # compose writes no model tokens


def test_nova_ask_resume_without_thread_is_refused(
    small_nova_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", "--resume", "1"]) == 2
    assert "--resume needs --thread" in capsys.readouterr().err
