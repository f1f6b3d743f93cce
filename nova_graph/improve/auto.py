"""Autonomous improvement: run the loop only when enough new signals arrived, keep only what
passes the gate, and write every decision (kept or rejected, with its figures) to the version
store's history. ``nova improve --auto`` and Nova's ``improve_routing`` pipeline step call
:func:`improve_automatically`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from nova_graph.errors import ImprovementError
from nova_graph.improve.labelled import LabelledRequest
from nova_graph.improve.loop import AcceptancePolicy, ImprovementLoop, RoundReport
from nova_graph.improve.proposals import evidence_from_log
from nova_graph.improve.setup import RouterFactory, RoutingSetup
from nova_graph.improve.store import VersionStore
from nova_graph.runlog import RUNLOG_FILE, RunLog
from nova_graph.signals import ROUTING_KINDS

DEFAULT_MIN_NEW_SIGNALS = 20
"""New routing signals (implicit ones plus explicit ratings) an automatic run waits for."""


class AutoOutcome(BaseModel):
    """What one automatic run did."""

    ran: bool
    reason: str
    new_signals: int
    kept: list[str] = Field(default_factory=list, description="Versions stored by this run.")
    rejected: int = 0
    reports: list[RoundReport] = Field(default_factory=list)
    active: str | None = None


def new_signal_count(runlog: RunLog, since: dict[str, int]) -> int:
    """Routing signals and ratings stored after the ``since`` high-water marks."""
    signals = runlog.signals(after=since.get("signals", 0), kinds=ROUTING_KINDS)
    return len(signals) + runlog.feedback_after(since.get("feedback", 0))


def improve_automatically(
    data_dir: str | Path | None = None,
    *,
    heldout: Sequence[LabelledRequest] | Callable[[], Sequence[LabelledRequest]],
    start: RoutingSetup,
    factory: RouterFactory | None = None,
    runlog: RunLog | None = None,
    min_new_signals: int = DEFAULT_MIN_NEW_SIGNALS,
    policy: AcceptancePolicy | None = None,
    rounds: int = 1,
    encode: Callable[[Sequence[str]], Any] | None = None,
    progress: Callable[[str], None] | None = None,
    strict: bool = True,
) -> AutoOutcome:
    """Run the improvement loop if at least ``min_new_signals`` arrived since the last
    automatic run; record every decision in the version store.

    ``heldout`` is the acceptance set (or a function loading it, called only when the loop
    runs); ``start`` the setup to improve when no version is stored yet. Defaults: the data
    dir's run log and version store, and the graph's router builder.

    ``strict`` (the default): every added or removed example is checked as its own change
    (one router build each) under :meth:`AcceptancePolicy.strict` unless ``policy`` is given,
    with ``encode`` defaulting to the default encoder's; otherwise the batched gate (all of an
    agent's examples as one change, best first: fewer router builds, and a change may then take
    requests the held-out split does not show).
    """
    if min_new_signals < 1:
        raise ImprovementError(f"min_new_signals must be at least 1, got {min_new_signals}")
    if rounds < 1:
        raise ImprovementError(f"rounds must be at least 1, got {rounds}")
    if data_dir is None:
        from nova_graph.settings import default_data_dir

        data_dir = default_data_dir()
    store = VersionStore(data_dir)
    log = runlog or RunLog(Path(data_dir) / RUNLOG_FILE)
    since = store.last_auto_marks()
    marks = log.high_water()
    new = new_signal_count(log, since)
    if new < min_new_signals:
        reason = f"{new} new signal(s) since the last run, fewer than {min_new_signals}; skipped"
        store.record({"event": "auto", "ran": False, "reason": reason, "new_signals": new})
        return AutoOutcome(ran=False, reason=reason, new_signals=new, active=store.active())
    if callable(heldout):
        heldout = heldout()
    if factory is None:
        from nova_graph.improve.routers import default_factory

        factory = default_factory()
    options: dict[str, Any] = {"policy": policy, "store": store, "progress": progress}
    loop = (
        ImprovementLoop.strict(factory, heldout, encode=encode, **options)
        if strict
        else ImprovementLoop(factory, heldout, encode=encode, **options)
    )
    setup = store.active_setup(start)
    evidence = evidence_from_log(log)
    reports, kept, rejected = [], [], 0
    for r in range(1, rounds + 1):
        setup, report = loop.run_round(setup, evidence, round_no=r)
        reports.append(report)
        for o in report.outcomes:
            if o.verdict is None:
                continue
            if o.version:
                kept.append(o.version)
            else:
                rejected += 1
            store.record(
                {
                    "event": "decision",
                    "kept": o.version is not None,
                    "version": o.version,
                    "proposal": o.proposal.id,
                    "change": o.proposal.summary(),
                    "reason": o.verdict.reason,
                    "before": o.verdict.before,
                    "after": o.verdict.after,
                    "agent_deltas": o.verdict.agent_deltas,
                    "round": r,
                }
            )
        if not report.accepted:
            break
    reason = f"{new} new signal(s): kept {len(kept)} change(s), rejected {rejected}"
    store.record({"event": "auto", "ran": True, "reason": reason, "new_signals": new, **marks})
    return AutoOutcome(
        ran=True,
        reason=reason,
        new_signals=new,
        kept=kept,
        rejected=rejected,
        reports=reports,
        active=store.active(),
    )
