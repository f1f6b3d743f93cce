"""Per-agent scorecards: routing precision/recall (labelled set and feedback), failures, tools,
latency, confusions. ``nova eval agents`` prints the table and writes JSON and a report."""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, Field

from nova_graph.improve.labelled import LabelledRequest
from nova_graph.improve.metrics import RoutingScore, score_decisions
from nova_graph.roster import Roster
from nova_graph.routing.decision import RouteDecision, Router, route_all
from nova_graph.runlog import RunRecord

DEFAULT_LABELLED = Path("evals/roster/heldout.yaml")
BATCH = 64


class Confusion(BaseModel):
    """Another label this agent is confused with, and how often (both directions)."""

    agent: str
    count: int


class AgentScorecard(BaseModel):
    """Everything measured about one agent."""

    agent: str
    support: int = Field(default=0, description="Labelled requests belonging to the agent.")
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None
    confused_with: list[Confusion] = Field(default_factory=list)
    feedback_runs: int = 0
    feedback_precision: float | None = Field(
        default=None, description="Of rated runs routed here, the share rated right."
    )
    feedback_recall: float | None = Field(
        default=None, description="Of rated runs that belonged here, the share routed here."
    )
    runs: int = Field(default=0, description="Logged runs the agent was routed to.")
    failure_rate: float | None = None
    tool_calls: int = 0
    tool_error_rate: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None


class Scorecards(BaseModel):
    """Scorecards for every agent of a roster, plus the overall labelled-set score."""

    agents: list[AgentScorecard]
    labelled_n: int = 0
    labelled_accuracy: float | None = None
    confusion: dict[str, dict[str, int]] = Field(default_factory=dict)
    runs_considered: int = 0
    feedback_considered: int = 0

    def card(self, agent: str) -> AgentScorecard:
        """The scorecard of ``agent``."""
        for c in self.agents:
            if c.agent == agent:
                return c
        raise KeyError(agent)


def route_with_progress(
    router: Router, texts: Sequence[str], *, progress: bool = True
) -> list[RouteDecision]:
    """Route ``texts`` in batches, showing a progress bar on stderr when ``progress``."""
    from tqdm import tqdm

    out: list[RouteDecision] = []
    with tqdm(
        total=len(texts), desc="routing", unit="req", disable=not progress, file=sys.stderr
    ) as bar:
        for start in range(0, len(texts), BATCH):
            chunk = list(texts[start : start + BATCH])
            out.extend(route_all(router, chunk))
            bar.update(len(chunk))
    return out


def compute_scorecards(
    roster: Roster,
    *,
    router: Router | None = None,
    labelled: Sequence[LabelledRequest] = (),
    runs: Sequence[RunRecord] = (),
    progress: bool = False,
) -> Scorecards:
    """Scorecards from a labelled set (needs ``router``) and/or logged runs with feedback."""
    cards = {name: AgentScorecard(agent=name) for name in roster.names}
    score: RoutingScore | None = None
    if labelled:
        if router is None:
            raise ValueError("a router is needed to score a labelled set")
        decisions = route_with_progress(router, [i.text for i in labelled], progress=progress)
        score = score_decisions(labelled, decisions, roster.names)
        for name, card in cards.items():
            s = score.per_agent.get(name)
            if s is None:
                continue
            card.support = s.support
            card.precision, card.recall, card.f1 = s.precision, s.recall, s.f1
            card.confused_with = [Confusion(agent=a, count=n) for a, n in score.confused_with(name)]
    _add_feedback(cards, runs)
    _add_run_stats(cards, runs)
    return Scorecards(
        agents=list(cards.values()),
        labelled_n=len(labelled),
        labelled_accuracy=score.accuracy if score else None,
        confusion=score.confusion if score else {},
        runs_considered=len(runs),
        feedback_considered=sum(1 for r in runs if r.feedback),
    )


def _add_feedback(cards: dict[str, AgentScorecard], runs: Sequence[RunRecord]) -> None:
    routed: dict[str, list[bool]] = defaultdict(list)
    belonged: dict[str, list[bool]] = defaultdict(list)
    for run in runs:
        if not run.feedback:
            continue
        top, correct = run.top_agent, run.correct_agent
        if top is not None:
            routed[top].append(run.feedback[-1].verdict == "good")
        if correct is not None:
            belonged[correct].append(top == correct)
    for name, card in cards.items():
        card.feedback_runs = len(routed[name])
        if routed[name]:
            card.feedback_precision = sum(routed[name]) / len(routed[name])
        if belonged[name]:
            card.feedback_recall = sum(belonged[name]) / len(belonged[name])


