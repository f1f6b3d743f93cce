"""The graph and the memory: context recalled before dispatch, stale context never handed over."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage

from nova_app import build_nova_graph
from nova_graph.memory import ChromaMemory
from nova_graph.roster import Roster
from nova_graph.routing.decision import RouteDecision
from nova_graph.testing import FunctionChatModel, HashingEncoder, TableRouter

STOCK_Q = "how many brush heads are in stock"


@pytest.fixture()
def memory(tmp_path: Path) -> ChromaMemory:
    return ChromaMemory(str(tmp_path / "mem"), encoder=HashingEncoder(), update_detector=None)


def _graph(roster: Roster, memory: ChromaMemory, data_dir: Path, model: Any) -> Any:
    router = TableRouter({STOCK_Q: RouteDecision(agents=["stock"])})
    return build_nova_graph(
        roster=roster, router=router, memory=memory, model=model, data_dir=data_dir
    )


def _ask(graph: Any, text: str) -> dict[str, Any]:
    config = {"configurable": {"thread_id": uuid.uuid4().hex}}
    return graph.invoke({"messages": [{"role": "user", "content": text}]}, config)


def test_agent_is_handed_current_memories_as_quoted_data_and_the_answer_cites_them(
    small_roster: Roster, memory: ChromaMemory, data_dir: Path, offline_model: Any
) -> None:
    mid = memory.remember("brush heads stock is counted in boxes of 10", namespace="default")
    state = _ask(_graph(small_roster, memory, data_dir, offline_model), STOCK_Q)
    refs = state["results"]["stock"]["memories"]
    assert [r["id"] for r in refs] == [mid]
    assert f"memories used: {mid}" in state["messages"][-1].content


def test_superseded_and_expired_memories_are_never_handed_to_an_agent(
    small_roster: Roster, memory: ChromaMemory, data_dir: Path
) -> None:
    seen: list[str] = []

    def capture(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> str:
        seen.extend(str(m.content) for m in messages if isinstance(m, SystemMessage))
        return "noted"

    past = datetime.now(UTC) - timedelta(days=3)
    memory.remember("brush heads reorder level is 50", namespace="default", key="reorder", now=past)
    memory.remember("brush heads reorder level is 80", namespace="default", key="reorder")
    memory.remember("brush heads promo stock ends", namespace="default", ttl=1, now=past)
    state = _ask(_graph(small_roster, memory, data_dir, FunctionChatModel(fn=capture)), STOCK_Q)
    texts = [r["text"] for r in state["results"]["stock"]["memories"]]
    assert texts == ["brush heads reorder level is 80"]
    context = "\n".join(seen)
    assert "level is 80" in context and "level is 50" not in context and "promo" not in context


def test_agents_write_memories_through_their_remember_tool(
    small_roster: Roster, memory: ChromaMemory, data_dir: Path
) -> None:
    def remember_once(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage:
        if isinstance(messages[-1], ToolMessage):
            return AIMessage(content=str(messages[-1].content))
        call = {"name": "remember", "args": {"text": "we stock 120 brush heads"}, "id": "r1"}
        return AIMessage(content="", tool_calls=[call])

    state = _ask(
        _graph(small_roster, memory, data_dir, FunctionChatModel(fn=remember_once)), STOCK_Q
    )
    assert state["results"]["stock"]["tool_calls"][0]["output"].startswith("remembered as ")
    found = memory.recall("brush heads", namespace="default")
    assert [m.text for m in found] == ["we stock 120 brush heads"]
