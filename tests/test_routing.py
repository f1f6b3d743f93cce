"""SemanticRouter: routing, out of scope, ambiguity, clause splitting, calibration, save/load."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from nova_graph.embeddings import default_encoder
from nova_graph.errors import InvalidRequestError, RoutingError
from nova_graph.routing import RouteDecision, Router, SemanticRouter
from nova_graph.routing.calibration import ambiguity_margin, in_scope_threshold
from nova_graph.routing.clauses import strong_segments, weak_splits
from nova_graph.routing.semantic import MAX_TEXT_CHARS
from tests.support.bow import bow_encode

EXAMPLES = {
    "inventory": [
        "how many brush heads do we have in stock",
        "check stock levels of the bristle kits",
        "what's our stock of side brushes",
        "are we running low on squeegee blades",
        "how many units of the main broom are in the warehouse",
        "show inventory for filter bags",
        "which parts are out of stock",
        "stock count for drive belts",
    ],
    "translator": [
        "translate this email to German",
        "how do you say thank you in French",
        "translate the invoice note into Spanish",
        "put this paragraph into Italian",
        "what is 'good morning' in Dutch",
        "translate the customer's message from Polish to English",
        "render this product description in German",
        "translate my reply into Portuguese",
    ],
    "calendar": [
        "what meetings do I have tomorrow",
        "book a call with the supplier on Friday at 10",
        "move my 3pm meeting to 4pm",
        "am I free on Thursday afternoon",
        "schedule a review with the team next week",
        "cancel tomorrow's standup",
        "show my calendar for Monday",
        "add a dentist appointment on the 12th",
    ],
}
HELD_OUT = [
    ("do we still have spare brush heads", "inventory"),
    ("how much stock of squeegee rubber is left", "inventory"),
    ("inventory level of filter bags please", "inventory"),
    ("translate 'see you soon' into German", "translator"),
    ("how would I say invoice in French", "translator"),
    ("translate this sentence to Spanish", "translator"),
    ("put a meeting with Anna in my calendar for Tuesday", "calendar"),
    ("what's on my schedule this afternoon", "calendar"),
    ("reschedule the Friday call to Monday", "calendar"),
]
OFF_TOPIC = [
    "what is the boiling point of mercury",
    "who won the football world cup in 1998",
    "recommend a good science fiction novel",
    "how tall is mount kilimanjaro",
]


class BagOfWordsEncoder:
    """Tiny deterministic encoder: hashed bag of words (tests where semantics don't matter)."""

    dimension = 512

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return bow_encode(list(texts), self.dimension)


@pytest.fixture(scope="session")
def router() -> SemanticRouter:
    """A router over EXAMPLES with the real MiniLM encoder, calibrated on HELD_OUT/OFF_TOPIC."""
    r = SemanticRouter.from_examples(EXAMPLES, encoder=default_encoder())
    r.calibrate(HELD_OUT, OFF_TOPIC, min_in_scope_accuracy=0.9)
    return r


@pytest.fixture()
def bow_router() -> SemanticRouter:
    return SemanticRouter.from_examples(EXAMPLES, encoder=BagOfWordsEncoder())


def test_router_satisfies_router_protocol(router: SemanticRouter) -> None:
    assert isinstance(router, Router)


def test_routes_clear_request_to_single_agent(router: SemanticRouter) -> None:
    d = router.route("how many side brushes are left in stock")
    assert d.agents == ["inventory"]
    assert not d.ambiguous and not d.out_of_scope
    assert d.model_calls == 0 and d.method == "embedding"


def test_out_of_scope_request_gets_no_agents(router: SemanticRouter) -> None:
    d = router.route("what is the capital city of australia")
    assert d.out_of_scope
    assert d.agents == []


def test_multi_domain_request_with_bare_and_reaches_both_agents(router: SemanticRouter) -> None:
    d = router.route("what's our stock of brush heads and translate the order email to German")
    assert set(d.agents) == {"inventory", "translator"}
    assert len(d.clauses) == 2


def test_sentence_break_then_splits_into_two_routes(router: SemanticRouter) -> None:
    d = router.route("Move my 3pm meeting to Friday. Then translate the agenda into French.")
    assert set(d.agents) == {"calendar", "translator"}


def test_single_intent_containing_and_stays_one_route(router: SemanticRouter) -> None:
    d = router.route("check stock levels of brush heads and side brushes")
    assert d.agents == ["inventory"]
    assert len(d.clauses) == 1


def test_route_batch_gives_same_decisions_as_route(router: SemanticRouter) -> None:
    texts = [t for t, _ in HELD_OUT[:4]] + ["translate hello to German and book a call Friday"]
    assert router.route_batch(texts) == [router.route(t) for t in texts]


def test_calibration_meets_requested_in_scope_accuracy(router: SemanticRouter) -> None:
    decisions = router.route_batch([t for t, _ in HELD_OUT])
    right = [
        not d.out_of_scope and d.agents[:1] == [gold]
        for d, (_, gold) in zip(decisions, HELD_OUT, strict=True)
    ]
    assert np.mean(right) >= 0.9
    assert router.calibration_report["in_scope_accuracy"] >= 0.9


def test_stricter_accuracy_target_never_raises_threshold() -> None:
    conf = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4], dtype=np.float32)
    correct = np.array([True, True, False, True, True, True])
    loose = in_scope_threshold(conf, correct, 0.5)
    strict = in_scope_threshold(conf, correct, 0.8)
    assert strict < loose
    assert ((conf >= strict) & correct).mean() >= 0.8
    assert ((conf >= loose) & correct).mean() >= 0.5


