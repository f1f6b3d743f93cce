"""Changes that cannot make things worse: the zero-regression gate (held-out split and replayed
signals), evidence aggregated per request, and one candidate change per example."""

from __future__ import annotations

from nova_graph.improve import AcceptancePolicy, Evidence, LabelledRequest, RoutingSetup, judge
from nova_graph.improve.metrics import RoutingScore, score_decisions
from nova_graph.improve.proposals import (
    Proposal,
    captured_requests,
    consensus,
    one_per_example,
    propose_examples,
    replay_set,
)
from nova_graph.roster import Roster
from nova_graph.routing.decision import RouteDecision

ITEMS = [LabelledRequest(text=f"r{i}", agents=["a" if i < 5 else "b"]) for i in range(10)]


def _scores(preds: list[str | None], items: list[LabelledRequest] = ITEMS) -> RoutingScore:
    return score_decisions(
        items, [RouteDecision(agents=[p] if p else [], out_of_scope=p is None) for p in preds]
    )


def test_a_change_that_fixes_two_and_breaks_one_is_rejected_with_zero_regressions() -> None:
    before = _scores(["a", "a", "a", "b", "b", "b", "b", "b", "b", "b"])  # r3, r4 wrong
    after = _scores(["b", "a", "a", "a", "a", "b", "b", "b", "b", "b"])  # r0 broken
    assert before.regressions(after) == [0]
    loose = judge(before, after, AcceptancePolicy(max_agent_drop=1.0))
    assert loose.accepted and loose.regressions == 1
    strict = judge(before, after, AcceptancePolicy(max_agent_drop=1.0, max_regressions=0))
    assert not strict.accepted
    assert strict.reason.startswith("1 request(s) routed right before are routed wrong after")


def test_a_regression_on_the_replayed_history_counts_too() -> None:
    before = _scores(["a", "a", "a", "b", "b", "b", "b", "b", "b", "b"])
    after = _scores(["a", "a", "a", "a", "b", "b", "b", "b", "b", "b"])  # +1, nothing broken
    history = [LabelledRequest(text="h", agents=["b"])]
    kept = judge(before, after, AcceptancePolicy(max_regressions=0))
    assert kept.accepted and kept.regressions == 0
    h_before, h_after = _scores(["b"], history), _scores(["a"], history)
    verdict = judge(before, after, AcceptancePolicy(max_regressions=0), history=(h_before, h_after))
    assert not verdict.accepted and verdict.regressions == 1


def test_clarifying_questions_count_as_hits_per_request() -> None:
    items = [LabelledRequest(text="x", agents=["a", "b"], ambiguous=True)]
    asked = score_decisions(items, [RouteDecision(agents=["a", "b"], ambiguous=True)])
    told = score_decisions(items, [RouteDecision(agents=["a"])])
    assert asked.hits == [True] and told.hits == [False]
    assert asked.regressions(told) == [0]


def test_evidence_about_one_request_adds_up_and_disagreement_drops_it() -> None:
    ev = [
        Evidence(text="Pay the bill", predicted="b", expected="a", source="correction"),
        Evidence(text="pay the  bill", predicted="b", expected="a", source="correction"),
        Evidence(text="pay the bill", predicted="b", expected="c", source="correction"),
        Evidence(text="split", predicted="b", expected="a", source="correction"),
        Evidence(text="split", predicted="b", expected="c", source="correction"),
        Evidence(text="vague", predicted="b", expected=None, known=False),
    ]
    agreed = consensus(ev)
    assert set(agreed) == {"pay the bill"}
    c = agreed["pay the bill"]
    assert (c.expected, c.support, c.weight, c.against) == ("a", 2, 2.0, 1.0)
    assert replay_set(ev, ["a", "b"]) == [LabelledRequest(text="Pay the bill", agents=["a"])]
    assert replay_set(ev, ["b"]) == []


