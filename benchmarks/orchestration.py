"""Orchestration overhead of the offline Nova graph, against a bare LangGraph peer in the same run.

Measures, on the packaged roster and the default SemanticRouter:
- the supervisor's decision time (``router.route``), median and p95 over the request set;
- the whole graph's per-request time (``graph.invoke``), median and p95;
- the same for a peer: a bare one-node LangGraph graph calling the same offline chat model once,
  i.e. LangGraph's own floor for "one request, one model call".

Run: ``.venv/bin/python benchmarks/orchestration.py [--rounds 5]``; JSON lands in
``benchmarks/results/orchestration.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from langgraph.graph import END, START, MessagesState, StateGraph

from nova_app import build_nova_graph, nova_roster
from nova_graph.embeddings import default_encoder
from nova_graph.models import OfflineChatModel
from nova_graph.routing.default import default_router

REQUESTS = [
    "what time is it right now",
    "how many words are in this: the quick brown fox",
    "calculate 17 * 23",
    "turn these requirements into a task list: - login page - invoice export",
    "what's our stock of brush heads",
    "did last night's pipeline succeed",
    "translate the order confirmation into Spanish",
    "help me plan my week",
]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _summary(ms: list[float]) -> dict[str, float]:
    return {"p50_ms": statistics.median(ms), "p95_ms": _pct(ms, 0.95), "n": len(ms)}


def bare_peer(model: OfflineChatModel) -> Any:
    """A one-node LangGraph graph that calls the model once per request."""

    def call(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    g = StateGraph(MessagesState)
    g.add_node("model", call)
    g.add_edge(START, "model")
    g.add_edge("model", END)
    return g.compile()


def main() -> int:
    """Run the benchmark and print/write the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default="benchmarks/results/orchestration.json")
    args = parser.parse_args()

    roster = nova_roster()
    router = default_router(roster)
    model = OfflineChatModel()
    with tempfile.TemporaryDirectory() as tmp:
        graph = build_nova_graph(
            roster=roster, router=router, model=model, data_dir=Path(tmp), checkpointer=False
        )
        peer = bare_peer(model)
        for text in REQUESTS:  # warm-up: encoder cache, demo databases, imports
            router.route(text)
            graph.invoke({"messages": [{"role": "user", "content": text}]})
        decide, nova, bare = [], [], []
        for _ in range(args.rounds):
            for text in REQUESTS:
                default_encoder().clear_cache()  # every timing encodes afresh, as a new request
                t = time.perf_counter()
                router.route(text)
                decide.append((time.perf_counter() - t) * 1000)
                default_encoder().clear_cache()
                t = time.perf_counter()
                graph.invoke({"messages": [{"role": "user", "content": text}]})
                nova.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                peer.invoke({"messages": [{"role": "user", "content": text}]})
                bare.append((time.perf_counter() - t) * 1000)
    report = {
        "supervisor_decision": _summary(decide),
        "nova_graph_invoke": _summary(nova),
        "bare_langgraph_one_model_call": _summary(bare),
        "ratio_p50_nova_over_bare": statistics.median(nova) / statistics.median(bare),
        "agents": len(roster),
        "note": "encoder cache cleared before each decision: every decision encodes afresh",
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    for k, v in report.items():
        print(f"{k:34} {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
