"""The Mahalanobis novelty feature (nova_graph.routing.novelty): distance in units of the
examples' spread, so a direction the examples never vary along counts for more."""

from __future__ import annotations

import numpy as np
import pytest

from nova_graph.routing.novelty import GaussianNovelty
from nova_graph.routing.scoring import FEATURES


def _two_routes(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    # examples vary a lot along axis 0 and hardly along axis 1
    noise = rng.normal(size=(200, 2)) * np.asarray([1.0, 0.05])
    labels = np.repeat([0, 1], 100)
    means = np.asarray([[0.0, 0.0], [0.0, 1.0]])
    return (means[labels] + noise).astype(np.float32), labels.astype(np.int64)


def test_distance_counts_in_units_of_the_examples_spread() -> None:
    vectors, labels = _two_routes()
    model = GaussianNovelty.fit(vectors, labels, 2)
    along, across = model.distances(np.asarray([[2.0, 0.0], [0.0, 0.5]], np.float32))
    # across is 4x nearer in plain distance (0.5 vs 2) but farther in units of the spread
    # (10 standard deviations; the shrunk covariance makes it ~4.4 against ~2.1)
    assert across.min() > 1.5 * along.min()
    assert model.distances(np.asarray([[0.0, 1.0]], np.float32))[0].argmin() == 1


def test_one_example_per_route_falls_back_to_plain_distance() -> None:
    vectors = np.asarray([[1.0, 0.0], [0.0, 1.0]], np.float32)
    model = GaussianNovelty.fit(vectors, np.asarray([0, 1]), 2)  # no spread at all
    d = model.distances(np.asarray([[1.0, 0.0]], np.float32))[0]
    assert np.isfinite(d).all() and d[0] == pytest.approx(0.0, abs=1e-3) and d[1] > d[0]


def test_a_hidden_route_is_nobodys_nearest() -> None:
    from nova_graph.routing import SemanticRouter
    from nova_graph.testing import HashingEncoder

    examples = {
        "invoices": [
            f"{verb} the {thing} invoice"
            for verb in ("send", "pay", "file", "check")
            for thing in ("March", "April")
        ],
        "music": [
            f"play {genre} {what}"
            for genre in ("jazz", "rock", "folk", "soul")
            for what in ("music", "songs")
        ],
    }
    router = SemanticRouter.from_examples(examples, encoder=HashingEncoder())
    text = ["send the March invoice"]
    vec = router.encoder.encode(text)
    col = FEATURES.index("route_distance")
    seen = router.route_model.score(vec, text).features[0, col]
    hidden = router.route_model.score(vec, text, hidden=[0]).features[0, col]
    assert seen < hidden < np.inf


def test_too_few_examples_per_route_give_no_distance() -> None:
    from nova_graph.routing import SemanticRouter
    from nova_graph.testing import HashingEncoder

    examples = {"invoices": ["send the invoice", "pay the bill"], "music": ["play jazz", "skip it"]}
    router = SemanticRouter.from_examples(examples, encoder=HashingEncoder())
    vec = router.encoder.encode(["send the invoice"])
    features = router.route_model.score(vec, ["send the invoice"]).features
    assert features[0, FEATURES.index("route_distance")] == 0.0


def test_shrunk_covariance_is_scikit_learns_ledoit_wolf() -> None:
    from sklearn.covariance import ledoit_wolf

    from nova_graph.routing.novelty import shrunk_covariance

    rng = np.random.default_rng(1)
    for n, p in ((30, 64), (500, 16)):  # fewer rows than dimensions, and plenty
        x = rng.normal(size=(n, p)) * rng.uniform(0.1, 2.0, size=p)
        expected = ledoit_wolf(x, assume_centered=True)[0]
        assert np.allclose(shrunk_covariance(x), expected, atol=1e-12)
