"""Open-set routing: requests of a kind no agent was built for are refused (issue 15).

Real MiniLM encoder, real lexical channel; the small roster has no out-of-scope examples at all,
so novelty (held-out-agent calibration) is the only out-of-scope signal it gets.
"""

from __future__ import annotations

import numpy as np
import pytest

from nova_app import nova_roster
from nova_graph.errors import InvalidRequestError, RoutingError
from nova_graph.routing import SemanticRouter
from nova_graph.routing.calibration import balanced_negatives, in_scope_threshold, refusal_floor
from nova_graph.routing.default import default_router
from nova_graph.routing.scoring import FEATURES

NEW_KINDS = ["book me a flight to Lisbon", "what's my heart rate trend"]

# four agents, five examples each, the first four train the router and the fifth calibrates it
SMALL_ROSTER = {
    "recipes": [
        "what can I cook with chicken and rice",
        "give me a vegetarian lasagna recipe",
        "how long do I bake banana bread",
        "suggest a quick pasta dinner",
        "how do I make pancakes from scratch",
    ],
    "invoices": [
        "send the invoice to the Acme client",
        "which invoices are still unpaid",
        "create an invoice for 12 hours of consulting",
        "remind the customer that payment is overdue",
        "how much did we bill last month",
    ],
    "garden": [
        "when should I water the tomatoes",
        "why are my basil leaves turning yellow",
        "what flowers grow well in shade",
        "how do I prune the rose bushes",
        "when is the right time to plant tulip bulbs",
    ],
    "music": [
        "play some relaxing jazz",
        "make a workout playlist",
        "skip this song",
        "turn the volume up",
        "put on the latest album by Adele",
    ],
}
SMALL_IN_SCOPE = [
    ("I want a recipe for lentil soup", "recipes"),
    ("mark the invoice from March as paid", "invoices"),
    ("my cucumber plants have white spots on the leaves", "garden"),
    ("play something by the Beatles", "music"),
]


@pytest.fixture(scope="module")
def small_router() -> SemanticRouter:
    """The small roster, no out-of-scope examples, calibrated with agents held out in turn."""
    train = {a: ts[:4] for a, ts in SMALL_ROSTER.items()}
    router = SemanticRouter.from_examples(train)
    router.calibrate([(ts[4], a) for a, ts in SMALL_ROSTER.items()], [])
    return router


def test_small_roster_refuses_never_seen_kinds(small_router: SemanticRouter) -> None:
    for decision in small_router.route_batch(NEW_KINDS):
        assert decision.out_of_scope, decision
        assert decision.agents == []


def test_small_roster_still_routes_its_own_requests(small_router: SemanticRouter) -> None:
    decisions = small_router.route_batch([t for t, _ in SMALL_IN_SCOPE])
    for decision, (text, agent) in zip(decisions, SMALL_IN_SCOPE, strict=True):
        assert not decision.out_of_scope, text
        assert decision.agents == [agent], text


def test_new_kinds_joined_are_not_split_into_agents(small_router: SemanticRouter) -> None:
    # each clause is a new kind: splitting must not make the request in scope for two agents,
    # even with the near-zero split threshold that large rosters calibrate (CLINC150: 0.001)
    saved = small_router.split_threshold
    small_router.split_threshold = 0.0
    try:
        for template in ("{a}. Then {b}", "{a}, and also {b}", "{a} and {b}"):
            joined = template.format(a=NEW_KINDS[0], b=NEW_KINDS[1])
            decision = small_router.route(joined)
            assert decision.out_of_scope, decision
            assert decision.agents == []
        # a request of two in-scope clauses is still split between their agents
        pair = small_router.route(f"{SMALL_IN_SCOPE[0][0]}. Then {SMALL_IN_SCOPE[3][0]}")
        assert set(pair.agents) == {"recipes", "music"}, pair
    finally:
        small_router.split_threshold = saved


def test_refused_share_is_the_share_route_batch_refuses(small_router: SemanticRouter) -> None:
    # the builder's self-refusal check: same decision as route_batch (a split request is routed)
    texts = [*NEW_KINDS, *(t for t, _ in SMALL_IN_SCOPE)]
    texts.append("play some relaxing jazz and send the invoice to the Acme client")
    refused = [d.out_of_scope for d in small_router.route_batch(texts)]
    assert 0 < sum(refused) < len(texts)
    assert small_router.refused_share(texts) == pytest.approx(sum(refused) / len(texts))
    with pytest.raises(InvalidRequestError, match="non-empty list"):
        small_router.refused_share([])


def test_held_out_agent_calibration_is_what_refuses_new_kinds() -> None:
    train = {a: ts[:4] for a, ts in SMALL_ROSTER.items()}
    held = [(ts[4], a) for a, ts in SMALL_ROSTER.items()]
    router = SemanticRouter.from_examples(train)
    report = router.calibrate(held, [], hold_out_groups=False)
    assert router.confidence_weights is None  # nothing to learn out of scope from
    assert report["held_out_group_recall"] == 0.0
    report = router.calibrate(held, [])
    assert router.confidence_weights is not None
    assert len(router.confidence_weights) == len(FEATURES)
    assert report["held_out_group_recall"] > 0.5


