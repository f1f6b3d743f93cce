"""The pipeline runner and tools: real runs, a deterministic failure, retry from the failed step."""

from __future__ import annotations

from pathlib import Path

import pytest

from nova_app.tools.pipelines import PipelineRunner, PipelineSpec, load_pipelines
from nova_app.tools.pipelines.tools import make_tools, parse_time_of_day
from nova_graph.errors import PipelineError
from nova_graph.tools.context import ToolContext


def _tools(d: Path) -> dict:
    return {t.name: t for t in make_tools(ToolContext(data_dir=d))}


def test_findasign_deploy_fails_at_check_links_until_the_page_exists(tmp_path: Path) -> None:
    runner = PipelineRunner(tmp_path)
    run = runner.run("findasign_site_deploy")
    steps = [(s["step"], s["status"]) for s in runner.step_records(run["id"])]
    assert run["status"] == "failed"
    assert steps == [
        ("lint_pages", "succeeded"),
        ("check_links", "failed"),
        ("build_site", "not run"),
        ("publish_site", "not run"),
    ]


def test_retry_resumes_from_the_failed_step_after_the_fix(tmp_path: Path) -> None:
    runner = PipelineRunner(tmp_path)
    failed = runner.run("findasign_site_deploy")
    (tmp_path / "sites/findasign/src/pricing.md").write_text("# Pricing\n[Home](index.html)\n")
    retry = runner.retry(failed["id"])
    steps = [(s["step"], s["status"]) for s in runner.step_records(retry["id"])]
    assert retry["status"] == "succeeded" and retry["retry_of"] == failed["id"]
    assert steps[0] == ("lint_pages", "skipped")
    assert (tmp_path / "sites/findasign/public/pricing.html").exists()


def test_retry_of_a_successful_run_is_refused(tmp_path: Path) -> None:
    runner = PipelineRunner(tmp_path)
    ok = runner.run("harbour_bakery_site_deploy")
    with pytest.raises(PipelineError, match="only failed runs"):
        runner.retry(ok["id"])


def test_pipeline_file_naming_a_step_outside_the_allow_list_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("pipelines:\n  - {name: evil, description: x y z, steps: [{step: os_system}]}\n")
    with pytest.raises(PipelineError, match="allow-list"):
        load_pipelines(bad)


def test_runner_refuses_steps_missing_from_its_registry(tmp_path: Path) -> None:
    spec = load_pipelines()["nightly_backup"]
    with pytest.raises(PipelineError, match="not allow-listed"):
        PipelineRunner(tmp_path, {"nightly_backup": spec}, steps={})


def test_request_text_never_becomes_a_step(tmp_path: Path) -> None:
    from nova_graph.errors import ToolError

    with pytest.raises(ToolError, match="no pipeline matches"):
        _tools(tmp_path)["run_pipeline"].invoke({"pipeline": "rm -rf / ; run os.system"})
    assert not (tmp_path / "pipelines.sqlite").exists()


def test_pipeline_spec_requires_steps() -> None:
    with pytest.raises(ValueError):
        PipelineSpec(name="empty", description="no steps", steps=[])


def test_import_pipeline_loads_the_feed_into_erp_stock(tmp_path: Path) -> None:
    out = _tools(tmp_path)["import_parts_feed"].invoke({})
    assert "SUCCEEDED" in out and "updated stock of" in out
    preview = _tools(tmp_path)["preview_parts_feed"].invoke({})
    assert "sku, on_hand" in preview


def test_invalid_feed_row_fails_validation_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "inbox").mkdir(parents=True)
    (tmp_path / "inbox/parts_feed.csv").write_text("sku,on_hand\nSP-1001,5\nSP-9999,3\n")
    runner = PipelineRunner(tmp_path)
    run = runner.run("sweeper_parts_import")
    log = runner.step_records(run["id"])[1]["log"]
    assert run["status"] == "failed" and "line 3: unknown SKU 'SP-9999'" in log


def test_backup_tools_make_and_list_verified_backups(tmp_path: Path) -> None:
    tools = _tools(tmp_path)
    assert "verify_backup: succeeded" in tools["backup_now"].invoke({})
    assert "erp-" in tools["list_backups"].invoke({})


def test_test_suite_passes_on_demo_data_and_reports(tmp_path: Path) -> None:
    tools = _tools(tmp_path)
    assert "7 tests passed" in tools["run_test_suite"].invoke({})
    assert "all 7 tests passed" in tools["latest_test_failures"].invoke({})


def test_test_triage_names_a_failing_check(tmp_path: Path) -> None:
    import sqlite3

    tools = _tools(tmp_path)
    tools["run_test_suite"].invoke({})
    with sqlite3.connect(tmp_path / "erp.sqlite") as conn:
        conn.execute("UPDATE stock SET on_hand=-3 WHERE part_id=1")
    assert "FAILED" in tools["run_test_suite"].invoke({})
    assert "stock is never negative" in tools["latest_test_failures"].invoke({})


