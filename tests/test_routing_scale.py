"""Large-roster routing: sparse lexical weights, the centroid channel, mini-batch head, and
vectorised per-route scoring give the same answers as the straightforward computations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nova_graph.routing import SemanticRouter, lexical
from nova_graph.routing.lexical import LexicalModel, SparseWeights
from nova_graph.routing.scoring import RouteModel, _mean_topk, train_softmax_head
from tests.test_routing import EXAMPLES, HELD_OUT, OFF_TOPIC
from tests.test_routing_lexical import BlindEncoder


def _data() -> tuple[list[str], np.ndarray]:
    texts = [t for ts in EXAMPLES.values() for t in ts]
    labels = np.repeat(np.arange(len(EXAMPLES)), [len(ts) for ts in EXAMPLES.values()])
    return texts, labels


def test_sparse_weights_rows_dot_equals_the_dense_product() -> None:
    rng = np.random.default_rng(0)
    dense = rng.normal(size=(50, 7)).astype(np.float32)
    dense[rng.random(dense.shape) < 0.7] = 0.0
    w = SparseWeights.from_dense(dense)
    cols = np.array([3, 0, 49, 17])
    vals = rng.normal(size=4).astype(np.float32)
    assert np.allclose(w.rows_dot(cols, vals), vals @ dense[cols], atol=1e-6)
    assert w.indices.dtype == np.uint16 and len(w.data) == np.count_nonzero(dense)


def test_centroid_channel_is_used_past_the_size_limit_and_routes_by_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts, labels = _data()
    monkeypatch.setattr(lexical, "LOGISTIC_MAX_PARAMS", 0)
    model = LexicalModel.train(texts, labels, len(EXAMPLES))
    per_class = np.diff(model.weights.to_scipy().tocsc().indptr)
    assert per_class.max() <= lexical.CENTROID_TERMS
    probs = model.probs([t for t, _ in HELD_OUT])
    gold = [list(EXAMPLES).index(a) for _, a in HELD_OUT]
    assert (probs.argmax(axis=1) == gold).mean() >= 0.8
    queries = [t for t, _ in HELD_OUT] + OFF_TOPIC
    fast = np.vstack([model.probs([q]) for q in queries])
    batched = model.probs(queries * 10)[: len(queries)]  # > 32 texts: the scipy batch path
    assert np.allclose(fast, batched, atol=1e-5)


def test_centroid_router_survives_save_and_load(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(lexical, "LOGISTIC_MAX_PARAMS", 0)
    router = SemanticRouter.from_examples(EXAMPLES, encoder=BlindEncoder())
    router.calibrate(HELD_OUT, OFF_TOPIC, min_in_scope_accuracy=0.5)
    router.save(tmp_path / "r")
    loaded = SemanticRouter.load(tmp_path / "r", encoder=BlindEncoder())
    texts = [t for t, _ in HELD_OUT] + OFF_TOPIC
    assert loaded.route_batch(texts) == router.route_batch(texts)


def test_head_batch_at_least_the_rows_is_the_full_batch_head() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 8)).astype(np.float32)
    y = rng.integers(0, 3, size=60)
    full = train_softmax_head(x, y, 3, iterations=50)
    same = train_softmax_head(x, y, 3, iterations=50, batch_size=60)
    assert all(np.array_equal(a, b) for a, b in zip(full, same, strict=True))


def test_mini_batch_head_learns_what_the_full_batch_head_learns() -> None:
    rng = np.random.default_rng(2)
    centres = rng.normal(size=(5, 16)).astype(np.float32)
    y = rng.integers(0, 5, size=2000)
    x = (centres[y] + 0.5 * rng.normal(size=(2000, 16))).astype(np.float32)
    accs = []
    for batch in (None, 256):
        w, b = train_softmax_head(x, y, 5, batch_size=batch)
        accs.append(float(((x @ w + b).argmax(axis=1) == y).mean()))
    assert accs[1] >= accs[0] - 0.02 and accs[1] > 0.9


def test_vectorised_route_topk_equals_the_per_route_loop() -> None:
    rng = np.random.default_rng(3)
    sizes = [1, 7, 3, 12]  # routes shorter than k included
    labels = np.repeat(np.arange(4), sizes)
    vectors = rng.normal(size=(len(labels), 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    model = RouteModel(
        ["a", "b", "c", "d"],
        vectors,
        labels,
        np.zeros((0, 8), np.float32),
        np.zeros((8, 4), np.float32),
        np.zeros(4, np.float32),
        np.zeros(8, np.float32),
        np.eye(8, dtype=np.float32),
    )
    sims = rng.normal(size=(5, len(labels))).astype(np.float32)
    loop = np.stack([_mean_topk(sims[:, a:b], model.k) for a, b in model._offsets], axis=1)
    for route in range(4):
        chosen = np.full(len(sims), route)
        assert np.allclose(model._route_topk(sims, chosen), loop[:, route], atol=1e-6)
    mixed = np.array([3, 0, 2, 1, 3])
    assert np.allclose(model._route_topk(sims, mixed), loop[np.arange(5), mixed], atol=1e-6)