def test_novelty_budget_spends_calibration_accuracy_on_new_kinds() -> None:
    # 3 calibration requests per agent (12): a budget of a quarter may refuse three of them
    train = {a: ts[:2] for a, ts in SMALL_ROSTER.items()}
    held = [(t, a) for a, ts in SMALL_ROSTER.items() for t in ts[2:]]
    router = SemanticRouter.from_examples(train)
    plain = router.calibrate(held, [], novelty_budget=0.0)
    # a budget below one calibration request (1/12) changes nothing: small rosters keep their
    # accuracy-first operating point
    assert router.calibrate(held, [], novelty_budget=0.05) == plain
    spent = router.calibrate(held, [], novelty_budget=0.25)
    assert spent["threshold"] > plain["threshold"]  # stricter: refuses more of what is new
    assert spent["in_scope_accuracy"] >= plain["in_scope_accuracy"] - 0.25 - 1e-9
    assert spent["held_out_group_recall"] >= plain["held_out_group_recall"]


def test_novelty_refusal_refuses_a_share_of_what_the_router_gets_right() -> None:
    # 12 calibration requests: a 4 % share is under one request and changes nothing
    train = {a: ts[:2] for a, ts in SMALL_ROSTER.items()}
    held = [(t, a) for a, ts in SMALL_ROSTER.items() for t in ts[2:]]
    router = SemanticRouter.from_examples(train)
    plain = router.calibrate(held, [], novelty_budget=0.0, novelty_refusal=0.0)
    assert router.calibrate(held, [], novelty_budget=0.0, novelty_refusal=0.04) == plain
    floor = router.calibrate(held, [], novelty_budget=0.0, novelty_refusal=0.25)
    right = round(floor["domain_accuracy"] * len(held))
    refused_right = right - round(floor["in_scope_accuracy"] * len(held))
    assert refused_right >= right // 4  # whatever the in-scope accuracy rule would have kept
    assert floor["threshold"] > plain["threshold"]
    assert floor["held_out_group_recall"] >= plain["held_out_group_recall"]
    with pytest.raises(RoutingError, match="novelty_refusal"):
        router.calibrate(held, [], novelty_refusal=1.0)


def test_refusal_floor_counts_whole_requests() -> None:
    conf = np.asarray([0.9, 0.8, 0.7, 0.6, 0.5, 0.1], dtype=np.float32)
    correct = np.asarray([True, True, True, True, True, False])
    # 5 right: a fifth of them is one request, the least confident right one (0.5)
    assert refusal_floor(conf, correct, 0.2) == pytest.approx(0.6 - 1e-6)
    assert refusal_floor(conf, correct, 0.4) == pytest.approx(0.7 - 1e-6)
    assert refusal_floor(conf, correct, 0.19) == float("-inf")  # under one request: no floor


def test_hidden_route_is_scored_as_if_never_trained(small_router: SemanticRouter) -> None:
    model = small_router.route_model
    text = ["how do I prune the apple tree"]
    vec = small_router.encoder.encode(text)
    garden = model.routes.index("garden")
    seen, hidden = model.score(vec, text), model.score(vec, text, hidden=[garden])
    assert seen.best[0] == garden
    assert hidden.probs[0, garden] == 0.0
    assert hidden.best[0] != garden
    energy = FEATURES.index("head_energy")
    assert hidden.features[0, energy] < seen.features[0, energy]
    assert hidden.features[0, FEATURES.index("top1")] < seen.features[0, FEATURES.index("top1")]


def test_unreachable_target_still_refuses_the_least_confident() -> None:
    conf = np.asarray([0.9, 0.8, 0.7, 0.6, 0.2, 0.1], dtype=np.float32)
    correct = np.asarray([True, True, True, False, True, False])
    # 4/6 right: a 0.95 target is out of reach; old rule accepts everything
    assert in_scope_threshold(conf, correct, 0.95) < 0.1
    # new rule: at most 0.1 below accepting everything -> refuse the last (wrong) one only
    assert in_scope_threshold(conf, correct, 0.95, max_drop=0.1) == pytest.approx(0.2 - 1e-6)


def test_known_negatives_weigh_as_much_as_held_out_groups() -> None:
    known, novel = np.ones((2, 3), np.float32), np.zeros((10, 3), np.float32)
    rows = balanced_negatives(known, novel)
    assert len(rows) == 20 and rows.sum() == 30
    assert len(balanced_negatives(known, novel[:0])) == 2


def test_nova_roster_refuses_never_seen_kinds() -> None:
    router = default_router(nova_roster())  # the tests' router cache (conftest)
    for text in NEW_KINDS:
        decision = router.route(text)
        assert decision.out_of_scope, decision
