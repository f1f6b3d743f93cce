"""A pipeline killed mid-run is marked failed on the next start and resumes where it stopped."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from nova_app.tools.pipelines.runner import PipelineRunner

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, {root!r})
    from pathlib import Path
    from nova_app.tools.pipelines.runner import PipelineRunner
    from nova_app.tools.pipelines.steps import STEPS

    def killed(ctx):
        os.kill(os.getpid(), signal.SIGKILL)  # kill -9 in the middle of the third step

    runner = PipelineRunner(Path({data_dir!r}), steps={{**STEPS, "verify_backup": killed}})
    runner.run("nightly_backup")
    """
)


def test_a_killed_run_is_failed_on_next_start_and_retry_resumes_at_its_step(
    tmp_path: Path,
) -> None:
    root = Path(__file__).resolve().parent.parent
    data_dir = tmp_path / "data"
    child = subprocess.run(
        [sys.executable, "-c", CHILD.format(root=str(root), data_dir=str(data_dir))],
        cwd=root,
        timeout=120,
        capture_output=True,
        text=True,
    )
    assert child.returncode == -9, child.stderr

    runner = PipelineRunner(data_dir)
    run = runner.recent_runs("nightly_backup")[0]
    assert run["status"] == "failed"
    assert "interrupted" in run["summary"]
    steps = [s["status"] for s in runner.step_records(run["id"])]
    assert steps == ["succeeded", "succeeded", "failed"]

    retried = runner.retry(run["id"])
    assert retried["status"] == "succeeded"
    assert retried["start_step"] == 2  # not from scratch
    assert [s["status"] for s in runner.step_records(retried["id"])] == [
        "skipped",
        "skipped",
        "succeeded",
        "succeeded",
    ]


def test_a_run_in_progress_in_this_process_is_not_taken_for_stale(tmp_path: Path) -> None:
    seen: list[str] = []

    def look(ctx: object) -> str:
        other = PipelineRunner(tmp_path)  # a second runner starting while this run is going
        seen.append(other.recent_runs("nightly_backup")[0]["status"])
        return "looked"

    from nova_app.tools.pipelines.steps import STEPS

    runner = PipelineRunner(tmp_path, steps={**STEPS, "verify_backup": look})
    assert runner.run("nightly_backup")["status"] == "succeeded"
    assert seen == ["running"]
