"""Pipeline tools: list, run, inspect, retry and schedule the local pipelines."""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from datetime import UTC, datetime
from typing import Any

from langchain_core.tools import BaseTool, tool

from nova_app.tools.matching import best_matches
from nova_app.tools.pipelines.runner import PipelineRunner, PipelineSpec, load_pipelines
from nova_app.tools.pipelines.steps import StepFailed, inbox_file, known_sites
from nova_graph.errors import PipelineError, ToolError
from nova_graph.tools.approval import writes
from nova_graph.tools.context import ToolContext
from nova_graph.tools.outcome import failed, succeeded

_TIME = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*(am|pm)?\b", re.IGNORECASE)


def _describe_run(runner: PipelineRunner, run: sqlite3.Row) -> str:
    steps = runner.step_records(run["id"])
    lines = [
        f"Run {run['id']} of {run['pipeline']}: {run['status'].upper()} "
        f"(started {run['started_at']}, trigger {run['trigger']}"
        + (f", retry of run {run['retry_of']}" if run["retry_of"] else "")
        + ")"
    ]
    lines += [f"  {s['idx'] + 1}. {s['step']}: {s['status']}" for s in steps]
    if run["summary"]:
        lines.append(f"  -> {run['summary']}")
    if run["status"] == "failed":
        lines.append(f"  Fix the cause, then retry run {run['id']} from its failed step.")
    return "\n".join(lines)


def _outcome(runner: PipelineRunner, run: sqlite3.Row) -> tuple[str, dict[str, str]]:
    """A pipeline-running tool's result: the run described, marked failed when the run failed."""
    text = _describe_run(runner, run)
    return failed(text) if run["status"] == "failed" else succeeded(text)


def parse_time_of_day(text: str) -> str:
    """'2am', '14:30', 'at 9 pm' -> 'HH:MM' (24-hour)."""
    for m in _TIME.finditer(text):
        hour, minute, half = int(m[1]), int(m[2] or 0), (m[3] or "").lower()
        if not m[2] and not half:
            continue  # a bare number is not a time
        if half == "pm" and hour < 12:
            hour += 12
        if half == "am" and hour == 12:
            hour = 0
        if 0 <= hour < 24 and 0 <= minute < 60:
            return f"{hour:02d}:{minute:02d}"
    raise ToolError(f"no time of day in {text!r}; say e.g. '2am' or '14:30'")


