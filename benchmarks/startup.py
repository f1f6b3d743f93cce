"""Start-up as the user feels it: a warm ``nova ask`` against bare LangGraph, in one run.

Measures, with whole processes (wall time, medians over interleaved runs so machine load hits
both alike):
- ``nova ask "stock of brush heads?"`` on a warm cache (encoder and router already prepared),
  against the floor ``python -c "import langgraph.graph"``; target ratio <= 2.5;
- a first run on an empty cache (``--first-run``): the time until the first progress line appears
  on stderr (target <= 1 s), and the whole warm-up time.

Run: ``.venv/bin/python benchmarks/startup.py [--rounds 5] [--first-run]``; JSON lands in
``benchmarks/results/startup.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REQUEST = "stock of brush heads?"
ROOT = Path(__file__).resolve().parent.parent


def _wall(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - started


def warm_ask(rounds: int, env: dict[str, str], with_memory: dict[str, str]) -> dict[str, Any]:
    """Interleaved medians of a warm ``nova ask`` (a data dir without and with memories) and of
    ``import langgraph.graph``."""
    ask = [sys.executable, "-m", "nova_app.cli", "ask", REQUEST]
    floor = [sys.executable, "-c", "import langgraph.graph"]
    _wall(ask, env)  # make sure the caches are warm (and the data dir exists)
    remember = "from nova_graph.from_settings import memory_from_settings as m;"
    remember += " from nova_graph.settings import load_settings as s;"
    remember += " m(s()).remember('the van is blue', namespace='default')"
    subprocess.run([sys.executable, "-c", remember], env=with_memory, cwd=ROOT, check=True)
    asks, mem_asks, floors = [], [], []
    for _ in range(rounds):
        floors.append(_wall(floor, env))
        asks.append(_wall(ask, env))
        mem_asks.append(_wall(ask, with_memory))
    floor_s = statistics.median(floors)
    return {
        "import_langgraph_wall_s": round(floor_s, 3),
        "ask_wall_s": round(statistics.median(asks), 3),
        "ratio": round(statistics.median(asks) / floor_s, 2),
        "ask_with_memories_wall_s": round(statistics.median(mem_asks), 3),
        "ratio_with_memories": round(statistics.median(mem_asks) / floor_s, 2),
        "target_ratio": 2.5,
        "floors_s": [round(x, 3) for x in floors],
        "asks_s": [round(x, 3) for x in asks],
        "asks_with_memories_s": [round(x, 3) for x in mem_asks],
    }


def first_run(env: dict[str, str]) -> dict[str, Any]:
    """Time to the first progress output, and to the end, of ``nova warmup`` on an empty cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**env, "NOVA_CACHE_DIR": cache}
        # stderr is a pseudo-terminal, as for a person: the rich progress bar draws live.
        master, slave = pty.openpty()
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "nova_app.cli", "warmup"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=slave,
        )
        os.close(slave)
        first: float | None = None
        while proc.poll() is None:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    data = os.read(master, 4096)
                except OSError:  # the child closed the terminal
                    break
                if data and first is None:
                    first = time.perf_counter() - started
        proc.wait()
        os.close(master)
        return {
            "first_progress_s": None if first is None else round(first, 3),
            "target_first_progress_s": 1.0,
            "warmup_total_s": round(time.perf_counter() - started, 1),
        }


def main() -> None:
    """Run the measurements and write ``benchmarks/results/startup.json``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--first-run", action="store_true", help="also time an empty cache")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data, tempfile.TemporaryDirectory() as data2:
        env = {**os.environ, "NOVA_DATA_DIR": data}
        env.pop("OPENAI_API_KEY", None)
        with_memory = {**env, "NOVA_DATA_DIR": data2}
        out = ROOT / "benchmarks" / "results" / "startup.json"
        result: dict[str, Any] = json.loads(out.read_text()) if out.is_file() else {}
        if args.rounds > 0:  # --rounds 0 --first-run: only the first run (keeps the rest)
            result["warm_ask"] = warm_ask(args.rounds, env, with_memory)
        if args.first_run:
            result["first_run"] = first_run(env)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
