"""The local pipeline runner: declared pipelines, runs and step logs recorded in SQLite."""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from nova_app.tools.pipelines.steps import SOURCE_STEPS, STEPS, Step, StepFailed, StepRun
from nova_graph.errors import PipelineError
from nova_graph.private import private_dir
from nova_graph.tools.private_db import open_private_db

PIPELINES_DB = "pipelines.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, pipeline TEXT NOT NULL, status TEXT NOT NULL,
    trigger TEXT NOT NULL, retry_of INTEGER, start_step INTEGER NOT NULL DEFAULT 0,
    started_at TEXT NOT NULL, finished_at TEXT, summary TEXT);
CREATE TABLE IF NOT EXISTS step_runs (
    run_id INTEGER NOT NULL REFERENCES runs(id), idx INTEGER NOT NULL, step TEXT NOT NULL,
    status TEXT NOT NULL, started_at TEXT, finished_at TEXT, log TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, idx));
CREATE TABLE IF NOT EXISTS schedules (
    pipeline TEXT PRIMARY KEY, time_of_day TEXT NOT NULL, created_at TEXT NOT NULL,
    last_run_on TEXT);
"""
_ACTIVE: set[tuple[str, int]] = set()  # (database, run id) of the runs this process is executing
_ACTIVE_LOCK = threading.Lock()
_PASSED = ("succeeded", "skipped")


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


class StepSpec(BaseModel):
    """One step of a pipeline: an allow-listed function and its parameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    step: str
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("step")
    @classmethod
    def _allowed(cls, value: str) -> str:
        if value not in STEPS:
            raise ValueError(f"step {value!r} is not in the allow-list {sorted(STEPS)}")
        return value


