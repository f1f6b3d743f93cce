"""The self-improvement loop: proposals, held-out acceptance and rejection, versions, rollback.

A bag-of-words nearest-example router stands in for the semantic router: the loop only needs
the ``Router`` protocol, and token overlap makes every expected decision checkable by hand.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from nova_graph.errors import ImprovementError
from nova_graph.improve import (
    AcceptancePolicy,
    Evidence,
    ImprovementLoop,
    LabelledRequest,
    RouterFactory,
    RoutingSetup,
    VersionStore,
    apply_proposal,
    evidence_from_runs,
    judge,
    simulate_usage,
    weakened,
)
from nova_graph.improve.metrics import score_decisions
from nova_graph.improve.proposals import propose_examples, propose_merges, propose_scope_splits
from nova_graph.improve.store import setup_text
from nova_graph.roster import Roster
from nova_graph.routing.decision import RouteDecision
from nova_graph.runlog import RunLog
from tests.support.bow import NearestExampleRouter, bow_encode

FACTORY = RouterFactory(
    build=lambda roster, settings: NearestExampleRouter(
        roster.examples(), float(settings.get("threshold", 0.0))
    )
)

HELDOUT = [
    LabelledRequest(text=t, agents=[a])
    for t, a in [
        ("what is the date today", "clock"),
        ("current date please", "clock"),
        ("compute 7 times 8", "math"),
        ("what is 3 plus 4", "math"),
        ("count the words in this text", "words"),
        ("how many words here", "words"),
        ("how many filters are in stock", "stock"),
        ("stock of brush heads", "stock"),
    ]
]
HELPFUL = [
    Evidence(text="tell me the current date", predicted="words", expected="clock"),
    Evidence(text="compute 5 times 6", predicted=None, expected="math"),
    Evidence(text="what is 10 plus 20", predicted="clock", expected="math"),
    Evidence(text="what is the date", predicted="clock", expected="clock"),
]
MISLABELLED = [Evidence(text="what is the date today exactly", predicted="clock", expected="stock")]


@pytest.fixture()
def base(small_roster: Roster) -> RoutingSetup:
    """The small roster weakened to one example per agent."""
    return RoutingSetup(weakened(small_roster, 1))


@pytest.fixture()
def store(tmp_path: Path) -> VersionStore:
    return VersionStore(tmp_path / "data")


def test_baseline_misroutes_what_the_evidence_covers(base: RoutingSetup) -> None:
    loop = ImprovementLoop(FACTORY, HELDOUT)
    assert loop.score(base).accuracy == pytest.approx(5 / 8)


def test_missed_requests_become_example_proposals_for_the_right_agent(base: RoutingSetup) -> None:
    proposals = propose_examples(base, HELPFUL)
    assert {p.id: p.add_examples for p in proposals} == {
        "add_examples:math": {"math": ["compute 5 times 6", "what is 10 plus 20"]},
        "add_examples:clock": {"clock": ["tell me the current date"]},
    }


def test_known_examples_are_not_proposed_again(base: RoutingSetup) -> None:
    already = base.roster["clock"].examples[0]
    ev = [Evidence(text=already.upper(), predicted="words", expected="clock")]
    assert propose_examples(base, ev) == []


def test_helpful_change_is_accepted_and_versioned(base: RoutingSetup, store: VersionStore) -> None:
    loop = ImprovementLoop(FACTORY, HELDOUT, store=store)
    improved, report = loop.run_round(base, HELPFUL)
    assert report.accuracy_before == pytest.approx(5 / 8)
    assert report.accuracy_after == pytest.approx(8 / 8)
    assert {o.proposal.id for o in report.accepted} == {"add_examples:math", "add_examples:clock"}
    assert "tell me the current date" in improved.roster["clock"].examples
    metas = store.versions()
    assert [m.version for m in metas] == ["v0000", "v0001", "v0002"]
    assert metas[-1].score_after == pytest.approx(1.0)
    added = [ln for m in metas for ln in m.diff.splitlines() if ln.startswith("+")]
    assert any("tell me the current date" in ln for ln in added)
    assert store.active() == "v0002"


def test_change_from_mislabelled_feedback_is_rejected_by_the_heldout_check(
    base: RoutingSetup, store: VersionStore
) -> None:
    loop = ImprovementLoop(FACTORY, HELDOUT, store=store)
    unchanged, report = loop.run_round(base, MISLABELLED)
    [outcome] = report.outcomes
    assert outcome.proposal.add_examples == {"stock": ["what is the date today exactly"]}
    assert outcome.verdict is not None and not outcome.verdict.accepted
    assert outcome.verdict.after < outcome.verdict.before
    assert unchanged is base
    assert store.versions() == []


def test_rise_with_one_agent_dropping_beyond_the_margin_is_rejected() -> None:
    items = [LabelledRequest(text=f"r{i}", agents=[a]) for i, a in enumerate("aabbbb")]

    def decisions(preds: str) -> list[RouteDecision]:
        return [RouteDecision(agents=[p]) for p in preds]

    before = score_decisions(items, decisions("aacccc"))  # a: 2/2, b: 0/4
    after = score_decisions(items, decisions("cabbbb"))  # a: 1/2, b: 4/4
    verdict = judge(before, after, AcceptancePolicy(max_agent_drop=0.02))
    assert after.accuracy > before.accuracy
    assert not verdict.accepted
    assert "a dropped 50.0 points" in verdict.reason
    assert judge(before, after, AcceptancePolicy(max_agent_drop=0.6)).accepted


def test_dry_run_checks_proposals_but_keeps_nothing(
    base: RoutingSetup, store: VersionStore
) -> None:
    loop = ImprovementLoop(FACTORY, HELDOUT, store=store)
    same, report = loop.run_round(base, HELPFUL, dry_run=True)
    assert same is base
    assert report.dry_run and report.accuracy_after == report.accuracy_before
    assert all(o.verdict is not None and o.verdict.gain > 0 for o in report.outcomes)
    assert store.versions() == []


def test_rollback_restores_the_previous_version_exactly(
    base: RoutingSetup, store: VersionStore
) -> None:
    loop = ImprovementLoop(FACTORY, HELDOUT, store=store)
    loop.run_round(base, HELPFUL)
    assert store.active() == "v0002"
    store.rollback("v0000")
    assert store.active() == "v0000"
    restored = store.active_setup(RoutingSetup(weakened(base.roster, 99)))
    assert setup_text(restored) == setup_text(base)
    assert restored.roster.examples() == base.roster.examples()
    assert [m.version for m in store.versions()] == ["v0000", "v0001", "v0002"]


def test_rollback_to_unknown_version_is_a_clear_error(store: VersionStore) -> None:
    with pytest.raises(ImprovementError, match="no version v0042"):
        store.rollback("v0042")
    with pytest.raises(ImprovementError, match="not a version id"):
        store.rollback("../etc")


def test_scope_split_drops_the_example_that_attracts_another_agents_requests(
    small_roster: Roster,
) -> None:
    setup = RoutingSetup(small_roster)
    ev = [
        Evidence(text="calculate the words count", predicted="math", expected="words"),
        Evidence(text="calculate how many words", predicted="math", expected="words"),
    ]
    [p] = propose_scope_splits(setup, ev, bow_encode, keep_at_least=2)
    assert p.kind == "split_scope"
    assert p.remove_examples == {"math": ["calculate 2 + 2"]}
    assert "calculate 2 + 2" not in apply_proposal(setup, p).roster["math"].examples


def test_merge_proposals_are_advisory_and_never_applied(base: RoutingSetup) -> None:
    confusion = {"clock": {"math": 3, "clock": 2}, "math": {"clock": 3, "math": 2}}
    [p] = propose_merges(confusion)
    assert p.advisory and p.agents == ["clock", "math"]
    with pytest.raises(ImprovementError, match="advisory"):
        apply_proposal(base, p)


def test_simulated_feedback_in_the_run_log_drives_the_loop(
    base: RoutingSetup, tmp_path: Path
) -> None:
    log = RunLog(tmp_path / "runs.sqlite")
    stream = [LabelledRequest(text=e.text, agents=[e.expected]) for e in HELPFUL if e.expected]
    simulate_usage(FACTORY.router(base), stream, log)
    evidence = evidence_from_runs(log.runs())
    assert sum(e.missed for e in evidence) == 3
    _, report = ImprovementLoop(FACTORY, HELDOUT).run_round(base, evidence)
    assert report.accuracy_after > report.accuracy_before


def test_trimmed_change_is_reported_as_kept(base: RoutingSetup) -> None:
    # the third example steals a clock request, so the whole proposal fails the per-agent check;
    # trimming drops it and keeps the rest, and the report must say so
    evidence = [
        Evidence(text="compute 5 times 6", predicted=None, expected="math"),
        Evidence(text="what is 10 plus 20", predicted="clock", expected="math"),
        Evidence(text="what is the date today please", predicted="clock", expected="math"),
    ]
    improved, report = ImprovementLoop(FACTORY, HELDOUT).run_round(base, evidence)
    assert [o.proposal.id for o in report.accepted] == ["add_examples:math~trimmed"]
    assert report.accuracy_after == pytest.approx(7 / 8)
    assert "what is the date today please" not in improved.roster["math"].examples
