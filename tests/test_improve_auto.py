"""Autonomous improvement: runs only with enough new signals, keeps only changes that pass the
gate, records every decision (kept or rejected, with figures); per-agent diagnostics; the
nightly pipeline step."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from nova_app.tools.pipelines.runner import load_pipelines
from nova_app.tools.pipelines.steps import StepFailed, StepRun, improve_routing
from nova_graph.improve import RoutingSetup, VersionStore, weakened
from nova_graph.improve.auto import improve_automatically
from nova_graph.improve.diagnose import diagnose, diagnosis_text
from nova_graph.improve.proposals import Proposal
from nova_graph.roster import Roster
from nova_graph.runlog import AgentRunLog, RunLog, RunRecord, ToolCallLog, new_run_id
from tests.test_improve import FACTORY, HELDOUT

HELPFUL = [  # (request, where it went, the correction's route)
    ("tell me the current date", "words", "clock"),
    ("compute 5 times 6", "clock", "math"),
    ("what is 10 plus 20", "clock", "math"),
]
WRONG = [("what is the date today exactly", "clock", "stock")]
GREETING = Proposal(
    id="x",
    kind="add_examples",
    agents=["general_chat"],
    rationale="t",
    add_examples={"general_chat": ["how are you doing this evening"]},
)


def _turn(thread: str, text: str, routes: list[str], **extra: object) -> RunRecord:
    return RunRecord(
        run_id=new_run_id(),
        created_at=datetime.now(UTC),
        thread_id=thread,
        request=text,
        routes=routes,
        status="ok" if routes else "out_of_scope",
        **extra,  # type: ignore[arg-type]
    )


def _corrected(log: RunLog, cases: list[tuple[str, str, str]]) -> None:
    """Each case: a misrouted turn, then "no, I meant ..." routed to the right agent."""
    for i, (text, went, right) in enumerate(cases):
        log.add(_turn(f"t{i}-{text}", text, [went]))
        log.add(_turn(f"t{i}-{text}", f"no, I meant the {right} one", [right]))


@pytest.fixture()
def base(small_roster: Roster) -> RoutingSetup:
    return RoutingSetup(weakened(small_roster, 1))


def _auto(
    tmp_path: Path, base: RoutingSetup, log: RunLog, min_new: int, *, strict: bool = True
) -> object:
    return improve_automatically(
        tmp_path,
        heldout=HELDOUT,
        start=base,
        factory=FACTORY,
        runlog=log,
        min_new_signals=min_new,
        strict=strict,
    )


def test_auto_does_not_run_without_enough_new_signals(tmp_path: Path, base: RoutingSetup) -> None:
    log = RunLog(tmp_path / "runs.sqlite")
    _corrected(log, HELPFUL[:1])
    outcome = _auto(tmp_path, base, log, 3)
    assert not outcome.ran and outcome.new_signals == 1  # type: ignore[attr-defined]
    store = VersionStore(tmp_path)
    assert store.versions() == []
    assert store.history("auto")[-1]["ran"] is False


def test_auto_keeps_passing_changes_and_records_each_decision(
    tmp_path: Path, base: RoutingSetup
) -> None:
    log = RunLog(tmp_path / "runs.sqlite")
    _corrected(log, HELPFUL)
    outcome = _auto(tmp_path, base, log, 3)
    assert outcome.ran and outcome.kept  # type: ignore[attr-defined]
    store = VersionStore(tmp_path)
    decisions = store.history("decision")
    assert len(decisions) == 3  # the strict gate: one decision per added example
    assert all(d["after"] > d["before"] for d in decisions if d["kept"])
    # kept as an overlay, the date example no longer pulls a words request towards clock
    # (retrained, the gate rejected it for that): both helpful examples are kept, and the
    # one that adds nothing is rejected with its figures
    assert [d["kept"] for d in decisions] == [True, True, False]
    assert "not above the required gain" in decisions[2]["reason"]
    assert store.active() == outcome.kept[-1]  # type: ignore[attr-defined]
    again = _auto(tmp_path, base, log, 3)  # nothing new since: it waits
    assert not again.ran and again.new_signals == 0  # type: ignore[attr-defined]


def test_auto_with_the_batched_gate_keeps_each_agents_examples_as_one_change(
    tmp_path: Path, base: RoutingSetup
) -> None:
    log = RunLog(tmp_path / "runs.sqlite")
    _corrected(log, HELPFUL)
    outcome = _auto(tmp_path, base, log, 3, strict=False)
    decisions = VersionStore(tmp_path).history("decision")
    assert [d["proposal"] for d in decisions] == ["add_examples:math", "add_examples:clock"]
    assert all(d["kept"] and d["after"] > d["before"] for d in decisions)
    assert len(outcome.kept) == 2  # type: ignore[attr-defined]


def test_auto_rejects_a_wrong_correction_and_records_why(
    tmp_path: Path, base: RoutingSetup
) -> None:
    log = RunLog(tmp_path / "runs.sqlite")
    _corrected(log, WRONG)
    outcome = _auto(tmp_path, base, log, 1)
    assert outcome.ran and not outcome.kept and outcome.rejected == 1  # type: ignore[attr-defined]
    store = VersionStore(tmp_path)
    [decision] = store.history("decision")  # the strict gate: refused before any router build
    assert decision["kept"] is False and "not local" in decision["reason"]
    assert "clock x2" in decision["reason"]
    assert store.versions() == []
    batched = _auto(tmp_path / "b", base, log, 1, strict=False)
    assert not batched.kept  # type: ignore[attr-defined]
    [decision] = VersionStore(tmp_path / "b").history("decision")
    assert decision["kept"] is False and decision["after"] < decision["before"]
    assert "held-out accuracy" in decision["reason"]


def test_the_nightly_pipeline_step_waits_for_signals(tmp_path: Path) -> None:
    assert load_pipelines()["nightly_improve"].steps[0].step == "improve_routing"
    run = StepRun(data_dir=tmp_path, workspace=tmp_path, params={"min_signals": 5}, run_id=1)
    assert "fewer than 5; skipped" in improve_routing(run)
    with pytest.raises(StepFailed, match="min_signals"):
        improve_routing(StepRun(tmp_path, tmp_path, {"min_signals": 0}, 2))


def test_diagnostics_name_the_failing_tool_argument_and_rate(tmp_path: Path) -> None:
    log = RunLog(tmp_path / "runs.sqlite")
    bad = ToolCallLog(name="calculate", ok=False, args={"expression": "1 +* ("}, output="bad")
    good = ToolCallLog(name="calculate", ok=True, args={"expression": "1+1"}, output="2")
    for calls in ([bad], [bad], [good], [good]):
        failed = not calls[0].ok
        part = AgentRunLog(agent="math", status="failed" if failed else "ok", tool_calls=calls)
        log.add(_turn(new_run_id(), "sum it", ["math"], agents=[part]))
    [d] = diagnose(log.runs())
    assert (d.agent, d.runs, d.failed_runs) == ("math", 4, 2)
    [t] = d.tools
    assert (t.tool, t.calls, t.errors, t.failing_args) == ("calculate", 4, 2, {"expression": 2})
    assert d.proposals and "expression" in d.proposals[0]
    assert "2/4 calls failed" in diagnosis_text([d])


def test_after_rollback_to_the_packaged_base_start_up_parses_no_stored_roster(
    tmp_path: Path,
) -> None:
    from nova_app import nova_roster
    from nova_graph.improve.proposals import apply_proposal
    from nova_graph.improve.store import improved_setup

    store = VersionStore(tmp_path)
    packaged = RoutingSetup(nova_roster())
    store.ensure_base(packaged)
    change = GREETING
    store.commit(apply_proposal(packaged, change), change="t")
    assert improved_setup(tmp_path) is not None
    store.rollback("v0000")
    (store.versions_dir / "v0000" / "roster.yaml").write_text("not: [a roster")
    assert improved_setup(tmp_path) is None  # decided without parsing the stored roster


def test_cli_diagnose_and_auto(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nova_app.cli import main

    log = RunLog(tmp_path / "runs.sqlite")
    bad = ToolCallLog(name="calculate", ok=False, args={"expression": "x"}, output="bad input")
    for _ in range(2):
        part = AgentRunLog(agent="math", status="failed", tool_calls=[bad])
        log.add(_turn(new_run_id(), "sum it", ["math"], agents=[part]))
    assert main(["improve", "--diagnose", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert (
        "math: failed 2 of 2 runs" in out and "calculate: 2/2 calls failed (expression x2)" in out
    )
    assert main(["improve", "--auto", "--min-signals", "5", "--data-dir", str(tmp_path)]) == 0
    assert "0 new signal(s) since the last run, fewer than 5; skipped" in capsys.readouterr().out


def test_a_change_and_its_stored_version_keep_the_out_of_scope_negatives(tmp_path: Path) -> None:
    from nova_app import nova_roster
    from nova_graph.improve.proposals import apply_proposal

    packaged = RoutingSetup(nova_roster())
    assert packaged.roster.out_of_scope  # the router's refusal negatives
    change = GREETING
    changed = apply_proposal(packaged, change)
    assert changed.roster.out_of_scope == packaged.roster.out_of_scope
    store = VersionStore(tmp_path)
    store.ensure_base(packaged)
    version = store.commit(changed, change="t").version
    assert store.load(version).roster.out_of_scope == packaged.roster.out_of_scope