class PipelineSpec(BaseModel):
    """A declared pipeline: a name, what it is for, and its ordered steps."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")
    description: str = Field(min_length=3)
    business: str = "all"
    site: str | None = None
    steps: list[StepSpec] = Field(min_length=1)


def load_pipelines(path: str | Path | None = None) -> dict[str, PipelineSpec]:
    """Load and validate the pipeline declarations (the packaged file when ``path`` is None).

    The packaged file cannot change while the process runs, so it is parsed once; each call
    still returns its own dict of deep copies (a caller's edits never leak into the next call).
    """
    if path is None:
        return {name: spec.model_copy(deep=True) for name, spec in _packaged().items()}
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise PipelineError(f"cannot read pipeline file {path}: {exc}") from None
    return _parse(text)


@functools.cache
def _packaged() -> dict[str, PipelineSpec]:
    return _parse(resources.files("nova_app.data").joinpath("pipelines.yaml").read_text("utf-8"))


def _parse(text: str) -> dict[str, PipelineSpec]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PipelineError(f"the pipeline file is not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("pipelines"), list):
        raise PipelineError("a pipeline file must be a mapping with a 'pipelines' list")
    out: dict[str, PipelineSpec] = {}
    for raw in data["pipelines"]:
        try:
            spec = PipelineSpec.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(e["msg"] for e in exc.errors())
            raise PipelineError(f"invalid pipeline {raw!r:.60}: {problems}") from None
        if spec.name in out:
            raise PipelineError(f"two pipelines are named {spec.name!r}; names must be unique")
        out[spec.name] = spec
    return out


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class PipelineRunner:
    """Runs declared pipelines step by step and records every run in ``pipelines.sqlite``."""

    def __init__(
        self,
        data_dir: Path,
        pipelines: Mapping[str, PipelineSpec] | None = None,
        *,
        steps: Mapping[str, Step] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.pipelines = dict(pipelines) if pipelines is not None else load_pipelines()
        self._steps = dict(steps) if steps is not None else STEPS
        self._checked = False
        for spec in self.pipelines.values():
            for s in spec.steps:
                if s.step not in self._steps:
                    raise PipelineError(
                        f"pipeline {spec.name!r} names step {s.step!r}, which is not allow-listed"
                    )

    @contextmanager
    def db(self) -> Iterator[sqlite3.Connection]:
        """A connection to the run store (created with mode 0o600 on first use)."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open_private_db(self.data_dir / PIPELINES_DB, _SCHEMA) as conn:
            if not self._checked:
                self._checked = True
                with conn:
                    self._prepare(conn)
            yield conn

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """Add the owner column to older stores, then fail runs whose process is gone."""
        columns = {r["name"] for r in conn.execute("PRAGMA table_info(runs)")}
        if "owner_pid" not in columns:
            conn.execute("ALTER TABLE runs ADD COLUMN owner_pid INTEGER")
        for run in conn.execute("SELECT id, owner_pid FROM runs WHERE status='running'").fetchall():
            if self._still_running(run["id"], run["owner_pid"]):
                continue
            who = f"its process (pid {run['owner_pid']})" if run["owner_pid"] else "its process"
            conn.execute(
                "UPDATE step_runs SET status='failed', finished_at=?, "
                "log=log || 'INTERRUPTED: the run stopped during this step' "
                "WHERE run_id=? AND status='running'",
                (_now(), run["id"]),
            )
            conn.execute(
                "UPDATE runs SET status='failed', finished_at=?, summary=? WHERE id=?",
                (
                    _now(),
                    f"interrupted: {who} stopped before the run finished; retry run "
                    f"{run['id']} to continue from the step it stopped in",
                    run["id"],
                ),
            )

    def _still_running(self, run_id: int, pid: int | None) -> bool:
        if pid is None:
            return False  # recorded before runs had owners: no process can still own it
        if pid == os.getpid():
            with _ACTIVE_LOCK:
                return (self._db_key, run_id) in _ACTIVE
        return _process_alive(pid)

    @property
    def _db_key(self) -> str:
        return str((self.data_dir / PIPELINES_DB).resolve())

    def spec(self, name: str) -> PipelineSpec:
        """The pipeline called ``name``."""
        try:
            return self.pipelines[name]
        except KeyError:
            raise PipelineError(
                f"no pipeline named {name!r}; known pipelines: {sorted(self.pipelines)}"
            ) from None

    def run(self, name: str, *, trigger: str = "manual") -> sqlite3.Row:
        """Run pipeline ``name`` from its first step; return the finished run record."""
        spec = self.spec(name)
        with self.db() as conn, conn:
            cur = conn.execute(
                "INSERT INTO runs(pipeline, status, trigger, started_at, owner_pid) "
                "VALUES (?,?,?,?,?)",
                (name, "running", trigger, _now(), os.getpid()),
            )
            run_id = int(cur.lastrowid or 0)
        return self._execute(spec, run_id, start=0)

    def retry(self, run_id: int) -> sqlite3.Row:
        """Start a new run of a failed (or interrupted) run's pipeline from the step that
        failed or was interrupted; the steps before it are not run again."""
        old = self.run_record(run_id)
        if old["status"] != "failed":
            raise PipelineError(
                f"run {run_id} is {old['status']}, not failed; only failed runs can be retried"
            )
        with self.db() as conn:
            passed = {
                int(r["idx"])
                for r in conn.execute(
                    "SELECT idx, status FROM step_runs WHERE run_id=?", (run_id,)
                ).fetchall()
                if r["status"] in _PASSED
            }
        spec = self.spec(old["pipeline"])
        start = next((i for i in range(len(spec.steps)) if i not in passed), 0)
        with self.db() as conn, conn:
            cur = conn.execute(
                "INSERT INTO runs(pipeline, status, trigger, retry_of, start_step, started_at, "
                "owner_pid) VALUES (?,?,?,?,?,?,?)",
                (spec.name, "running", "retry", run_id, start, _now(), os.getpid()),
            )
            new_id = int(cur.lastrowid or 0)
        return self._execute(spec, new_id, start=start, earlier_run=run_id)

    def _execute(
        self, spec: PipelineSpec, run_id: int, *, start: int, earlier_run: int | None = None
    ) -> sqlite3.Row:
        key = (self._db_key, run_id)
        with _ACTIVE_LOCK:
            _ACTIVE.add(key)
        try:
            return self._execute_steps(spec, run_id, start=start, earlier_run=earlier_run)
        finally:
            with _ACTIVE_LOCK:
                _ACTIVE.discard(key)

    def _execute_steps(
        self, spec: PipelineSpec, run_id: int, *, start: int, earlier_run: int | None
    ) -> sqlite3.Row:
        workspace = self.data_dir / "workspace" / spec.name
        private_dir(workspace)
        status, summary = "succeeded", ""
        for idx, step in enumerate(spec.steps):
            if idx < start and step.step not in SOURCE_STEPS:
                self._record(run_id, idx, step.step, "skipped", f"passed in run {earlier_run}")
                continue
            started = _now()
            self._record(run_id, idx, step.step, "running", "", started)
            ctx = StepRun(self.data_dir, workspace, dict(step.params), run_id)
            try:
                summary = self._steps[step.step](ctx)
                self._record(run_id, idx, step.step, "succeeded", "\n".join(ctx.lines), started)
            except StepFailed as exc:
                ctx.log(f"FAILED: {exc}")
                status, summary = "failed", f"step {idx + 1} ({step.step}) failed: {exc}"
            except Exception as exc:  # a bug or I/O error in a step: record it, don't crash
                ctx.log(f"ERROR: {type(exc).__name__}: {exc}")
                ctx.log(traceback.format_exc(limit=3))
                status, summary = "failed", f"step {idx + 1} ({step.step}) errored: {exc}"
            if status == "failed":
                self._record(run_id, idx, step.step, "failed", "\n".join(ctx.lines), started)
                for later in range(idx + 1, len(spec.steps)):
                    self._record(run_id, later, spec.steps[later].step, "not run", "")
                break
        with self.db() as conn, conn:
            conn.execute(
                "UPDATE runs SET status=?, finished_at=?, summary=? WHERE id=?",
                (status, _now(), summary, run_id),
            )
        return self.run_record(run_id)

    def _record(
        self, run_id: int, idx: int, step: str, status: str, log: str, started: str | None = None
    ) -> None:
        with self.db() as conn, conn:
            conn.execute(
                "INSERT OR REPLACE INTO step_runs VALUES (?,?,?,?,?,?,?)",
                (run_id, idx, step, status, started, _now() if started else None, log),
            )

    def run_record(self, run_id: int) -> sqlite3.Row:
        """The stored record of run ``run_id``."""
        with self.db() as conn:
            row = conn.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise PipelineError(f"there is no pipeline run {run_id}; list recent runs first")
        return row

    def step_records(self, run_id: int) -> list[sqlite3.Row]:
        """The step records of run ``run_id`` in order."""
        with self.db() as conn:
            return conn.execute(
                "SELECT * FROM step_runs WHERE run_id=? ORDER BY idx", (run_id,)
            ).fetchall()

    def recent_runs(self, pipeline: str | None = None, limit: int = 10) -> list[sqlite3.Row]:
        """The newest runs, of one pipeline or of all."""
        with self.db() as conn:
            return conn.execute(
                "SELECT * FROM runs WHERE (? IS NULL OR pipeline=?) ORDER BY id DESC LIMIT ?",
                (pipeline, pipeline, limit),
            ).fetchall()

    def last_failed_run(self) -> sqlite3.Row | None:
        """The newest failed run that has not been retried successfully, if any."""
        with self.db() as conn:
            return conn.execute(
                "SELECT * FROM runs r WHERE status='failed' AND NOT EXISTS (SELECT 1 FROM runs "
                "n WHERE n.retry_of=r.id AND n.status='succeeded') ORDER BY id DESC LIMIT 1"
            ).fetchone()
