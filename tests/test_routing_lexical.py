"""The router's lexical channel: TF-IDF n-grams mixed with the embedding scores."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from nova_graph.errors import RoutingError
from nova_graph.routing import SemanticRouter
from nova_graph.routing.lexical import LexicalModel
from nova_graph.routing.scoring import DEFAULT_LEXICAL_WEIGHT
from tests.test_routing import EXAMPLES, HELD_OUT, OFF_TOPIC


class BlindEncoder:
    """Gives every text the same vector: the embedding channel cannot tell routes apart."""

    dimension = 16

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        row = np.zeros(self.dimension, dtype=np.float32)
        row[0] = 1.0
        return np.tile(row, (len(texts), 1))


def _accuracy(router: SemanticRouter) -> float:
    decisions = router.route_batch([t for t, _ in HELD_OUT])
    return float(
        np.mean([d.agents[:1] == [a] for d, (_, a) in zip(decisions, HELD_OUT, strict=True)])
    )


def test_lexical_channel_routes_by_words_when_embeddings_are_blind() -> None:
    router = SemanticRouter.from_examples(EXAMPLES, encoder=BlindEncoder())
    router.threshold = 0.0
    router.lexical_weight = 1.0
    assert _accuracy(router) == 1.0


def test_calibration_weights_the_lexical_channel_when_it_is_the_one_that_works() -> None:
    router = SemanticRouter.from_examples(EXAMPLES, encoder=BlindEncoder())
    router.lexical_weight = 0.0
    report = router.calibrate(HELD_OUT, OFF_TOPIC, min_in_scope_accuracy=0.5)
    assert router.lexical_weight > 0.0 and report["lexical_weight"] == router.lexical_weight
    assert report["domain_accuracy"] == 1.0


def test_uncalibrated_router_uses_the_default_lexical_weight() -> None:
    router = SemanticRouter.from_examples(EXAMPLES, encoder=BlindEncoder())
    assert router.lexical_weight == DEFAULT_LEXICAL_WEIGHT > 0
    assert SemanticRouter.from_examples(EXAMPLES, lexical=False).lexical_weight == 0.0


def test_save_load_keeps_the_lexical_channel_and_its_weight(tmp_path: Path) -> None:
    router = SemanticRouter.from_examples(EXAMPLES, encoder=BlindEncoder())
    router.calibrate(HELD_OUT, OFF_TOPIC, min_in_scope_accuracy=0.5)
    router.save(tmp_path / "r")
    loaded = SemanticRouter.load(tmp_path / "r", encoder=BlindEncoder())
    texts = [t for t, _ in HELD_OUT] + OFF_TOPIC
    assert loaded.lexical_weight == router.lexical_weight > 0
    assert loaded.route_batch(texts) == router.route_batch(texts)


def test_router_built_without_lexical_channel_refuses_a_lexical_weight() -> None:
    router = SemanticRouter.from_examples(EXAMPLES, encoder=BlindEncoder(), lexical=False)
    with pytest.raises(RoutingError, match="no lexical channel"):
        router.lexical_weight = 0.5
    assert router.calibrate(HELD_OUT, OFF_TOPIC, min_in_scope_accuracy=0.3)["lexical_weight"] == 0


def test_lexical_weight_outside_zero_one_is_rejected() -> None:
    router = SemanticRouter.from_examples(EXAMPLES, encoder=BlindEncoder())
    with pytest.raises(RoutingError, match=r"\[0, 1\]"):
        router.lexical_weight = 1.5


def test_two_class_lexical_model_gives_each_text_its_own_class() -> None:
    texts = ["stock of brush heads", "stock of belts", "translate to German", "say it in French"]
    model = LexicalModel.train(texts, np.array([0, 0, 1, 1]), 2)
    probs = model.probs(["how much stock of filters", "translate this to Dutch"])
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert probs.argmax(axis=1).tolist() == [0, 1]


def test_lexical_model_never_picks_a_class_it_saw_no_text_for() -> None:
    texts = ["stock of brush heads", "stock of belts", "translate to German"]
    model = LexicalModel.train(texts, np.array([0, 0, 2]), 3)
    assert model.probs(["anything at all"])[0, 1] < 1e-6


def test_fast_single_text_path_matches_scikit_learn_transform() -> None:
    texts = [t for ts in EXAMPLES.values() for t in ts]
    labels = np.repeat(np.arange(len(EXAMPLES)), [len(ts) for ts in EXAMPLES.values()])
    model = LexicalModel.train(texts, labels, len(EXAMPLES))
    queries = [t for t, _ in HELD_OUT] + OFF_TOPIC + ["", "stock stock STOCK of belts!!"]
    fast = np.vstack([model.probs([q]) for q in queries])
    batched = model.probs(queries * 10)[: len(queries)]  # > 32 texts: scikit-learn's transform
    assert np.allclose(fast, batched, atol=1e-5)
    # second pass: every word's character n-gram columns now come from the model's memory
    assert model._word_columns
    assert np.array_equal(np.vstack([model.probs([q]) for q in queries]), fast)


@pytest.mark.parametrize("kind", ["word", "char"])
def test_start_up_analyzers_split_text_exactly_like_scikit_learn(kind: str) -> None:
    from nova_graph.routing.lexical import _ANALYZERS, _vectorizer

    texts = [
        "Stock of brush heads?",
        "  I'm   fine\tthanks\n ab  ",
        "a b c",
        "tést ünïcode wörds and a_b_c 12 3",
        "x",
        "",
        *(text for text, _ in HELD_OUT[:3]),
    ]
    reference = _vectorizer(kind).build_analyzer()
    for text in texts:
        assert _ANALYZERS[kind](text) == reference(text)


def test_loading_a_saved_router_imports_neither_scikit_learn_nor_scipy(tmp_path: Path) -> None:
    import subprocess
    import sys

    router = SemanticRouter.from_examples(EXAMPLES)
    router.save(tmp_path / "r")
    code = (
        "import sys; from nova_graph.routing import SemanticRouter;"
        f"r = SemanticRouter.load({str(tmp_path / 'r')!r}); r.route('stock of brush heads');"
        "print(sorted(m for m in ('sklearn', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
