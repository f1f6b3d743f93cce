"""Tools and a graph of a user's own, importable by path from roster files in tests."""

from __future__ import annotations

from langchain_core.messages import AIMessage
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.types import interrupt


def log_expense(amount: float, what: str) -> str:
    """Record an expense of ``amount`` for ``what`` in the household budget."""
    return f"logged {amount:.2f} for {what}"


def _confirm(state: MessagesState) -> dict[str, list[AIMessage]]:
    answer = interrupt({"type": "confirm", "question": "Log this workout?"})
    return {"messages": [AIMessage(f"workout logged: {answer}")]}


_builder = StateGraph(MessagesState)
_builder.add_node("confirm", _confirm)
_builder.add_edge(START, "confirm")
#: A compiled graph that asks the user before it answers.
fitness_graph = _builder.compile(name="fitness_log")
