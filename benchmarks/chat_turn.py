"""A ``nova chat`` turn against the graph's own invoke time for the same request, in one run.

A turn (:meth:`ChatSession.turn`: streaming, the route, rendering each agent's part with rich,
the run log) is timed against ``graph.invoke`` of the same request on a fresh thread of the same
loaded graph, interleaved, medians per request; target ratio <= 1.2. Output goes to an in-memory
console with a terminal's width and colours, so the rendering work is all there.

Run: ``.venv/bin/python benchmarks/chat_turn.py [--rounds 5]``; JSON lands in
``benchmarks/results/chat_turn.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from rich.console import Console

from nova_app import nova_graph_from_settings
from nova_app.cli.chat import ChatSession
from nova_app.cli.display import TerminalView
from nova_graph.runlog import RUNLOG_FILE, RunLog
from nova_graph.settings import load_settings

REQUESTS = [
    "stock of brush heads?",
    "what time is it right now?",
    "list the declared pipelines",
    "how many words are in this: the quick brown fox jumps over the lazy dog",
    "hey nova, how's it going?",
    "how many vacuum motors are on hand, and also detect which language this is in: danke",
]


def main() -> None:
    """Time turns and invokes, interleaved, and write ``benchmarks/results/chat_turn.json``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        settings = load_settings(data_dir=data)
        graph = nova_graph_from_settings(settings)
        console = Console(
            file=io.StringIO(), width=100, force_terminal=True, color_system="truecolor"
        )
        session = ChatSession(
            graph,
            TerminalView(console),
            RunLog(Path(data) / RUNLOG_FILE),
            settings.max_request_bytes,
        )
        session.tokens = False  # as `nova chat` runs with the offline model (it has no tokens)
        for text in REQUESTS:  # warm every agent and tool once
            session.turn(text)
        per_request: dict[str, Any] = {}
        turn_all, invoke_all = [], []
        for text in REQUESTS:
            turns, invokes = [], []
            for _ in range(args.rounds):
                started = time.perf_counter()
                graph.invoke(
                    {"messages": [{"role": "user", "content": text}]},
                    {"configurable": {"thread_id": uuid.uuid4().hex}},
                )
                invokes.append(time.perf_counter() - started)
                session.thread = uuid.uuid4().hex[:12]
                started = time.perf_counter()
                session.turn(text)
                turns.append(time.perf_counter() - started)
            session.flush()
            t, i = statistics.median(turns), statistics.median(invokes)
            turn_all += turns
            invoke_all += invokes
            per_request[text] = {"turn_ms": round(t * 1000, 1), "invoke_ms": round(i * 1000, 1)}
            per_request[text]["ratio"] = round(t / i, 2)
    result = {
        "turn_median_ms": round(statistics.median(turn_all) * 1000, 1),
        "invoke_median_ms": round(statistics.median(invoke_all) * 1000, 1),
        "ratio": round(statistics.median(turn_all) / statistics.median(invoke_all), 2),
        "target_ratio": 1.2,
        "rounds": args.rounds,
        "per_request": per_request,
    }
    out = Path(__file__).resolve().parent / "results" / "chat_turn.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
