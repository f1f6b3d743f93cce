"""The join node: compose one answer from every agent's result and every failure."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage

from nova_graph.models.offline import OFFLINE_NOTICE
from nova_graph.plan_dispatch import plan_report, step_result
from nova_graph.quoting import humanize_age
from nova_graph.roster import Roster
from nova_graph.state import NovaState


def compose_answer(state: NovaState, roster: Roster) -> str:
    """One answer for the user: each agent's part in route order, then what could not be done."""
    routes = state.get("routes") or []
    results = state.get("results") or {}
    failures = state.get("failures") or []
    steps = state.get("plan") or []
    found = (
        [step_result(s, results, state.get("step_results")) for s in steps]
        if steps
        else [results.get(a) for a in routes]
    )
    agents = [s["agent"] for s in steps] or routes
    repeated = {a for a in agents if agents.count(a) > 1}
    parts: list[str] = []
    offline = False
    ok = [r for r in found if r is not None and r["status"] == "ok"]
    for r in ok:
        body = r["answer"]
        if r.get("offline"):
            offline = True
            body = body.replace(OFFLINE_NOTICE, "")
        body = body.strip()
        if r["memories"]:
            used = ", ".join(
                f"{m['id']} ({humanize_age(m['age_seconds'])} old)" for m in r["memories"]
            )
            body += f"\n(memories used: {used})"
        if len(found) > 1:
            step = f" ({r['step']})" if r["agent"] in repeated and "step" in r else ""
            parts.append(f"**{r['agent']}**{step} — {roster[r['agent']].description}\n{body}")
        else:
            parts.append(body)
    for f in failures:
        parts.append(
            f"I could not complete the {f['agent']} part of this request: "
            f"{f['error_type']}: {f['message']} (after {f['attempts']} attempt(s))."
        )
    decision = state.get("decision")
    clauses = decision.get("clauses", []) if decision else []
    if len(clauses) > 1:
        for c in clauses:
            if c["agent"] is None:
                parts.append(
                    f"I did not handle {c['text']!r}: none of my agents covers it, so I "
                    "won't guess."
                )
    plan_lines = plan_report(state)
    if plan_lines:
        parts.append("Plan:\n" + "\n".join(plan_lines))
    status = state.get("plan_status") or {}
    missing = [
        agent
        for agent, r, key in (
            zip(agents, found, [s["id"] for s in steps], strict=True)
            if steps
            else zip(routes, found, routes, strict=True)
        )
        if r is None
        and (key not in status or status[key]["state"] != "skipped")
        and not any(f["agent"] == agent and f.get("step", key) == key for f in failures)
    ]
    for a in missing:
        parts.append(f"The {a} part of this request produced no result.")
    if not parts:
        parts.append("No agent produced an answer.")
    if offline:
        parts.append(OFFLINE_NOTICE)
    return "\n\n".join(parts)


def make_compose_node(roster: Roster) -> Any:
    """The join node writing the composed answer as the final AI message."""

    def compose(state: NovaState) -> dict[str, Any]:
        return {"messages": [AIMessage(compose_answer(state, roster), name="nova")]}

    return compose
