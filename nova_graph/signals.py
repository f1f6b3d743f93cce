"""Implicit signals: what a user's behaviour says about earlier runs, with its provenance.

Read from two consecutive turns of one thread (or one turn alone), never from a rating:

- ``clarification``: the user answered a clarifying question; the chosen agent labels the run.
- ``correction``: the next turn says the previous answer missed ("no, I meant the invoices");
  the correction text, as routed, names the agent the previous run should have gone to.
- ``rephrase``: the previous turn was refused as out of scope and the next one, said
  differently, was routed confidently; the refused text is a (low-weight) example for that
  agent.
- ``agent_failure`` / ``tool_error``: an agent failed, or one of its tool calls failed (which
  tool, which arguments); used by the per-agent diagnostics, not by routing.

:func:`detect_signals` is pure; :class:`nova_graph.runlog.RunLog` stores what it finds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from nova_graph.reliability.redact import redact, redact_value

SignalKind = Literal["clarification", "correction", "rephrase", "agent_failure", "tool_error"]
ROUTING_KINDS: frozenset[str] = frozenset({"clarification", "correction", "rephrase"})
"""Signals that say which agent a request should have gone to."""

CORRECTION_WEIGHT = 1.0
REPHRASE_WEIGHT = 0.5
#: Lowest routing confidence at which a rephrase counts as "routed confidently".
REPHRASE_MIN_CONFIDENCE = 0.5

_CORRECTION = re.compile(
    r"^\s*(?:(?:no|nope|nah|wrong|not that|not quite)\b[\s,.!:;-]*)?"
    r"(?:i\s+(?:meant|mean|wanted|was asking about|was talking about)|"
    r"what\s+i\s+(?:meant|mean|wanted)\s+(?:was|is)|"
    r"(?:wrong|not (?:that|this))(?:\s+(?:one|agent|thing))?[\s,.!:;-]+i\s+(?:meant|need|want))"
    r"\b[\s,.:;-]*",
    re.IGNORECASE,
)


class ImplicitSignal(BaseModel):
    """One implicit signal about run ``run_id``, derived from run ``source_run``."""

    id: int | None = Field(default=None, description="Row id in the run log (set when stored).")
    run_id: str = Field(description="The run the signal is about (the one it labels).")
    kind: SignalKind
    agent: str | None = Field(
        default=None,
        description="Routing kinds: the agent the run should have gone to; failures: the agent "
        "that failed.",
    )
    weight: float = Field(default=1.0, ge=0.0, le=1.0)
    source_run: str = Field(description="The run whose behaviour gave the signal (provenance).")
    detail: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime | None = None


class ToolCallView(Protocol):
    """What detection reads of a tool call."""

    @property
    def name(self) -> str: ...
    @property
    def ok(self) -> bool: ...
    @property
    def args(self) -> dict[str, Any]: ...
    @property
    def output(self) -> str: ...


class AgentView(Protocol):
    """What detection reads of an agent's part of a run."""

    @property
    def agent(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def answer(self) -> str: ...
    @property
    def tool_calls(self) -> Sequence[ToolCallView]: ...


class FailureView(Protocol):
    """What detection reads of a recorded failure."""

    @property
    def agent(self) -> str: ...
    @property
    def error_type(self) -> str: ...
    @property
    def message(self) -> str: ...


class RunView(Protocol):
    """What detection reads of a run (a :class:`nova_graph.runlog.RunRecord`)."""

    @property
    def run_id(self) -> str: ...
    @property
    def request(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def decision(self) -> dict[str, Any]: ...
    @property
    def routes(self) -> Sequence[str]: ...
    @property
    def agents(self) -> Sequence[AgentView]: ...
    @property
    def failures(self) -> Sequence[FailureView]: ...
    @property
    def top_agent(self) -> str | None: ...
    @property
    def clarified_agent(self) -> str | None: ...


def correction_text(text: str) -> str | None:
    """What a correcting turn says was meant ("no, I meant the invoices" -> "the invoices"),
    or ``None`` when the turn is not a correction."""
    m = _CORRECTION.match(text)
    if m is None:
        return None
    rest = text[m.end() :].strip(" \t\n.,!?;:-")
    return rest or None


def detect_signals(previous: RunView | None, run: RunView) -> list[ImplicitSignal]:
    """The implicit signals ``run`` gives, about itself and about ``previous`` (the thread's
    preceding finished turn, if any)."""
    out: list[ImplicitSignal] = []
    if run.clarified_agent:
        out.append(
            ImplicitSignal(
                run_id=run.run_id,
                kind="clarification",
                agent=run.clarified_agent,
                source_run=run.run_id,
            )
        )
    out += _failures(run)
    if previous is None or run.top_agent is None or run.status in ("interrupted", "error"):
        return out
    meant = correction_text(run.request)
    if meant is not None:
        if run.top_agent != previous.top_agent:
            out.append(
                ImplicitSignal(
                    run_id=previous.run_id,
                    kind="correction",
                    agent=run.top_agent,
                    weight=CORRECTION_WEIGHT,
                    source_run=run.run_id,
                    detail={"correction": meant, "was": previous.top_agent},
                )
            )
    elif (
        previous.status == "out_of_scope"
        and not previous.routes
        and _confident(run.decision)
        and _norm(run.request) != _norm(previous.request)
    ):
        out.append(
            ImplicitSignal(
                run_id=previous.run_id,
                kind="rephrase",
                agent=run.top_agent,
                weight=REPHRASE_WEIGHT,
                source_run=run.run_id,
                detail={"rephrased_as": run.request[:500]},
            )
        )
    return out


def _failures(run: RunView) -> list[ImplicitSignal]:
    out = []
    tool_failed: set[str] = set()
    for part in run.agents:
        for call in part.tool_calls:
            if not call.ok:
                tool_failed.add(part.agent)
                out.append(
                    ImplicitSignal(
                        run_id=run.run_id,
                        kind="tool_error",
                        agent=part.agent,
                        source_run=run.run_id,
                        detail={
                            "tool": call.name,
                            "args": _plain_args(call.args),
                            "error": redact(call.output[:300]),
                        },
                    )
                )
    for f in run.failures:
        if f.agent in tool_failed or f.agent == "graph":
            continue
        out.append(
            ImplicitSignal(
                run_id=run.run_id,
                kind="agent_failure",
                agent=f.agent,
                source_run=run.run_id,
                detail={"error_type": f.error_type, "message": redact(f.message[:300])},
            )
        )
    failed = {f.agent for f in run.failures} | tool_failed
    for part in run.agents:
        if part.status == "failed" and part.agent not in failed:
            out.append(
                ImplicitSignal(
                    run_id=run.run_id,
                    kind="agent_failure",
                    agent=part.agent,
                    source_run=run.run_id,
                    detail={"error_type": "failed", "message": redact(part.answer[:300])},
                )
            )
    return out


def _plain_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """Tool arguments as JSON-safe values (long ones cut, secrets redacted)."""
    out: dict[str, Any] = {}
    for k, v in args.items():
        try:
            json.dumps(v)
            out[str(k)] = redact_value(v if not isinstance(v, str) else v[:200])
        except (TypeError, ValueError):
            out[str(k)] = redact(repr(v)[:200])
    return out


def _confident(decision: Mapping[str, Any]) -> bool:
    if decision.get("ambiguous") or decision.get("out_of_scope"):
        return False
    confidence = decision.get("confidence")
    return confidence is None or float(confidence) >= REPHRASE_MIN_CONFIDENCE


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())
