"""Fault-and-attack run (issue 19): every reliability and security figure from one command.

    .venv/bin/python benchmarks/attacks.py [--rounds 60] [--seed 7] [--runs 100] [--requests 200]

Runs each scenario of ``tests/attack_scenarios.py`` against the real graph in temporary data
dirs (a real OpenAI-compatible server on 127.0.0.1 where a model server is needed) and prints
one line per target with its measured figure:

- cross-user memory reads or writes (two users through the graph, the agents' memory tools,
  ``recall_decisions`` and the memory API with the other user's ids and keys), target 0;
- occurrences of a planted key in files under the data dir, stdout/stderr/logs and exception
  text, across agent and router model failures echoing the key, ``nova ask``/``nova runs``, the
  run log and a base URL with a password, target 0;
- data-changing tool runs without an approval in the state history, over every write tool;
- duplicated side effects in ``--runs`` approved writes with injected transient errors,
  time-outs and kill -9 (children forked from one pre-imported server), target 0;
- untyped exceptions from a seeded hostile corpus (``--rounds`` random values plus fixed
  cases) through invoke, ``Command(resume=...)``, ``Command(update=...)``, the CLI and the
  memory API, target 0;
- lost turns under 8 threads + 8 asyncio tasks writing to one thread id, target 0;
- files or dirs with group/other permission bits after a first session under umask 022;
- requests answered or explicitly failed under 20 % injected faults (``benchmarks/faults.py``).

Writes benchmarks/results/attacks.json; exits 1 when any target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NOVA_CACHE_DIR", str(ROOT / ".nova-test-cache"))
for _var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "NOVA_MODEL"):
    os.environ.pop(_var, None)  # never reach a real model API

from tests import attack_scenarios as sc  # noqa: E402
from tests.fault_injection import run_faults  # noqa: E402
from tests.side_effects import run_rounds  # noqa: E402


def _timed(name: str, run: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"nova-attack-{name}-") as tmp:
        out = run(Path(tmp))
    out["seconds"] = round(time.perf_counter() - started, 1)
    return out


def main() -> int:
    """Run every scenario, print one line per target and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60, help="random fuzz values (plus fixed)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=100, help="side-effect rounds")
    parser.add_argument("--requests", type=int, default=200, help="fault-injection requests")
    parser.add_argument("--out", default=str(ROOT / "benchmarks/results/attacks.json"))
    args = parser.parse_args()
    command = (
        f"benchmarks/attacks.py --rounds {args.rounds} --seed {args.seed} --runs {args.runs} "
        f"--requests {args.requests}"
    )
    started = time.perf_counter()
    results: dict[str, dict[str, Any]] = {}
    lines: list[tuple[str, str, bool]] = []

    def report(name: str, line: str, ok: bool) -> None:
        lines.append((name, line, ok))
        print(f"{'ok  ' if ok else 'MISS'} {line}  [{results[name]['seconds']} s]", flush=True)

    results["users"] = _timed("users", lambda d: {"leaks": sc.cross_user_leaks(d)})
    n = len(results["users"]["leaks"])
    report("users", f"cross-user memory reads or writes: {n} (target 0)", n == 0)

    results["secrets"] = _timed("secrets", lambda d: {"modes": sc.secret_leaks(d)})
    modes = results["secrets"]["modes"]
    n = sum(modes.values())
    report(
        "secrets",
        f"planted key occurrences in files, output, logs, exceptions: {n} over "
        f"{len(modes)} failure modes (target 0)",
        n == 0,
    )

    results["approvals"] = _timed("approvals", sc.unapproved_writes)
    a = results["approvals"]
    n = len(a["unapproved"]) + len(a["changed_before_approval"])
    report(
        "approvals",
        f"data-changing tool runs without an approval: {n} over {len(sc.WRITE_TOOLS)} write "
        f"tools ({a['applied']} applied after approval) (target 0)",
        n == 0 and a["applied"] == len(sc.WRITE_TOOLS),
    )

    results["side_effects"] = _timed(
        "effects", lambda d: run_rounds(args.runs, sc.forked_step, echo=False)
    )
    e = results["side_effects"]
    report(
        "side_effects",
        f"duplicated side effects: {e['duplicated_side_effects']} in {e['runs']} runs with "
        f"transient errors, time-outs and kill -9 (lost: {e['lost_side_effects']}) (target 0)",
        e["duplicated_side_effects"] == e["lost_side_effects"] == 0,
    )

    corpus = sc.hostile_corpus(args.seed, args.rounds)
    results["fuzz"] = _timed("fuzz", lambda d: sc.untyped_exceptions(d, corpus))
    f = results["fuzz"]
    n = len(f["untyped"])
    report(
        "fuzz",
        f"untyped exceptions: {n} in {f['calls']} calls ({len(corpus)} hostile values through "
        "invoke, Command(resume/update), update_state, the memory API and the CLI) (target 0)",
        n == 0,
    )

    results["turns"] = _timed("turns", sc.lost_turns)
    t = results["turns"]
    report(
        "turns",
        f"lost turns under 8 threads + 8 asyncio tasks on one thread id: {t['lost']} "
        f"({t['answered']} answered, {t['rejected']} rejected with ThreadBusyError) (target 0)",
        t["lost"] == 0 and t["answered"] + t["rejected"] == t["sent"],
    )

    def permissions(tmp: Path) -> dict[str, Any]:
        sc.private_session(tmp / "session" / "nova-data")
        first = sc.first_command_session(tmp / "first")
        shared = sc.shared_paths(tmp / "session") + sc.shared_paths(tmp / "first")
        files = sum(1 for _ in tmp.rglob("*"))
        return {"shared": shared, "paths": files, "nova_ask_exit": first.returncode}

    results["permissions"] = _timed("perms", permissions)
    p = results["permissions"]
    report(
        "permissions",
        f"files/dirs with group or other permissions after a first session under umask 022: "
        f"{len(p['shared'])} of {p['paths']} (target 0)",
        not p["shared"] and p["nova_ask_exit"] == 0,
    )

    def faults(tmp: Path) -> dict[str, Any]:
        return asdict(run_faults(args.requests, seed=args.seed, data_dir=tmp, rate=0.2))

    results["faults"] = _timed("faults", faults)
    r = results["faults"]
    accounted = r["answered_fully"] + r["answered_with_explicit_failures"]
    report(
        "faults",
        f"requests answered or explicitly failed under 20 % injected faults: "
        f"{accounted}/{r['requests']} (target all)",
        accounted == r["requests"] and not r["exceptions"] and not r["violations"],
    )

    missed = [name for name, _, ok in lines if not ok]
    out = {
        "command": command,
        "seconds": round(time.perf_counter() - started, 1),
        "figures": {name: line for name, line, _ in lines},
        "missed": missed,
        "results": results,
    }
    Path(args.out).write_text(json.dumps(out, indent=1, default=str) + "\n")
    print(f"{len(lines) - len(missed)}/{len(lines)} targets met in {out['seconds']} s ({command})")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