def make_tools(ctx: ToolContext) -> list[BaseTool]:
    """The pipeline family's tools, recording runs under ``ctx.data_dir``."""
    pipelines = load_pipelines()

    def runner() -> PipelineRunner:
        return PipelineRunner(ctx.ensure_data_dir(), pipelines)

    def pick(text: str, *, only: list[PipelineSpec] | None = None) -> PipelineSpec:
        pool = only if only is not None else list(pipelines.values())
        exact = [p for p in pool if p.name in text]
        if exact:
            return exact[0]
        rows: list[dict[str, Any]] = [
            {"spec": p, "words": p.name.replace("_", " "), "d": p.description, "b": p.business}
            for p in pool
        ]
        hits = best_matches(text, rows, ("words", "d", "b"), limit=1)
        if not hits:
            raise ToolError(
                f"no pipeline matches {text!r}; known pipelines: {', '.join(p.name for p in pool)}"
            )
        spec: PipelineSpec = hits[0]["spec"]
        return spec

    def run_named(name: str, trigger: str = "manual") -> tuple[str, dict[str, str]]:
        r = runner()
        return _outcome(r, r.run(name, trigger=trigger))

    @tool
    def list_pipelines() -> str:
        """List the available pipelines with their steps and what each is for."""
        return "\n".join(
            f"{p.name} ({p.business}): {p.description} Steps: "
            + " -> ".join(s.step for s in p.steps)
            for p in pipelines.values()
        )

    @tool(response_format="content_and_artifact")
    def run_pipeline(pipeline: str) -> tuple[str, dict[str, str]]:
        """Run (start, kick off) a pipeline by name now and report each step's outcome."""
        return run_named(pick(pipeline).name)

    @tool
    def pipeline_status(pipeline: str = "") -> str:
        """Status of the latest run of each pipeline, or of one named pipeline."""
        r = runner()
        chosen = [pick(pipeline)] if pipeline.strip() else list(pipelines.values())
        out = []
        for spec in chosen:
            runs = r.recent_runs(spec.name, limit=1)
            out.append(_describe_run(r, runs[0]) if runs else f"{spec.name}: never run")
        return "\n".join(out)

    @tool
    def list_pipeline_runs() -> str:
        """List recent pipeline runs (history) with their status and summary."""
        runs = runner().recent_runs(limit=15)
        if not runs:
            return "No pipeline has run yet."
        return "\n".join(
            f"run {r['id']}: {r['pipeline']} {r['status']} at {r['started_at']} - {r['summary']}"
            for r in runs
        )

    @tool
    def run_logs(run_id: int) -> str:
        """Show the step logs of a pipeline run by run number."""
        r = runner()
        try:
            run = r.run_record(run_id)
        except PipelineError as exc:
            return str(exc)
        parts = [f"Logs of run {run_id} ({run['pipeline']}, {run['status']}):"]
        for s in r.step_records(run_id):
            parts.append(f"[{s['idx'] + 1}. {s['step']}: {s['status']}]")
            parts.append(s["log"] or "(no output)")
        return "\n".join(parts)

    @tool
    def last_failure_log() -> str:
        """Show the error log of the most recent failed pipeline run (which step failed and why)."""
        r = runner()
        run = r.last_failed_run()
        if run is None:
            return "No failed pipeline runs that still need attention."
        failed = [s for s in r.step_records(run["id"]) if s["status"] == "failed"]
        log = failed[0]["log"] if failed else ""
        return f"{_describe_run(r, run)}\nLog of the failed step:\n{log}"

    @tool(response_format="content_and_artifact")
    def retry_failed_run(run_id: int) -> tuple[str, dict[str, str]]:
        """Retry a failed pipeline run by run number, resuming from the step that failed."""
        r = runner()
        try:
            return _outcome(r, r.retry(run_id))
        except PipelineError as exc:
            return failed(str(exc))

    @tool(response_format="content_and_artifact")
    def retry_last_failure() -> tuple[str, dict[str, str]]:
        """Retry the most recent failed pipeline run again from its failed step."""
        r = runner()
        run = r.last_failed_run()
        if run is None:
            return succeeded("Nothing to retry: no failed pipeline runs need attention.")
        return _outcome(r, r.retry(run["id"]))

    @tool
    def schedule_pipeline(pipeline: str, time_of_day: str) -> str:
        """Schedule a pipeline to run every day at a time of day (e.g. 'nightly backup at 2am')."""
        spec = pick(pipeline)
        at = parse_time_of_day(time_of_day)
        with runner().db() as conn, conn:
            conn.execute(
                "INSERT INTO schedules(pipeline, time_of_day, created_at) VALUES (?,?,?) "
                "ON CONFLICT(pipeline) DO UPDATE SET time_of_day=excluded.time_of_day",
                (spec.name, at, datetime.now(UTC).isoformat(timespec="seconds")),
            )
        return f"Scheduled {spec.name} daily at {at} UTC (run due schedules to execute them)."

    @tool
    def list_schedules() -> str:
        """List the scheduled (recurring) pipeline runs and when each last ran."""
        with runner().db() as conn:
            rows = conn.execute("SELECT * FROM schedules ORDER BY time_of_day").fetchall()
        if not rows:
            return "No pipelines are scheduled."
        return "\n".join(
            f"{r['pipeline']}: daily at {r['time_of_day']} UTC, last run {r['last_run_on'] or '-'}"
            for r in rows
        )

    @tool(response_format="content_and_artifact")
    def run_due_pipelines() -> tuple[str, dict[str, str]]:
        """Run the scheduled pipelines that are due now and have not run today."""
        now = datetime.now(UTC)
        today, clock = now.date().isoformat(), now.strftime("%H:%M")
        r = runner()
        with r.db() as conn:
            due = conn.execute(
                "SELECT pipeline FROM schedules WHERE time_of_day<=? "
                "AND (last_run_on IS NULL OR last_run_on<?) ORDER BY time_of_day",
                (clock, today),
            ).fetchall()
        if not due:
            return succeeded(f"No scheduled pipelines are due at {clock} UTC.")
        out, any_failed = [], False
        for row in due:
            text, artifact = run_named(row["pipeline"], trigger="schedule")
            out.append(text)
            any_failed |= artifact["status"] == "failed"
            with r.db() as conn, conn:
                conn.execute(
                    "UPDATE schedules SET last_run_on=? WHERE pipeline=?", (today, row["pipeline"])
                )
        return (failed if any_failed else succeeded)("\n".join(out))

    site_specs = [p for p in pipelines.values() if p.site]

    @tool(response_format="content_and_artifact")
    def deploy_site(site: str) -> tuple[str, dict[str, str]]:
        """Deploy (build, link-check and publish) a client website such as Find a Sign."""
        return run_named(pick(site, only=site_specs).name)

    @tool
    def list_client_sites() -> str:
        """List the client websites that can be deployed, and where each is published."""
        out = []
        for p in site_specs:
            public = ctx.data_dir / "sites" / str(p.site) / "public" / "manifest.json"
            when = json.loads(public.read_text())["published"] if public.exists() else "never"
            out.append(f"{p.site}: {p.description} Last published: {when}.")
        return "\n".join(out) + f"\nKnown site sources: {', '.join(known_sites())}"

    @tool(response_format="content_and_artifact")
    def import_parts_feed() -> tuple[str, dict[str, str]]:
        """Import the Sweeper Parts supplier stock feed CSV into the ERP (fetch, validate, load)."""
        return run_named("sweeper_parts_import")

    @tool
    def preview_parts_feed() -> str:
        """Preview the supplier stock feed CSV waiting in the inbox before importing it."""
        try:
            path = inbox_file(ctx.data_dir, "parts_feed.csv")
        except StepFailed as exc:
            raise ToolError(str(exc)) from None
        if not path.exists():
            return f"No feed in {path.parent}; importing will write and use the demo supplier feed."
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        head = "\n".join(", ".join(r) for r in rows[:6])
        return f"{path.name}: {max(len(rows) - 1, 0)} data rows. First lines:\n{head}"

    @tool(response_format="content_and_artifact")
    def backup_now() -> tuple[str, dict[str, str]]:
        """Back up the databases now (ERP and pipeline history) and verify the backup copies."""
        return run_named("nightly_backup")

    @tool
    def list_backups() -> str:
        """List the database backup files with their sizes, newest first."""
        folder = ctx.data_dir / "backups"
        files = sorted(folder.glob("*.sqlite"), key=lambda p: p.name, reverse=True)
        if not files:
            return "No backups yet; run a backup first."
        return "\n".join(f"{p.name} ({p.stat().st_size} bytes)" for p in files[:20])

    @tool(response_format="content_and_artifact")
    def run_test_suite() -> tuple[str, dict[str, str]]:
        """Run the CI test suite (ERP data integrity tests) and report passes and failures."""
        return run_named("erp_data_tests")

    @tool
    def latest_test_failures() -> str:
        """Triage the latest CI test report: which tests failed and how many rows offend."""
        path = ctx.data_dir / "test_reports" / "erp_integrity.json"
        if not path.exists():
            return "No test report yet; run the test suite first."
        report = json.loads(path.read_text())
        failed = [r for r in report["results"] if not r["passed"]]
        head = f"Suite {report['suite']} (run {report['run_id']}, {report['at']}): "
        if not failed:
            return head + f"all {len(report['results'])} tests passed."
        return head + "; ".join(f"FAILED {r['test']} ({r['offending_rows']} rows)" for r in failed)

    writes(run_pipeline, action="run the pipeline matching {pipeline!r}")
    writes(retry_failed_run, action="retry failed pipeline run {run_id}")
    writes(retry_last_failure, action="retry the most recent failed pipeline run")
    writes(schedule_pipeline, action="schedule {pipeline!r} daily at {time_of_day!r}")
    writes(run_due_pipelines, action="run every scheduled pipeline that is due now")
    writes(deploy_site, action="deploy (publish) the website matching {site!r}")
    writes(import_parts_feed, action="import the supplier feed into ERP stock levels")
    writes(backup_now, action="back up the databases now")
    writes(run_test_suite, action="run the CI test suite (records a run and a report)")
    return [
        list_pipelines, run_pipeline, pipeline_status, list_pipeline_runs, run_logs,
        last_failure_log, retry_failed_run, retry_last_failure, schedule_pipeline,
        list_schedules, run_due_pipelines, deploy_site, list_client_sites,
        import_parts_feed, preview_parts_feed, backup_now, list_backups,
        run_test_suite, latest_test_failures,
    ]  # fmt: skip