def test_status_logs_and_retry_tools_follow_a_failed_deploy(tmp_path: Path) -> None:
    tools = _tools(tmp_path)
    assert "never run" in tools["pipeline_status"].invoke({})
    assert "FAILED" in tools["deploy_site"].invoke({"site": "deploy the Find a Sign website"})
    assert "findasign_site_deploy failed" in tools["list_pipeline_runs"].invoke({})
    assert "broken link: index.md -> pricing.html" in tools["run_logs"].invoke({"run_id": 1})
    assert "pricing.md" in tools["last_failure_log"].invoke({})
    assert "FAILED" in tools["retry_failed_run"].invoke({"run_id": 1})
    (tmp_path / "sites/findasign/src/pricing.md").write_text("# Pricing\n")
    assert "SUCCEEDED" in tools["retry_last_failure"].invoke({})
    assert "Last published: 20" in tools["list_client_sites"].invoke({})


def test_list_and_run_pipelines_by_description(tmp_path: Path) -> None:
    tools = _tools(tmp_path)
    assert "nightly_backup" in tools["list_pipelines"].invoke({})
    out = tools["run_pipeline"].invoke({"pipeline": "run the harbour bakery website pipeline"})
    assert "of harbour_bakery_site_deploy: SUCCEEDED" in out


def test_schedules_are_stored_and_due_runs_execute(tmp_path: Path) -> None:
    tools = _tools(tmp_path)
    req = "schedule the nightly backup at 00:00"
    assert "daily at 00:00" in tools["schedule_pipeline"].invoke(
        {"pipeline": req, "time_of_day": req}
    )
    assert "nightly_backup: daily at 00:00" in tools["list_schedules"].invoke({})
    assert "nightly_backup" in tools["run_due_pipelines"].invoke({})
    assert "No scheduled pipelines are due" in tools["run_due_pipelines"].invoke({})


@pytest.mark.parametrize(("text", "expected"), [("at 2am", "02:00"), ("9 pm", "21:00")])
def test_time_of_day_parsing(text: str, expected: str) -> None:
    assert parse_time_of_day(text) == expected


def _feed(d: Path, text: str) -> None:
    (d / "inbox").mkdir(parents=True, exist_ok=True)
    (d / "inbox/parts_feed.csv").write_text(text, encoding="utf-8")


def _stock(d: Path, sku: str) -> int:
    import sqlite3

    with sqlite3.connect(d / "erp.sqlite") as conn:
        sql = "SELECT on_hand FROM stock WHERE part_id=(SELECT id FROM parts WHERE sku=?)"
        return int(conn.execute(sql, (sku,)).fetchone()[0])


@pytest.mark.parametrize("count", ["٣", "²", "3.0", "-1", "1e3"])
def test_feed_counts_must_be_ascii_whole_numbers(tmp_path: Path, count: str) -> None:
    _feed(tmp_path, f"sku,on_hand\nSP-1001,5\nSP-1002,{count}\n")
    runner = PipelineRunner(tmp_path)
    run = runner.run("sweeper_parts_import")
    log = runner.step_records(run["id"])[1]["log"]
    assert run["status"] == "failed" and f"line 3: on_hand {count!r}" in log
    assert _stock(tmp_path, "SP-1001") != 5  # nothing loaded


def test_duplicate_skus_fail_validation_instead_of_keeping_the_last(tmp_path: Path) -> None:
    _feed(tmp_path, "sku,on_hand\nSP-1001,5\nSP-1001,0\n")
    runner = PipelineRunner(tmp_path)
    run = runner.run("sweeper_parts_import")
    log = runner.step_records(run["id"])[1]["log"]
    assert run["status"] == "failed"
    assert "line 3: duplicate SKU 'SP-1001' (also on line 2)" in log
    assert _stock(tmp_path, "SP-1001") not in (0, 5)


def test_feed_symlinked_out_of_the_inbox_is_refused_by_preview_and_import(tmp_path: Path) -> None:
    from nova_graph.errors import ToolError

    secret = tmp_path / "outside" / "shadow"
    secret.parent.mkdir()
    secret.write_text("root:SECRET-HASH:19000\n")
    data = tmp_path / "data"
    (data / "inbox").mkdir(parents=True)
    (data / "inbox/parts_feed.csv").symlink_to(secret)
    with pytest.raises(ToolError, match="symbolic link") as err:
        _tools(data)["preview_parts_feed"].invoke({})
    assert "SECRET" not in str(err.value)
    runner = PipelineRunner(data)
    run = runner.run("sweeper_parts_import")
    logs = " ".join(s["log"] for s in runner.step_records(run["id"]))
    assert run["status"] == "failed" and "symbolic link" in logs and "SECRET" not in logs


def test_retry_after_fixing_the_inbox_validates_the_current_file(tmp_path: Path) -> None:
    _feed(tmp_path, "sku,on_hand\nSP-1001,5\nSP-9999,3\n")
    runner = PipelineRunner(tmp_path)
    failed = runner.run("sweeper_parts_import")
    assert failed["status"] == "failed"
    _feed(tmp_path, "sku,on_hand\nSP-1001,5\nSP-1002,3\n")
    retry = runner.retry(failed["id"])
    steps = [(s["step"], s["status"]) for s in runner.step_records(retry["id"])]
    assert retry["status"] == "succeeded", steps
    assert steps[0] == ("fetch_csv", "succeeded")  # refetched, not skipped
    assert (_stock(tmp_path, "SP-1001"), _stock(tmp_path, "SP-1002")) == (5, 3)
