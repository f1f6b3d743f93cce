"""Per-agent diagnostics from the run log: which agents fail, which tool and which argument,
how often, and what to change (example requests, scope text, a system-prompt note).

``diagnose(runlog.runs(), roster)`` reads the recorded runs (agent failures and tool calls,
including calls that succeeded, so every rate has its denominator).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from pydantic import BaseModel, Field

from nova_graph.roster import Roster
from nova_graph.runlog import RunRecord

MIN_FAILURES = 2
"""Failures an agent needs before a change is proposed for it."""


class ToolDiagnosis(BaseModel):
    """One tool of one agent: calls, errors, and the arguments present in failing calls."""

    tool: str
    calls: int
    errors: int
    failing_args: dict[str, int] = Field(
        default_factory=dict, description="Argument name -> failing calls that passed it."
    )
    errors_seen: list[str] = Field(default_factory=list, description="Distinct error texts.")

    @property
    def error_rate(self) -> float:
        """Errors per call."""
        return self.errors / self.calls if self.calls else 0.0


class AgentDiagnosis(BaseModel):
    """One agent's failures over the run log, with proposed changes."""

    agent: str
    runs: int
    failed_runs: int
    error_types: dict[str, int] = Field(default_factory=dict)
    tools: list[ToolDiagnosis] = Field(default_factory=list)
    failed_requests: list[str] = Field(default_factory=list)
    proposals: list[str] = Field(default_factory=list)

    @property
    def failure_rate(self) -> float:
        """Failed runs per run of this agent."""
        return self.failed_runs / self.runs if self.runs else 0.0


def diagnose(runs: Iterable[RunRecord], roster: Roster | None = None) -> list[AgentDiagnosis]:
    """Per-agent diagnostics, worst first (agents with no failures are left out)."""
    ran: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    error_types: dict[str, Counter[str]] = defaultdict(Counter)
    calls: dict[tuple[str, str], int] = Counter()
    errors: dict[tuple[str, str], int] = Counter()
    args: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    texts: dict[tuple[str, str], list[str]] = defaultdict(list)
    requests: dict[str, list[str]] = defaultdict(list)
    moved: dict[str, Counter[str]] = defaultdict(Counter)
    for run in runs:
        failing = {f.agent: f.error_type for f in run.failures}
        for part in run.agents:
            ran[part.agent] += 1
            bad = part.status == "failed" or part.agent in failing
            for call in part.tool_calls:
                key = (part.agent, call.name)
                calls[key] += 1
                if not call.ok:
                    errors[key] += 1
                    args[key].update(list(call.args))
                    text = call.output.strip().splitlines()[0][:200] if call.output.strip() else ""
                    if text and text not in texts[key]:
                        texts[key].append(text)
            if bad:
                failed[part.agent] += 1
                error_types[part.agent][failing.get(part.agent, "tool_error")] += 1
                if run.request not in requests[part.agent]:
                    requests[part.agent].append(run.request)
                right = run.correct_agent
                if right and right != part.agent:
                    moved[part.agent][right] += 1
    out = []
    for agent, n in failed.most_common():
        tools = sorted(
            (
                ToolDiagnosis(
                    tool=tool,
                    calls=calls[(a, tool)],
                    errors=errors[(a, tool)],
                    failing_args=dict(args[(a, tool)].most_common()),
                    errors_seen=texts[(a, tool)][:3],
                )
                for a, tool in calls
                if a == agent and errors[(a, tool)]
            ),
            key=lambda t: -t.errors,
        )
        diagnosis = AgentDiagnosis(
            agent=agent,
            runs=ran[agent],
            failed_runs=n,
            error_types=dict(error_types[agent]),
            tools=tools,
            failed_requests=requests[agent][:5],
        )
        diagnosis.proposals = _proposals(diagnosis, moved[agent], roster)
        out.append(diagnosis)
    return sorted(out, key=lambda d: (-d.failure_rate, -d.failed_runs, d.agent))


def _proposals(d: AgentDiagnosis, moved: Counter[str], roster: Roster | None) -> list[str]:
    """Concrete changes for one agent, most specific first."""
    if d.failed_runs < MIN_FAILURES:
        return []
    out = []
    for t in d.tools:
        if not t.errors:
            continue
        arg = next(iter(t.failing_args), None)
        where = f" (argument {arg!r} in {t.failing_args[arg]} of them)" if arg else ""
        seen = f"; errors seen: {' | '.join(t.errors_seen)}" if t.errors_seen else ""
        out.append(
            f"system prompt: {t.errors} of {t.calls} calls to {t.tool} failed{where}{seen}. "
            f"Add to {d.agent}'s system prompt how to fill "
            f"{repr(arg) if arg else 'its arguments'} for {t.tool} "
            f"(the form the tool accepts), or ask the user for it when the request lacks it."
        )
    for right, n in moved.most_common():
        out.append(
            f"examples: {n} failed request(s) of {d.agent} belonged to {right}; add them to "
            f"{right}'s example requests (`nova improve` proposes and checks this)."
        )
    if roster is not None and d.agent in roster and not d.tools and d.failure_rate >= 0.5:
        out.append(
            f"scope: {d.agent} failed {d.failed_runs} of {d.runs} runs without a tool error; "
            f"narrow its description ({roster[d.agent].description!r}) to what it can do, so "
            "the router stops sending it requests like: " + "; ".join(d.failed_requests[:3])
        )
    return out


def diagnosis_text(diagnoses: Iterable[AgentDiagnosis]) -> str:
    """The diagnostics as terminal text."""
    lines = []
    for d in diagnoses:
        lines.append(
            f"{d.agent}: failed {d.failed_runs} of {d.runs} runs ({d.failure_rate * 100:.0f}%)"
            + (
                " — " + ", ".join(f"{k} x{v}" for k, v in d.error_types.items())
                if d.error_types
                else ""
            )
        )
        for t in d.tools:
            argtext = ", ".join(f"{k} x{v}" for k, v in t.failing_args.items()) or "no arguments"
            lines.append(f"  tool {t.tool}: {t.errors}/{t.calls} calls failed ({argtext})")
        for p in d.proposals:
            lines.append(f"  -> {p}")
    return "\n".join(lines) if lines else "no agent failures or tool errors in the run log"
