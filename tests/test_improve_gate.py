"""The acceptance gate: flagged corrections honoured within a margin, out-of-scope refusals and
clarifying questions guarded, bad flags refused with a clear message, the packaged set."""

from __future__ import annotations

from pathlib import Path

import pytest

from nova_app.cli import main
from nova_app.cli.improve import packaged_acceptance_set
from nova_graph.improve import AcceptancePolicy, Evidence, LabelledRequest, RoutingSetup, judge
from nova_graph.improve.metrics import RoutingScore, score_decisions
from nova_graph.improve.proposals import propose_examples
from nova_graph.roster import Roster
from nova_graph.routing.decision import RouteDecision

ITEMS = [LabelledRequest(text=f"r{i}", agents=[a]) for i, a in enumerate("aaaaabbbbb")] + [
    LabelledRequest(text=f"r{i}", agents=["a", "b"]) for i in range(10, 200)
]


def _scores(preds: list[list[str]], items: list[LabelledRequest]) -> RoutingScore:
    return score_decisions(items, [RouteDecision(agents=p, out_of_scope=not p) for p in preds])


def test_flagged_correction_is_kept_when_it_costs_less_than_the_margin() -> None:
    items = [LabelledRequest(text=f"r{i}", agents=["a"]) for i in range(400)]
    before = _scores([["a"]] * 400, items)
    after = _scores([["a"]] * 399 + [["b"]], items)  # -0.25 points
    policy = AcceptancePolicy(correction_margin=0.005)
    kept = judge(before, after, policy, flagged=True)
    assert kept.accepted
    unflagged = judge(before, after, policy)
    assert not unflagged.accepted
    assert "100.0% -> 99.8%" in unflagged.reason


def test_flagged_correction_beyond_the_margin_is_rejected_with_figures() -> None:
    items = [LabelledRequest(text=f"r{i}", agents=["a"]) for i in range(100)]
    before = _scores([["a"]] * 100, items)
    after = _scores([["a"]] * 98 + [["b"]] * 2, items)  # -2 points
    verdict = judge(before, after, AcceptancePolicy(max_agent_drop=1.0), flagged=True)
    assert not verdict.accepted
    assert "100.0% -> 98.0% (-2.0 points)" in verdict.reason
    assert "margin 0.5 points" in verdict.reason


def test_proposals_only_from_flagged_feedback_are_marked_flagged(small_roster: Roster) -> None:
    setup = RoutingSetup(small_roster)
    flagged = [Evidence(text="what is 9 minus 4", predicted="clock", expected="math")]
    implicit = [
        Evidence(text="what is 9 minus 4", predicted="clock", expected="math", source="rephrase")
    ]
    assert propose_examples(setup, flagged)[0].flagged
    assert not propose_examples(setup, implicit)[0].flagged


def test_a_change_that_costs_out_of_scope_refusals_is_rejected() -> None:
    items = [LabelledRequest(text=f"r{i}", agents=["a"]) for i in range(8)] + [
        LabelledRequest(text="book me a flight", agents=[])
    ]
    before = _scores([["b"]] * 8 + [[]], items)
    after = _scores([["a"]] * 8 + [["a"]], items)  # accuracy up, the refusal lost
    assert before.oos_recall == 1.0 and after.oos_recall == 0.0
    verdict = judge(before, after, AcceptancePolicy())
    assert not verdict.accepted
    assert verdict.reason.startswith("out-of-scope recall fell 100.0% -> 0.0%")


def test_a_change_that_stops_clarifying_questions_is_rejected() -> None:
    unclear = LabelledRequest(text="invoices", agents=["a", "b"], ambiguous=True)
    items = [LabelledRequest(text="r", agents=["a"]), unclear]
    before = score_decisions(
        items, [RouteDecision(agents=["b"]), RouteDecision(agents=["a", "b"], ambiguous=True)]
    )
    after = score_decisions(items, [RouteDecision(agents=["a"]), RouteDecision(agents=["a"])])
    assert (before.clarify_rate, after.clarify_rate) == (1.0, 0.0)
    assert before.n == after.n == 1  # ambiguous requests are not in the accuracy figure
    verdict = judge(before, after, AcceptancePolicy())
    assert not verdict.accepted and "clarification rate fell" in verdict.reason


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--min-gain", "-0.001", "--min-gain must be from 0 to 1"),
        ("--max-drop", "2", "--max-drop must be from 0 to 1"),
        ("--min-gain", "lots", "--min-gain takes a number from 0 to 1"),
        ("--rounds", "0", "--rounds must be at least 1"),
    ],
)
def test_bad_flags_are_clear_errors_not_tracebacks(
    flag: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["improve", "--dry-run", flag, value])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_the_acceptance_set_is_packaged_with_oos_and_ambiguous_requests(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # outside the repository folder
    items = packaged_acceptance_set()
    assert sum(not i.agents and not i.ambiguous for i in items) >= 20
    assert sum(i.ambiguous for i in items) >= 10
    assert any(i.text == "book me a flight to Lisbon for next Tuesday" for i in items)


def test_per_agent_figures_share_one_unit_and_never_exceed_100_percent() -> None:
    items = [
        LabelledRequest(text="a1", agents=["a"]),
        LabelledRequest(text="b1", agents=["b"]),
        LabelledRequest(text="ab", agents=["a", "b"]),  # routed right to both: accuracy only
        LabelledRequest(text="ab2", agents=["b", "a"]),
    ]
    decisions = [
        RouteDecision(agents=["a"]),
        RouteDecision(agents=["a"]),
        RouteDecision(agents=["a", "b"], scores={"a": 0.9, "b": 0.8}),
        RouteDecision(agents=["a", "b"], scores={"a": 0.9, "b": 0.8}),
    ]
    score = score_decisions(items, decisions)
    a, b = score.per_agent["a"], score.per_agent["b"]
    assert (a.support, a.predicted, a.correct) == (1, 2, 1)
    assert (a.precision, a.recall) == (0.5, 1.0)
    assert (b.support, b.predicted, b.correct, b.recall) == (1, 0, 0, 0.0)
    assert score.accuracy == 0.75
    assert all(
        0.0 <= x <= 1.0 for s in score.per_agent.values() for x in (s.precision, s.recall, s.f1)
    )
