"""System-prompt rewrites for agents whose tool calls fail, validated by replaying runs.

With a configured language model (never the offline one): the model rewrites the agent's
system prompt from the failures of half of its failed runs; the other half (held out from the
rewrite) is replayed through the real agent and tools, once with the old prompt and once with
the new one, in a scratch data directory. The rewrite is kept only when the replayed runs fail
less and no replayed run that passed before fails after.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from pydantic import BaseModel, Field

from nova_graph.improve.diagnose import AgentDiagnosis
from nova_graph.roster import AgentSpec, Roster
from nova_graph.routing.decision import RouteDecision

PROMPT_REWRITE = (
    "You maintain the system prompt of one agent of a multi-agent assistant. Its tool calls "
    "keep failing. Rewrite the system prompt so the agent fills the tools' arguments in the form "
    "they accept (keep its scope and tone). Answer with the new system prompt only.\n\n"
    "Agent: {agent}\nCurrent system prompt: {prompt}\nFailures:\n{failures}\n"
    "Requests that failed:\n{requests}\n"
)
MAX_PROMPT_CHARS = 4000


class PromptRewrite(BaseModel):
    """A proposed system prompt for one agent and what replaying held-out runs said."""

    agent: str
    old_prompt: str
    new_prompt: str
    replayed: int = Field(description="Held-out failed requests replayed (old and new prompt).")
    failed_before: int
    failed_after: int
    newly_failing: int = Field(description="Replayed requests that passed before, fail after.")
    kept: bool
    reason: str


class _OneAgent:
    """Routes every request to one agent (replays bypass routing on purpose)."""

    def __init__(self, agent: str) -> None:
        self.agent = agent

    def route(self, text: str) -> RouteDecision:
        return RouteDecision(agents=[self.agent], scores={self.agent: 1.0}, confidence=1.0)


def replay(
    spec: AgentSpec,
    requests: Sequence[str],
    model: Any,
    data_dir: Path,
    *,
    build: Callable[..., Any] | None = None,
) -> list[bool]:
    """Run ``requests`` through ``spec`` alone (its real tools, ``model``); True = failed.

    ``build`` is the graph builder that knows the agent's tools (default: ``build_graph``; an
    app passes its own, e.g. one that adds its tool sets).
    """
    from nova_graph.graph import build_graph
    from nova_graph.runlog import record_from_state

    graph = (build or build_graph)(
        roster=Roster([spec]), router=_OneAgent(spec.name), model=model, data_dir=data_dir
    )
    out = []
    for i, text in enumerate(requests):
        config: RunnableConfig = {"configurable": {"thread_id": f"replay-{spec.name}-{i}"}}
        state = graph.invoke({"messages": [{"role": "user", "content": text}]}, config)
        out.append(record_from_state(state, 0.0).status == "failed")
    return out


def rewrite_prompt(
    diagnosis: AgentDiagnosis,
    roster: Roster,
    model: Any,
    *,
    data_dir: str | Path | None = None,
    build: Callable[..., Any] | None = None,
) -> PromptRewrite | None:
    """A validated system-prompt rewrite for ``diagnosis.agent`` (``None``: nothing to do,
    an offline model, fewer than two failed requests, or no usable rewrite)."""
    from nova_graph.models import is_offline

    requests = diagnosis.failed_requests
    if model is None or is_offline(model) or len(requests) < 2 or diagnosis.agent not in roster:
        return None
    spec = roster[diagnosis.agent]
    shown, held = requests[: len(requests) // 2], requests[len(requests) // 2 :]
    failures = "\n".join(
        f"- tool {t.tool}: {t.errors} of {t.calls} calls failed; arguments in failing calls: "
        f"{', '.join(t.failing_args) or 'none'}; errors: {' | '.join(t.errors_seen) or '-'}"
        for t in diagnosis.tools
    )
    reply = model.invoke(
        PROMPT_REWRITE.format(
            agent=spec.name,
            prompt=spec.system_prompt,
            failures=failures or "- (no tool errors recorded)",
            requests="\n".join(f"- {r}" for r in shown),
        )
    )
    new = str(getattr(reply, "content", reply)).strip()
    if not 10 <= len(new) <= MAX_PROMPT_CHARS or new == spec.system_prompt:
        return None
    rewritten = spec.model_copy(update={"system_prompt": new})
    with tempfile.TemporaryDirectory(prefix="nova-replay-") as scratch:
        where = Path(data_dir) if data_dir is not None else Path(scratch)
        before = replay(spec, held, model, where / "before", build=build)
        after = replay(rewritten, held, model, where / "after", build=build)
    newly = sum(1 for b, a in zip(before, after, strict=True) if a and not b)
    kept = sum(after) < sum(before) and newly == 0
    reason = (
        f"replayed {len(held)} held-out failed request(s): {sum(before)} failed with the old "
        f"prompt, {sum(after)} with the new one"
        + (f", {newly} newly failing" if newly else "")
        + ("" if kept else "; not kept")
    )
    return PromptRewrite(
        agent=spec.name,
        old_prompt=spec.system_prompt,
        new_prompt=new,
        replayed=len(held),
        failed_before=sum(before),
        failed_after=sum(after),
        newly_failing=newly,
        kept=kept,
        reason=reason,
    )
