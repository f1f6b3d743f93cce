"""Peers for the routing benchmark: semantic-router with our encoder, and an LLM supervisor."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from nova_graph.embeddings import Encoder
from nova_graph.routing import ModelRouteArbiter
from nova_graph.routing.calibration import in_scope_threshold


def _percentiles(times: list[float]) -> dict[str, float]:
    if not times:
        return {"p50_ms": float("nan"), "p95_ms": float("nan")}
    ms = np.asarray(times) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95))}


def dense_encoder(encoder: Encoder) -> Any:
    """A semantic-router ``DenseEncoder`` handing it our loaded MiniLM (nothing is fetched)."""
    from semantic_router.encoders import DenseEncoder

    class SharedMiniLM(DenseEncoder):  # type: ignore[misc]
        def __call__(self, docs: list[Any]) -> list[list[float]]:
            return encoder.encode([str(d) for d in docs]).tolist()  # type: ignore[no-any-return]

    return SharedMiniLM(name="all-MiniLM-L6-v2")


class SemanticRouterPeer:
    """``semantic_router.IndexedRouter`` over the same examples and the same MiniLM encoder.

    Its Platt calibrator is fitted on the calibration split, and its confidence threshold is
    chosen there with the same rule as ours (strictest keeping in-scope accuracy at target).
    """

    name = "semantic-router"

    def __init__(self, examples: dict[str, list[str]], encoder: Encoder) -> None:
        from semantic_router import IndexedRouter, Route

        routes = [Route(name=name, utterances=list(texts)) for name, texts in examples.items()]
        self.router = IndexedRouter(encoder=dense_encoder(encoder), routes=routes)

    def _scores(self, texts: Sequence[str]) -> list[dict[str, float]]:
        from semantic_router.routers.base import run

        return list(run(self.router._scores_many(list(texts))))

    def calibrate(
        self, items: Sequence[tuple[str, str]], oos: Sequence[str], target: float
    ) -> None:
        """Fit the calibrator on held-out requests and pick the confidence threshold."""
        texts = [t for t, _ in items] + list(oos)
        labels: list[str | None] = [a for _, a in items] + [None] * len(oos)
        self.router.fit(texts, labels)
        scored = self._scores([t for t, _ in items])
        conf, correct = [], []
        for s, (_, gold) in zip(scored, items, strict=True):
            top = max(s, key=s.__getitem__)
            conf.append(self.router._probs(s)[top])
            correct.append(top == gold)
        self.router.confidence_threshold = in_scope_threshold(
            np.asarray(conf, dtype=np.float32), np.asarray(correct), target
        )

    def predict(self, texts: Sequence[str]) -> list[tuple[str, str | None]]:
        """(best route ignoring the threshold, route after the threshold or None) per text."""
        out = []
        for s in self._scores(texts):
            top = max(s, key=s.__getitem__)
            choice = self.router._choose(s, 1, None)
            out.append((top, getattr(choice, "name", None)))
        return out

    def latency(self, texts: Sequence[str]) -> dict[str, float]:
        """Single-request decision times through the public ``router(text)`` call."""
        times = []
        for text in texts:
            start = time.perf_counter()
            self.router(text)
            times.append(time.perf_counter() - start)
        return _percentiles(times)


class ModelSupervisorPeer:
    """The LLM-supervisor pattern: every routing decision is one structured model call."""

    name = "llm-supervisor"

    def __init__(self, model: Any, examples: dict[str, list[str]]) -> None:
        self.arbiter = ModelRouteArbiter(model, examples=examples)
        self.routes = list(examples)
        self.calls = 0
        self.model_name = type(model).__name__

    def run(self, items: Sequence[tuple[str, str | None]]) -> dict[str, float]:
        """Route every item with one model call each; accuracy, OOS recall, calls and times."""
        times, right, oos_right, n_in, n_oos = [], 0, 0, 0, 0
        for text, gold in items:
            start = time.perf_counter()
            choice = self.arbiter.choose(text, self.routes)
            times.append(time.perf_counter() - start)
            self.calls += 1
            if gold is None:
                n_oos += 1
                oos_right += choice is None
            else:
                n_in += 1
                right += choice == gold
        return {
            "requests": len(items),
            "in_scope_accuracy": right / max(n_in, 1),
            "out_of_scope_recall": oos_right / max(n_oos, 1),
            "model_calls": self.calls,
            "model_calls_per_decision": self.calls / max(len(items), 1),
            **_percentiles(times),
        }