def _add_run_stats(cards: dict[str, AgentScorecard], runs: Sequence[RunRecord]) -> None:
    for name, card in cards.items():
        failed = 0
        calls = errors = 0
        latencies: list[float] = []
        n = 0
        for run in runs:
            if name not in run.routes:
                continue
            n += 1
            result = next((a for a in run.agents if a.agent == name), None)
            if any(f.agent == name for f in run.failures) or (
                result is not None and result.status == "failed"
            ):
                failed += 1
            if result is not None:
                calls += len(result.tool_calls)
                errors += sum(not t.ok for t in result.tool_calls)
                latencies.append(result.latency_ms)
        card.runs = n
        card.failure_rate = failed / n if n else None
        card.tool_calls = calls
        card.tool_error_rate = errors / calls if calls else None
        if latencies:
            card.latency_p50_ms = float(np.percentile(latencies, 50))
            card.latency_p95_ms = float(np.percentile(latencies, 95))


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.0f}%"


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x:.0f}"


COLUMNS = (
    "agent",
    "n",
    "prec",
    "recall",
    "f1",
    "fb prec",
    "fb recall",
    "runs",
    "fail",
    "tool err",
    "p50 ms",
    "confused with",
)


def table_rows(cards: Scorecards) -> list[list[str]]:
    """The scorecards as rows of strings (columns: :data:`COLUMNS`)."""
    return [
        [
            c.agent,
            str(c.support),
            _pct(c.precision),
            _pct(c.recall),
            _pct(c.f1),
            _pct(c.feedback_precision),
            _pct(c.feedback_recall),
            str(c.runs),
            _pct(c.failure_rate),
            _pct(c.tool_error_rate),
            _ms(c.latency_p50_ms),
            ", ".join(f"{x.agent} ({x.count})" for x in c.confused_with) or "-",
        ]
        for c in sorted(cards.agents, key=lambda c: (c.f1 if c.f1 is not None else 2.0, c.agent))
    ]


def format_table(cards: Scorecards) -> str:
    """A plain-text table of the scorecards, weakest agents (lowest F1) first."""
    rows = [list(COLUMNS), *table_rows(cards)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    head = []
    if cards.labelled_accuracy is not None:
        head.append(
            f"labelled set: {cards.labelled_n} requests, routing accuracy "
            f"{cards.labelled_accuracy * 100:.1f}%"
        )
    head.append(f"run log: {cards.runs_considered} runs, {cards.feedback_considered} with feedback")
    return "\n".join([*head, "", *lines])


# -- nova eval agents ---------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``nova eval agents``."""
    parser.add_argument(
        "--labelled",
        default=None,
        help=f"labelled requests (YAML/JSON; default: {DEFAULT_LABELLED} when present)",
    )
    parser.add_argument(
        "--no-labelled", action="store_true", help="score the run log only (no labelled set)"
    )
    parser.add_argument("--roster", default=None, help="roster YAML (default: the active one)")
    parser.add_argument("--data-dir", default=None, help="data directory (default: $NOVA_DATA_DIR)")
    parser.add_argument("--runlog", default=None, help="run log file (default: in the data dir)")
    parser.add_argument("--json", default=None, metavar="PATH", help="write the scorecards as JSON")
    parser.add_argument(
        "--report", default=None, metavar="PATH", help="write a report with plots (.md or .html)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Compute, print and write the scorecards."""
    from evals.harness.report import write_report
    from nova_graph.improve.labelled import load_labelled
    from nova_graph.improve.routers import default_factory
    from nova_graph.improve.setup import RoutingSetup
    from nova_graph.improve.store import VersionStore
    from nova_graph.roster import load_roster
    from nova_graph.runlog import RUNLOG_FILE, RunLog
    from nova_graph.settings import default_data_dir

    data_dir = Path(args.data_dir) if args.data_dir else default_data_dir()
    if args.roster:
        setup = RoutingSetup(load_roster(args.roster))
    else:
        setup = VersionStore(data_dir).active_setup(RoutingSetup(load_roster(args.default_roster)))
    labelled_path = args.labelled or (DEFAULT_LABELLED if DEFAULT_LABELLED.is_file() else None)
    if args.no_labelled:
        labelled_path = None
    labelled = load_labelled(labelled_path) if labelled_path else []
    runlog_path = Path(args.runlog) if args.runlog else data_dir / RUNLOG_FILE
    runs = RunLog(runlog_path).runs() if runlog_path.is_file() else []
    if not labelled and not runs:
        print(
            "nova eval agents: nothing to score: give --labelled PATH or log some runs "
            "with `nova ask`",
            file=sys.stderr,
        )
        return 2
    router = default_factory().router(setup) if labelled else None
    cards = compute_scorecards(
        setup.roster,
        router=router,
        labelled=labelled,
        runs=runs,
        progress=not args.no_progress,
    )
    print(format_table(cards))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(cards.model_dump(mode="json"), indent=2) + "\n")
        print(f"\nscorecards JSON: {args.json}")
    if args.report:
        written = write_report(cards, Path(args.report))
        print(f"report: {written}")
    return 0
