"""Time one improvement round under the strict gate and under the per-agent gate.

Run from the repository root::

    .venv/bin/python -m evals.improve.gate_cost            # per-agent, then strict

Same evidence for both (the simulated user of :mod:`evals.improve.shipped` on two thirds of the
stream), the ``--dev`` gate of that experiment (the never-seen half is not loaded), the pinned
packaged router as the start, and a fresh router cache per gate, so every candidate is built.
"per-agent" is what ``nova improve --auto`` ran before: one change per agent, no encoder.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from evals.improve import shipped
from nova_app import nova_roster
from nova_app.acceptance import packaged_acceptance_set
from nova_graph.improve import (
    AcceptancePolicy,
    ImprovementLoop,
    RoutingSetup,
    load_labelled,
    stratified_split,
)
from nova_graph.improve.proposals import evidence_from_log
from nova_graph.improve.routers import default_factory
from nova_graph.improve.setup import RouterFactory
from nova_graph.runlog import RunLog


def main(argv: Sequence[str] | None = None) -> int:
    """Print, per gate: evidence, proposals, kept changes, gate accuracy, seconds."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("gates", nargs="*", default=["per-agent", "strict"])
    args = p.parse_args(argv)
    accepted, _ = stratified_split(packaged_acceptance_set(), 0.5, seed=0)
    gate, _ = stratified_split(accepted, 0.5, seed=1)  # the --dev gate
    stream = load_labelled(shipped.STREAM)
    random.Random(0).shuffle(stream)
    runlog = RunLog(Path(tempfile.mkdtemp()) / "runs.sqlite")
    warm = RouterFactory(build=default_factory().build)
    start = RoutingSetup(nova_roster())
    used = stream[0::3] + stream[1::3]
    shipped._simulate(warm.router(start), used, start.roster, runlog, 0.0, random.Random(0))
    evidence = evidence_from_log(runlog)
    pinned = ImprovementLoop(warm, gate).pinned(start)
    for name in args.gates:
        factory = RouterFactory(build=default_factory(cache_dir=tempfile.mkdtemp()).build)
        if name == "strict":
            loop = ImprovementLoop.strict(factory, gate)
        else:
            loop = ImprovementLoop(factory, gate, policy=AcceptancePolicy())
        t0 = time.perf_counter()
        _, report = loop.run_round(pinned, evidence)
        seconds = time.perf_counter() - t0
        print(
            f"{name}: {len(evidence)} evidence, {len(report.outcomes)} proposals, "
            f"{len(report.accepted)} kept, gate {report.accuracy_before * 100:.1f} -> "
            f"{report.accuracy_after * 100:.1f}, {seconds:.0f} s",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
