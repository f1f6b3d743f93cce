"""Agent scorecards: labelled precision/recall and confusions, feedback rates, failures, reports."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from evals.harness.agents import compute_scorecards, format_table
from evals.harness.report import write_report
from nova_app.cli import main
from nova_graph.errors import InvalidRequestError
from nova_graph.improve import LabelledRequest
from nova_graph.roster import Roster
from nova_graph.runlog import AgentRunLog, Feedback, RunLog, RunRecord, ToolCallLog
from tests.support.bow import NearestExampleRouter

LABELLED = [
    LabelledRequest(text=t, agents=[a])
    for t, a in [
        ("what time is it now", "clock"),
        ("what is 3 plus 4", "math"),  # goes to clock: shares "what is"
        ("calculate 9 times 9", "math"),
        ("count the words please", "words"),
        ("check the stock of filters", "stock"),
    ]
]
ROUTER = NearestExampleRouter(
    {
        "clock": ["what is the time"],
        "math": ["calculate 2 + 2"],
        "words": ["count the words"],
        "stock": ["check stock levels"],
    }
)


def _run(
    routes: list[str],
    *,
    verdict: str | None = None,
    should_be: str | None = None,
    failed: bool = False,
    tool_ok: bool = True,
    latency: float = 10.0,
) -> RunRecord:
    now = datetime.now(UTC)
    agents = [
        AgentRunLog(
            agent=a,
            status="failed" if failed else "ok",
            latency_ms=latency,
            tool_calls=[ToolCallLog(name="t", ok=tool_ok)],
        )
        for a in routes
    ]
    fb = (
        []
        if verdict is None
        else [
            Feedback(run_id="x", verdict=verdict, should_be=should_be, created_at=now)  # type: ignore[arg-type]
        ]
    )
    return RunRecord(
        run_id=f"r{id(agents)}",
        created_at=now,
        request="q",
        routes=routes,
        agents=agents,
        feedback=fb,
    )


def test_labelled_precision_recall_and_confusion(small_roster: Roster) -> None:
    cards = compute_scorecards(small_roster, router=ROUTER, labelled=LABELLED)
    assert cards.labelled_accuracy == pytest.approx(4 / 5)
    clock, math = cards.card("clock"), cards.card("math")
    assert (clock.precision, clock.recall) == (pytest.approx(0.5), 1.0)
    assert (math.precision, math.recall) == (1.0, pytest.approx(0.5))
    assert [(c.agent, c.count) for c in math.confused_with] == [("clock", 1)]
    assert cards.confusion["math"] == {"clock": 1, "math": 1}


def test_feedback_precision_and_recall_per_agent(small_roster: Roster) -> None:
    runs = [
        _run(["clock"], verdict="good"),
        _run(["clock"], verdict="bad", should_be="math"),
        _run(["math"], verdict="good"),
        _run(["math"]),  # no feedback: not counted
    ]
    cards = compute_scorecards(small_roster, runs=runs)
    assert cards.card("clock").feedback_precision == pytest.approx(0.5)
    assert cards.card("math").feedback_recall == pytest.approx(0.5)
    assert cards.card("math").feedback_precision == 1.0
    assert cards.feedback_considered == 3


def test_failure_tool_error_rates_and_latency_from_the_run_log(small_roster: Roster) -> None:
    runs = [
        _run(["words"], latency=10),
        _run(["words"], failed=True, latency=30),
        _run(["words"], tool_ok=False, latency=20),
        _run(["words"], latency=40),
    ]
    card = compute_scorecards(small_roster, runs=runs).card("words")
    assert card.runs == 4
    assert card.failure_rate == pytest.approx(0.25)
    assert card.tool_error_rate == pytest.approx(0.25)
    assert card.latency_p50_ms == pytest.approx(25.0)


def test_markdown_report_has_table_and_plots(small_roster: Roster, tmp_path: Path) -> None:
    cards = compute_scorecards(
        small_roster, router=ROUTER, labelled=LABELLED, runs=[_run(["words"], failed=True)]
    )
    out = write_report(cards, tmp_path / "cards.md")
    text = out.read_text()
    assert "| math |" in text and "![confusion](cards_files/confusion.png)" in text
    for name in ("confusion", "routing", "reliability"):
        assert (tmp_path / "cards_files" / f"{name}.png").read_bytes()[:4] == b"\x89PNG"


def test_html_report_embeds_plots(small_roster: Roster, tmp_path: Path) -> None:
    cards = compute_scorecards(small_roster, router=ROUTER, labelled=LABELLED)
    html = write_report(cards, tmp_path / "cards.html").read_text()
    assert html.count("data:image/png;base64,") == 2
    assert "<td>math</td>" in html


def test_report_with_unknown_extension_is_rejected(small_roster: Roster, tmp_path: Path) -> None:
    cards = compute_scorecards(small_roster, router=ROUTER, labelled=LABELLED)
    with pytest.raises(InvalidRequestError, match=r"\.md or \.html"):
        write_report(cards, tmp_path / "cards.pdf")
    assert list(tmp_path.iterdir()) == []


def test_table_lists_weakest_agents_first(small_roster: Roster) -> None:
    table = format_table(compute_scorecards(small_roster, router=ROUTER, labelled=LABELLED))
    lines = table.splitlines()
    header = next(i for i, ln in enumerate(lines) if ln.startswith("agent"))
    assert lines[header + 2].split()[0] in ("clock", "math")
    assert "routing accuracy 80.0%" in table


def test_nova_eval_agents_scores_the_run_log(
    small_roster: Roster, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = RunLog(data_dir / "runs.sqlite")
    rid = log.record({"request": "what time is it", "routes": ["general_chat"]}, 5.0)
    log.add_feedback(rid, "good")
    code = main(
        [
            "eval",
            "agents",
            "--data-dir",
            str(data_dir),
            "--no-labelled",
            "--json",
            str(tmp_path / "cards.json"),
            "--no-progress",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "run log: 1 runs, 1 with feedback" in out
    assert '"feedback_precision": 1.0' in (tmp_path / "cards.json").read_text()
