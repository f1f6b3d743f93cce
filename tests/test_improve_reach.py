"""A kept change cannot take requests from the agents it is not for: flips, margins that fall
below the calibrated margin, and margins over the change's agents that shrink too much are
found on the held-out split, the replayed history and the roster examples nearest the change."""

from __future__ import annotations

from collections.abc import Sequence

from nova_graph.improve import AcceptancePolicy, LabelledRequest, RoutingSetup, judge
from nova_graph.improve.metrics import RoutingScore, score_decisions
from nova_graph.improve.proposals import Proposal, one_per_example
from nova_graph.improve.reach import neighbourhood, taken_requests
from nova_graph.roster import Roster
from nova_graph.routing.decision import RouteDecision

ITEMS = [
    LabelledRequest(text="c1", agents=["c"]),
    LabelledRequest(text="c2", agents=["c"]),
    LabelledRequest(text="d1", agents=["d"]),
    LabelledRequest(text="b1", agents=["b"]),
    LabelledRequest(text="none", agents=[]),
]


def _score(rows: Sequence[dict[str, float] | None]) -> RoutingScore:
    decisions = [
        RouteDecision(out_of_scope=True)
        if row is None
        else RouteDecision(agents=[max(row, key=row.__getitem__)], scores=row)
        for row in rows
    ]
    return score_decisions(ITEMS, decisions)


BEFORE: list[dict[str, float] | None] = [
    {"b": 0.1, "c": 0.8, "d": 0.1},  # c1: margin 0.7
    {"b": 0.2, "c": 0.5, "d": 0.3},  # c2: margin 0.2
    {"b": 0.1, "c": 0.1, "d": 0.8},  # d1
    {"b": 0.4, "c": 0.5, "d": 0.1},  # b1: wrong before (c)
    None,  # refused
]


def test_a_change_that_moves_nothing_of_other_agents_takes_nothing() -> None:
    after = [*BEFORE[:3], {"b": 0.6, "c": 0.3, "d": 0.1}, None]
    assert taken_requests(ITEMS, _score(BEFORE), _score(after), {"b"}, 0.05) == []


def test_flips_lost_margins_and_long_moves_towards_the_changes_agent_are_taken() -> None:
    after = [
        {"b": 0.3, "c": 0.6, "d": 0.1},  # c1 still right, but 0.7 -> 0.3 over b: moved too far
        {"b": 0.2, "c": 0.42, "d": 0.38},  # c2: margin 0.2 -> 0.04, below 0.05
        {"b": 0.5, "c": 0.1, "d": 0.4},  # d1 flipped to b
        {"b": 0.6, "c": 0.3, "d": 0.1},  # b1: the change's own agent, fixed
        {"b": 1.0},  # the refusal is lost
    ]
    taken = taken_requests(ITEMS, _score(BEFORE), _score(after), {"b"}, 0.05)
    assert [(t.text, t.how) for t in taken] == [
        ("c1", "moved too far"),
        ("c2", "below the margin"),
        ("d1", "flipped"),
        ("none", "flipped"),
    ]
    assert taken[0].before is not None and round(taken[0].before, 3) == 0.7
    # c2 lost its margin to d, not b: still taken (it fell below the calibrated margin)


def test_a_change_that_takes_requests_is_rejected_though_nothing_flipped() -> None:
    after = [
        {"b": 0.3, "c": 0.6, "d": 0.1},  # moved too far towards b
        {"b": 0.2, "c": 0.5, "d": 0.3},
        {"b": 0.1, "c": 0.1, "d": 0.8},
        {"b": 0.6, "c": 0.3, "d": 0.1},  # b1 fixed: accuracy rises
        None,
    ]
    before, now = _score(BEFORE), _score(after)
    policy = AcceptancePolicy(max_agent_drop=1.0, max_regressions=0)
    assert judge(before, now, policy).accepted
    taken = taken_requests(ITEMS, before, now, {"b"}, 0.05)
    verdict = judge(before, now, policy, taken=taken)
    assert not verdict.accepted and verdict.taken == 1
    assert verdict.reason.startswith(
        "takes 1 request(s) from agents it is not for: c 'c1' moved too far (margin 0.700 -> 0.300)"
    )


def test_a_removed_example_stays_a_request_of_its_agent_and_its_neighbours_are_checked(
    small_roster: Roster,
) -> None:
    from nova_graph.embeddings import default_encoder

    setup = RoutingSetup(small_roster)
    split = Proposal(
        id="split_scope:clock/math",
        kind="split_scope",
        agents=["clock", "math"],
        rationale="requests for math went to clock",
        remove_examples={"clock": ["what's the date today", "tell me the current time"]},
    )
    first = one_per_example(split)[0]
    assert first.beneficiaries == {"math"}  # the removal keeps the agent it makes room for
    near = neighbourhood(
        setup,
        [],
        [("clock", "what's the date today")],
        first.beneficiaries,
        default_encoder().encode,
        k=2,
    )
    by_text = {r.text: r.agents for r in near}
    assert by_text["what's the date today"] == ["clock"]  # still clock's request
    assert not any(agents == ["math"] for agents in by_text.values())  # beneficiary left out
    assert sum(1 for agents in by_text.values() if agents) == 3  # 2 nearest + the removed one
    assert len(near) == 3 + min(2, len(small_roster.out_of_scope))


def test_an_added_example_is_checked_against_other_agents_nearest_examples(
    small_roster: Roster,
) -> None:
    from nova_graph.embeddings import default_encoder

    setup = RoutingSetup(small_roster)
    near = neighbourhood(
        setup, [("math", "what time is it in Tokyo")], [], {"math"}, default_encoder().encode, k=1
    )
    inside = [r for r in near if r.agents]
    assert inside == [LabelledRequest(text="what time is it", agents=["clock"])]
