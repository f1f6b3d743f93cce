"""Printing a run's outcome for people: the route, each agent's answer, failures."""

from __future__ import annotations

from typing import Any, TextIO

from nova_graph.state import ToolCallRecord
from nova_graph.streaming import format_routes


def tool_failures(calls: list[ToolCallRecord]) -> list[ToolCallRecord]:
    """The tool calls that failed (``TOOL ERROR`` outputs and error statuses)."""
    return [c for c in calls if not c.get("ok", True)]


def render_outcome(state: dict[str, Any], out: TextIO) -> None:
    """Write the route, per-agent results, failures and the final answer of one turn."""
    decision = state.get("decision") or {}
    routes = state.get("routes") or []
    if routes:
        out.write(f"route: {format_routes(decision, routes)}\n")
    else:
        out.write("route: (none: out of scope)\n")
    if decision.get("model_calls"):
        out.write(f"routing model calls: {decision['model_calls']}\n")
    for name in routes:
        result = (state.get("results") or {}).get(name)
        if result is None:
            continue
        tools = ", ".join(t["name"] for t in result["tool_calls"]) or "none"
        bad_tools = tool_failures(result["tool_calls"])
        status = "failed (tool error)" if bad_tools else result["status"]
        out.write(
            f"  [{name}] {status}; tools: {tools}; "
            f"memories: {len(result['memories'])}; {result['latency_ms']:.0f} ms\n"
        )
        for call in bad_tools:
            out.write(f"  FAILED [{name}] tool {call['name']}: {call['output']}\n")
    for f in state.get("failures") or []:
        out.write(
            f"  FAILED [{f['agent']}] {f['error_type']}: {f['message']} "
            f"(attempts: {f['attempts']})\n"
        )
    messages = state.get("messages") or []
    if messages:
        # The composed answer holds every agent's answer, each under its agent's name.
        out.write("--- answer ---\n" + str(messages[-1].content).strip() + "\n")


def render_interrupt(payload: Any, out: TextIO, interrupt_id: str | None = None) -> None:
    """Write a pending clarifying question or approval request (with its id when given)."""
    tag = f"  (id {interrupt_id})" if interrupt_id else ""
    if isinstance(payload, dict) and "question" in payload:
        out.write(f"nova asks: {payload['question']}{tag}\n")
    else:
        out.write(f"nova needs your input: {payload}{tag}\n")