def test_examples_come_from_agreed_evidence_strongest_first(small_roster: Roster) -> None:
    setup = RoutingSetup(small_roster)
    ev = [
        Evidence(text="what is 2 plus 2", predicted="clock", expected="math", source="rephrase"),
        Evidence(text="what is 9 minus 4", predicted="clock", expected="math"),
        Evidence(text="what is 9 minus 4", predicted="clock", expected="math"),
        Evidence(text="add 3 and 5", predicted="clock", expected="math"),
        Evidence(text="add 3 and 5", predicted="clock", expected="clock"),
    ]
    for e in ev:
        e.weight = 0.5 if e.source == "rephrase" else 1.0
    (proposal,) = propose_examples(setup, ev)
    assert proposal.add_examples == {"math": ["what is 9 minus 4", "what is 2 plus 2"]}
    singles = one_per_example(proposal)
    assert [p.add_examples for p in singles] == [
        {"math": ["what is 9 minus 4"]},
        {"math": ["what is 2 plus 2"]},
    ]
    assert len({p.id for p in singles}) == 2
    assert one_per_example(singles[0]) == [singles[0]]


def test_a_scope_split_becomes_one_removal_per_example() -> None:
    split = Proposal(
        id="split_scope:b/a",
        kind="split_scope",
        agents=["b", "a"],
        rationale="requests for a went to b",
        remove_examples={"b": ["x", "y"]},
    )
    singles = one_per_example(split)
    assert [(p.remove_examples, p.add_examples) for p in singles] == [
        ({"b": ["x"]}, {}),
        ({"b": ["y"]}, {}),
    ]
    assert all(p.kind == "split_scope" for p in singles)


def test_a_change_that_breaks_nothing_and_fixes_a_signalled_request_is_kept() -> None:
    same = ["a", "a", "a", "b", "b", "b", "b", "b", "b", "b"]
    before, after = _scores(same), _scores(same)  # held-out accuracy does not move
    history = [LabelledRequest(text="h", agents=["a"])]
    fixed = (_scores(["b"], history), _scores(["a"], history))
    neutral = AcceptancePolicy(max_regressions=0, keep_neutral=True)
    kept = judge(before, after, neutral, history=fixed)
    assert kept.accepted and "fixes 1 request(s)" in kept.reason
    assert not judge(before, after, AcceptancePolicy(max_regressions=0), history=fixed).accepted
    unchanged = (_scores(["a"], history), _scores(["a"], history))
    assert not judge(before, after, neutral, history=unchanged).accepted


def test_an_example_is_local_unless_it_is_nearest_to_another_agents_request(
    small_roster: Roster,
) -> None:
    from nova_graph.embeddings import default_encoder

    setup = RoutingSetup(small_roster)
    reference = [
        LabelledRequest(text="what time is it in Tokyo right now", agents=["clock"]),
        LabelledRequest(text="multiply 12 by 7", agents=["math"]),
    ]
    additions = [("math", "what time is it in Tokyo now"), ("math", "multiply 13 by 9")]
    far, near = captured_requests(setup, additions, reference, default_encoder().encode)
    assert far == [0]  # a clock request would now be closest to a math example
    assert near == []  # math's own request is not "captured"


def test_a_lone_correction_to_an_agent_the_router_ranks_low_is_doubtful(
    small_roster: Roster,
) -> None:
    setup = RoutingSetup(small_roster)

    def math(text: str, rank: int | None = 4, source: str = "correction") -> Evidence:
        return Evidence(text=text, predicted="clock", expected="math", rank=rank, source=source)

    ev = [
        math("what is 9 minus 4", rank=2),
        math("sum of 3 and 5"),
        math("add 8 and 1", rank=None, source="clarification"),
        math("sum of 3 and 5 please"),
        math("sum of 3 and 5 please"),
    ]
    singles = propose_examples(setup, ev, each=True)
    assert {p.add_examples["math"][0]: p.plausible for p in singles} == {
        "sum of 3 and 5 please": True,  # named twice
        "what is 9 minus 4": True,  # ranked second
        "add 8 and 1": True,  # the user chose it when asked
        "sum of 3 and 5": False,
    }
    assert singles[0].add_examples == {"math": ["sum of 3 and 5 please"]}  # strongest first
    same = ["a", "a", "a", "b", "b", "b", "b", "b", "b", "b"]
    history = [LabelledRequest(text="h", agents=["a"])]
    fixed = (_scores(["b"], history), _scores(["a"], history))
    neutral = AcceptancePolicy(max_regressions=0, keep_neutral=True)
    verdict = judge(_scores(same), _scores(same), neutral, history=fixed, plausible=False)
    assert not verdict.accepted