def test_ambiguity_margin_flags_only_where_errors_cluster() -> None:
    margin = np.array([0.01, 0.02, 0.03, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99], dtype=np.float32)
    correct = np.array([False, False, True] + [True] * 7)
    m = ambiguity_margin(margin, correct, max_rate=0.3)
    assert m == pytest.approx(0.025)  # flags the two wrong ones, not the right third
    assert ambiguity_margin(margin, np.ones(10, dtype=bool)) == 0.0


def test_two_equally_close_routes_make_decision_ambiguous() -> None:
    r = SemanticRouter.from_examples(
        {"billing": ["reset my account password"], "support": ["reset my account password"]},
        encoder=BagOfWordsEncoder(),
    )
    d = r.route("reset my account password")
    assert d.ambiguous
    assert set(d.agents) == {"billing", "support"}


def test_unseen_words_are_out_of_scope_before_calibration(bow_router: SemanticRouter) -> None:
    d = bow_router.route("zebra quantum marmalade")
    assert d.out_of_scope and d.agents == []


def test_save_load_round_trip_gives_identical_decisions(
    router: SemanticRouter, tmp_path: Path
) -> None:
    router.save(tmp_path / "r")
    loaded = SemanticRouter.load(tmp_path / "r", encoder=router.encoder)
    texts = [t for t, _ in HELD_OUT] + OFF_TOPIC + ["stock of belts and translate it to Dutch"]
    assert loaded.route_batch(texts) == router.route_batch(texts)
    assert loaded.thresholds == router.thresholds


def test_load_of_missing_directory_raises_routing_error(tmp_path: Path) -> None:
    with pytest.raises(RoutingError, match="not a saved router"):
        SemanticRouter.load(tmp_path / "nothing", encoder=BagOfWordsEncoder())


def test_load_of_corrupt_config_raises_routing_error(
    bow_router: SemanticRouter, tmp_path: Path
) -> None:
    bow_router.save(tmp_path)
    cfg = json.loads((tmp_path / "router.json").read_text())
    cfg["routes"] = cfg["routes"][:1]
    (tmp_path / "router.json").write_text(json.dumps(cfg))
    with pytest.raises(RoutingError, match="do not match"):
        SemanticRouter.load(tmp_path, encoder=BagOfWordsEncoder())


def test_load_of_unknown_saved_setting_raises_routing_error(
    bow_router: SemanticRouter, tmp_path: Path
) -> None:
    bow_router.save(tmp_path)
    cfg = json.loads((tmp_path / "router.json").read_text())
    cfg["thresholds"]["loudness"] = 11
    (tmp_path / "router.json").write_text(json.dumps(cfg))
    with pytest.raises(RoutingError, match="unknown setting 'loudness'"):
        SemanticRouter.load(tmp_path, encoder=BagOfWordsEncoder())


def test_load_with_encoder_of_other_dimension_raises_routing_error(
    bow_router: SemanticRouter, tmp_path: Path
) -> None:
    bow_router.save(tmp_path)

    class Other(BagOfWordsEncoder):
        dimension = 64

    with pytest.raises(RoutingError, match="dimensional"):
        SemanticRouter.load(tmp_path, encoder=Other())


@pytest.mark.parametrize("bad", ["", "   \n", 42, "x" * (MAX_TEXT_CHARS + 1)])
def test_bad_request_raises_invalid_request_error(bow_router: SemanticRouter, bad: object) -> None:
    with pytest.raises(InvalidRequestError):
        bow_router.route(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "examples", [{}, {"a": []}, {"a": ["fine", ""]}, {"": ["x"]}, {"a": "not a list"}]
)
def test_bad_examples_raise_routing_error(examples: dict) -> None:
    with pytest.raises(RoutingError):
        SemanticRouter.from_examples(examples, encoder=BagOfWordsEncoder())


def test_calibration_with_unknown_agent_raises_routing_error(bow_router: SemanticRouter) -> None:
    with pytest.raises(RoutingError, match="unknown agent"):
        bow_router.calibrate([("translate this", "nobody")], [])


def test_decision_scores_cover_every_route(bow_router: SemanticRouter) -> None:
    d: RouteDecision = bow_router.route("translate this email to German")
    assert set(d.scores) == set(EXAMPLES)
    assert max(d.scores, key=d.scores.__getitem__) == "translator"


def test_strong_boundaries_cut_sentences_lists_and_also() -> None:
    assert strong_segments("Check stock. Then email Bob") == ["Check stock", "email Bob"]
    assert strong_segments("book a room, and also order lunch") == ["book a room", "order lunch"]
    assert strong_segments("1. stock count 2. translate it") == ["stock count", "translate it"]


def test_bare_and_is_only_a_weak_split_candidate() -> None:
    assert strong_segments("brush heads and side brushes") == ["brush heads and side brushes"]
    assert weak_splits("brush heads and side brushes") == [("brush heads", "side brushes")]
