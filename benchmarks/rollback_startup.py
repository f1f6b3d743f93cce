"""``nova ask`` start-up after ``nova improve`` then ``--rollback v0000``, against a data dir
that never saw an improvement (the packaged router), measured in one run, interleaved.

    .venv/bin/python benchmarks/rollback_startup.py --runs 3

The "rolled back" data dir holds a stored base version (v0000, the packaged roster), one
improved version (v0001: an example request kept as an overlay, as ``nova improve --auto``
keeps it) and the rollback to v0000, exactly as the CLI leaves them; the "improved" data dir
stops before the rollback (v0001 active: the packaged router with the overlay on top). Each
sample is one ``nova ask "what time is it"`` process (wall time, start to exit; the router
cache is shared and warm, as on a user's machine); each round starts with the next data dir in
turn, as a fixed order gave the second and third dirs a position bias. Target: median ratio
rolled back / packaged <= 1.05 (improved / packaged is reported too). Writes
benchmarks/results/rollback_startup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nova_app import nova_roster  # noqa: E402
from nova_graph.improve.proposals import Proposal, apply_proposal  # noqa: E402
from nova_graph.improve.setup import RoutingSetup  # noqa: E402
from nova_graph.improve.store import VersionStore  # noqa: E402

REQUEST = "what time is it"


def improved_dir(root: Path, name: str) -> Path:
    """A data dir after one kept improvement (an overlay example)."""
    d = root / name
    store = VersionStore(d)
    base = RoutingSetup(nova_roster())
    store.ensure_base(base)
    change = Proposal(
        id="add_examples:general_chat",
        kind="add_examples",
        agents=["general_chat"],
        rationale="benchmark",
        add_examples={"general_chat": ["how are you doing this fine evening"]},
    )
    store.commit(apply_proposal(base, change, local=True), change=change.summary())
    return d


def rolled_back_dir(root: Path) -> Path:
    """A data dir after one kept improvement and ``nova improve --rollback v0000``."""
    d = improved_dir(root, "rolled-back")
    VersionStore(d).rollback("v0000")
    return d


def ask(data_dir: Path) -> float:
    """Seconds for one ``nova ask`` process."""
    env = {**os.environ, "NOVA_DATA_DIR": str(data_dir)}
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "nova_app", "ask", REQUEST],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - t0


def main() -> int:
    """Interleave packaged / rolled-back asks; print and save the medians and their ratio."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "rollback_startup.json"
    )
    args = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="nova-rollback-bench-"))
    dirs = {
        "packaged": root / "packaged",
        "rolled_back": rolled_back_dir(root),
        "improved": improved_dir(root, "improved"),
    }
    for d in dirs.values():
        ask(d)  # warm each (router cache, data dirs)
    times: dict[str, list[float]] = {k: [] for k in dirs}
    names = list(dirs)
    for r in range(args.runs):
        # each round starts with the next data dir, so none always runs first (or after another)
        for k in names[r % len(names) :] + names[: r % len(names)]:
            times[k].append(ask(dirs[k]))
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["rolled_back"] / med["packaged"]
    improved = med["improved"] / med["packaged"]
    result = {
        "runs": args.runs,
        "seconds": times,
        "median": med,
        "ratio": ratio,
        "improved_ratio": improved,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"nova ask median: packaged {med['packaged']:.2f} s, after improve + rollback v0000 "
        f"{med['rolled_back']:.2f} s, ratio {ratio:.3f} (target <= 1.05); improved (overlay "
        f"active) {med['improved']:.2f} s, ratio {improved:.3f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
