"""The run log: every graph run (request, routing, agents, tools, answer, failures, latency) and
the feedback users give on it, in SQLite (``runs.sqlite`` under the data dir, user-only file).

``RunLog.record(state, latency_ms)`` stores one finished (or interrupted) turn;
``logged_invoke(graph, payload, config, runlog)`` runs a graph turn and records it;
``RunLog.add_feedback(run_id, "good" | "bad", should_be=...)`` adds what the user said.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from nova_graph.errors import NovaError, RunLogError
from nova_graph.private import private_dir, private_file
from nova_graph.reliability.redact import redact, scrub_exception

RUNLOG_FILE = "runs.sqlite"
MAX_COMMENT_CHARS = 2000
Verdict = Literal["good", "bad"]
RunStatus = Literal["ok", "failed", "out_of_scope", "interrupted", "waiting_approval", "error"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    thread_id TEXT,
    request TEXT NOT NULL,
    top_agent TEXT,
    status TEXT NOT NULL,
    latency_ms REAL NOT NULL,
    model_calls INTEGER NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    verdict TEXT NOT NULL,
    should_be TEXT,
    comment TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_run ON feedback(run_id);
"""


class ToolCallLog(BaseModel):
    """One tool call an agent made during a run."""

    name: str
    ok: bool
    args: dict[str, Any] = Field(default_factory=dict)
    output: str = ""
    latency_ms: float = 0.0


class ModelCallLog(BaseModel):
    """One model call an agent made: model, tokens in/out, money, latency."""

    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    latency_ms: float = 0.0


class AgentRunLog(BaseModel):
    """What one agent did during a run."""

    agent: str
    status: Literal["ok", "failed"]
    answer: str = ""
    tool_calls: list[ToolCallLog] = Field(default_factory=list)
    model_calls: int = 0
    latency_ms: float = 0.0
    model_call_log: list[ModelCallLog] = Field(default_factory=list)

    @property
    def input_tokens(self) -> int:
        """Input tokens over this agent's model calls."""
        return sum(c.input_tokens for c in self.model_call_log)

    @property
    def output_tokens(self) -> int:
        """Output tokens over this agent's model calls."""
        return sum(c.output_tokens for c in self.model_call_log)

    @property
    def cost(self) -> float:
        """Money over this agent's model calls."""
        return sum(c.cost for c in self.model_call_log)


class FailureLog(BaseModel):
    """An agent or tool failure recorded during a run."""

    agent: str
    error_type: str
    message: str


class Feedback(BaseModel):
    """A user's verdict on a run, optionally naming the agent that should have answered."""

    run_id: str
    verdict: Verdict
    should_be: str | None = None
    comment: str | None = None
    created_at: datetime


class RunRecord(BaseModel):
    """One recorded graph turn."""

    run_id: str
    created_at: datetime
    thread_id: str | None = None
    request: str
    decision: dict[str, Any] = Field(default_factory=dict)
    routes: list[str] = Field(default_factory=list)
    agents: list[AgentRunLog] = Field(default_factory=list)
    failures: list[FailureLog] = Field(default_factory=list)
    answer: str = ""
    status: RunStatus = "ok"
    pending: list[str] = Field(default_factory=list)
    latency_ms: float = 0.0
    model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    feedback: list[Feedback] = Field(default_factory=list)
    clarification: dict[str, Any] | None = Field(
        default=None, description="The clarifying question asked, its options and the answer."
    )

    @property
    def clarified_agent(self) -> str | None:
        """The agent the user chose when asked back: a labelled example for the improvement
        loop (``None`` when nothing was asked or the answer matched no option)."""
        chosen = (self.clarification or {}).get("chosen") or []
        return str(chosen[0]) if len(chosen) == 1 else None

    @property
    def top_agent(self) -> str | None:
        """The first routed agent (``None`` when the run was out of scope)."""
        return self.routes[0] if self.routes else None

    @property
    def correct_agent(self) -> str | None:
        """The agent the latest feedback says was right, if feedback settles it.

        ``good`` confirms the top route; ``bad --should-be X`` names X; plain ``bad`` says only
        that the top route was wrong (``None``). Without feedback, the user's answer to a
        clarifying question labels the run.
        """
        if not self.feedback:
            return self.clarified_agent
        last = self.feedback[-1]
        if last.verdict == "good":
            return self.top_agent
        return last.should_be


def default_runlog_path() -> Path:
    """``runs.sqlite`` in the user's nova_graph data directory."""
    from nova_graph.settings import default_data_dir

    return default_data_dir() / RUNLOG_FILE


class RunLog:
    """An SQLite log of graph runs and their feedback (one file, readable by the user only)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_runlog_path()
        self._init()

    # -- storage ------------------------------------------------------------------------------
    def _init(self) -> None:
        try:
            private_file(private_dir(self.path.parent) / self.path.name)
            with self._connect() as db:
                db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise RunLogError(
                f"cannot open the run log at {self.path}: {exc}; check the path and permissions "
                "or set NOVA_DATA_DIR to a writable directory"
            ) from None

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            with closing(sqlite3.connect(self.path, timeout=10)) as conn, conn:
                yield conn
        except sqlite3.DatabaseError as exc:
            raise RunLogError(f"the run log {self.path} is unusable: {exc}") from None

    # -- writing ------------------------------------------------------------------------------
    def record(
        self,
        state: Mapping[str, Any],
        latency_ms: float,
        *,
        thread_id: str | None = None,
        run_id: str | None = None,
        error: BaseException | None = None,
        request: str | None = None,
    ) -> str:
        """Store one graph turn from its final ``state``; returns the new run id."""
        record = record_from_state(
            state, latency_ms, thread_id=thread_id, run_id=run_id, error=error, request=request
        )
        self.add(record)
        return record.run_id

    def add(self, record: RunRecord) -> None:
        """Store an already-built :class:`RunRecord` (its feedback is stored too)."""
        body = record.model_dump(mode="json", exclude={"feedback"})
        with self._connect() as db:
            try:
                db.execute(
                    "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        record.run_id,
                        record.created_at.isoformat(),
                        record.thread_id,
                        record.request,
                        record.top_agent,
                        record.status,
                        record.latency_ms,
                        record.model_calls,
                        json.dumps(body),
                    ),
                )
            except sqlite3.IntegrityError:
                raise RunLogError(
                    f"run id {record.run_id!r} is already in the run log; use a new id"
                ) from None
            for fb in record.feedback:
                self._insert_feedback(db, fb)

    def add_feedback(
        self,
        run_id: str,
        verdict: str,
        *,
        should_be: str | None = None,
        comment: str | None = None,
        known_agents: list[str] | None = None,
    ) -> Feedback:
        """Attach the user's verdict on run ``run_id``; ``should_be`` names the right agent."""
        if verdict not in ("good", "bad"):
            raise RunLogError(f"feedback must be 'good' or 'bad', got {verdict!r}")
        if should_be is not None:
            should_be = should_be.strip()
            if verdict == "good":
                raise RunLogError(
                    "--should-be only makes sense with 'bad' feedback: a good run already went "
                    "to the right agent"
                )
            if not should_be:
                raise RunLogError("--should-be needs an agent name")
            if known_agents is not None and should_be not in known_agents:
                raise RunLogError(
                    f"no agent named {should_be!r}; pick one of: {', '.join(known_agents)}"
                )
        if comment is not None and len(comment) > MAX_COMMENT_CHARS:
            raise RunLogError(
                f"the comment is {len(comment)} characters, over the limit of "
                f"{MAX_COMMENT_CHARS}; shorten it"
            )
        fb = Feedback(
            run_id=run_id,
            verdict=verdict,  # type: ignore[arg-type]
            should_be=should_be,
            comment=comment or None,
            created_at=datetime.now(UTC),
        )
        with self._connect() as db:
            if db.execute("SELECT 1 FROM runs WHERE run_id=?", (run_id,)).fetchone() is None:
                raise RunLogError(
                    f"no run {run_id!r} in the run log {self.path}; copy the run id printed by "
                    "`nova ask`"
                )
            self._insert_feedback(db, fb)
        return fb

    @staticmethod
    def _insert_feedback(db: sqlite3.Connection, fb: Feedback) -> None:
        db.execute(
            "INSERT INTO feedback (run_id, verdict, should_be, comment, created_at) "
            "VALUES (?,?,?,?,?)",
            (fb.run_id, fb.verdict, fb.should_be, fb.comment, fb.created_at.isoformat()),
        )

    # -- reading ------------------------------------------------------------------------------
    def get(self, run_id: str) -> RunRecord:
        """The run ``run_id`` with its feedback."""
        with self._connect() as db:
            row = db.execute("SELECT record FROM runs WHERE run_id=?", (run_id,)).fetchone()
            if row is None:
                raise RunLogError(f"no run {run_id!r} in the run log {self.path}")
            fbs = self._feedback(db, run_id)
        return RunRecord.model_validate({**json.loads(row[0]), "feedback": fbs})

    def runs(
        self, *, limit: int | None = None, with_feedback_only: bool = False
    ) -> list[RunRecord]:
        """Recorded runs, oldest first (the latest ``limit`` when given)."""
        sql = "SELECT record, run_id FROM runs"
        if with_feedback_only:
            sql += " WHERE run_id IN (SELECT run_id FROM feedback)"
        sql += " ORDER BY created_at, rowid"
        with self._connect() as db:
            rows = db.execute(sql).fetchall()
            if limit is not None:
                rows = rows[-limit:] if limit > 0 else []
            fb_rows = db.execute(
                "SELECT run_id, verdict, should_be, comment, created_at FROM feedback ORDER BY id"
            ).fetchall()
        by_run: dict[str, list[dict[str, Any]]] = {}
        for r in fb_rows:
            by_run.setdefault(r[0], []).append(_feedback_row(r))
        return [
            RunRecord.model_validate({**json.loads(rec), "feedback": by_run.get(rid, [])})
            for rec, rid in rows
        ]

    def __len__(self) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    @staticmethod
    def _feedback(db: sqlite3.Connection, run_id: str) -> list[dict[str, Any]]:
        rows = db.execute(
            "SELECT run_id, verdict, should_be, comment, created_at FROM feedback "
            "WHERE run_id=? ORDER BY id",
            (run_id,),
        ).fetchall()
        return [_feedback_row(r) for r in rows]


def _feedback_row(r: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "run_id": r[0],
        "verdict": r[1],
        "should_be": r[2],
        "comment": r[3],
        "created_at": r[4],
    }


def new_run_id() -> str:
    """A short random run id (12 hex characters)."""
    return uuid.uuid4().hex[:12]


def record_from_state(
    state: Mapping[str, Any],
    latency_ms: float,
    *,
    thread_id: str | None = None,
    run_id: str | None = None,
    error: BaseException | None = None,
    request: str | None = None,
) -> RunRecord:
    """Build a :class:`RunRecord` from a graph turn's final state (pure; nothing stored)."""
    if not isinstance(state, Mapping):
        raise RunLogError(f"a run state must be a mapping, got {type(state).__name__}")
    if not isinstance(latency_ms, int | float) or latency_ms < 0:
        raise RunLogError(f"latency_ms must be a non-negative number, got {latency_ms!r}")
    text = state.get("request") or request
    if not isinstance(text, str) or not text.strip():
        text = _last_user_text(state) or ""
    if not text:
        raise RunLogError("the run has no request text; record runs after the supervisor ran")
    results = state.get("results") or {}
    agents = [
        AgentRunLog(
            agent=name,
            # a tool that failed (a TOOL ERROR, a failed pipeline) fails its agent's part
            status="failed"
            if res.get("status") == "failed"
            or any(not c.get("ok", True) for c in res.get("tool_calls", []))
            else "ok",
            answer=str(res.get("answer", "")),
            tool_calls=[
                ToolCallLog(
                    name=str(c.get("name", "?")),
                    ok=bool(c.get("ok", True)),
                    args=dict(c.get("args") or {}),
                    output=str(c.get("output", ""))[:4000],
                    latency_ms=float(c.get("latency_ms", 0.0)),
                )
                for c in res.get("tool_calls", [])
            ],
            model_calls=int(res.get("model_calls", 0)),
            latency_ms=float(res.get("latency_ms", 0.0)),
            model_call_log=[ModelCallLog.model_validate(c) for c in res.get("model_call_log", [])],
        )
        for name, res in results.items()
    ]
    failures = [
        FailureLog(
            agent=str(f.get("agent", "?")),
            error_type=str(f.get("error_type", "?")),
            message=redact(str(f.get("message", ""))),
        )
        for f in state.get("failures") or []
    ]
    routes = list(state.get("routes") or [])
    if error is not None:
        failures.append(
            FailureLog(agent="graph", error_type=type(error).__name__, message=redact(str(error)))
        )
    pending = [_question(i) for i in state.get("__interrupt__") or []]
    status: RunStatus
    if error is not None:
        status = "error"
    elif pending:
        approval = any(_interrupt_type(i) == "approval" for i in state["__interrupt__"])
        status = "waiting_approval" if approval else "interrupted"
    elif failures or any(a.status == "failed" for a in agents):
        status = "failed"
    elif not routes:
        status = "out_of_scope"
    else:
        status = "ok"
    model_calls = int(state.get("routing_model_calls") or 0) + sum(a.model_calls for a in agents)
    return RunRecord(
        run_id=run_id or new_run_id(),
        created_at=datetime.now(UTC),
        thread_id=thread_id,
        request=text,
        decision=dict(state.get("decision") or {}),
        routes=routes,
        agents=agents,
        failures=failures,
        answer="" if pending else _final_answer(state),
        status=status,
        pending=pending,
        latency_ms=float(latency_ms),
        model_calls=model_calls,
        input_tokens=sum(a.input_tokens for a in agents),
        output_tokens=sum(a.output_tokens for a in agents),
        cost=sum(a.cost for a in agents),
        clarification=state.get("clarification"),
    )


def _interrupt_type(item: Any) -> str | None:
    value = getattr(item, "value", item)
    return value.get("type") if isinstance(value, Mapping) else None


def _question(item: Any) -> str:
    """The question a pending interrupt asks the user."""
    value = getattr(item, "value", item)
    if isinstance(value, Mapping) and "question" in value:
        return str(value["question"])
    return str(value)


def _last_user_text(state: Mapping[str, Any]) -> str | None:
    from langchain_core.messages import HumanMessage

    for m in reversed(state.get("messages") or []):
        if isinstance(m, HumanMessage):
            return str(m.content)
    return None


def _final_answer(state: Mapping[str, Any]) -> str:
    messages = state.get("messages") or []
    if not messages:
        return ""
    content = getattr(messages[-1], "content", "")
    return content if isinstance(content, str) else json.dumps(content)


def logged_invoke(
    graph: Any, payload: Any, config: Mapping[str, Any], runlog: RunLog
) -> tuple[dict[str, Any], str]:
    """Run one graph turn and record it; returns ``(final state, run id)``.

    A graph error is recorded as a failed run (status ``error``) and then re-raised; typed
    nova_graph errors on bad input (raised before anything ran) are re-raised unrecorded.
    """
    from nova_graph.tracing import mark_failed, request_span, run_attributes

    thread_id = (config.get("configurable") or {}).get("thread_id")
    with request_span(thread_id) as span:
        state, record = _invoke_and_record(graph, payload, config, runlog, thread_id)
        if span is not None:
            span.set_attributes(run_attributes(record))
            if record.status in ("failed", "error"):
                mark_failed(span, record.status)
    return state, record.run_id


def _invoke_and_record(
    graph: Any, payload: Any, config: Mapping[str, Any], runlog: RunLog, thread_id: str | None
) -> tuple[dict[str, Any], RunRecord]:
    started = time.perf_counter()
    try:
        state = graph.invoke(payload, config)
    except NovaError:
        raise
    except Exception as exc:
        scrub_exception(exc)  # the run log and the caller see no secret the error carried
        latency = (time.perf_counter() - started) * 1000
        request = _payload_text(payload)
        if request:
            runlog.record({}, latency, thread_id=thread_id, error=exc, request=request)
        raise
    latency = (time.perf_counter() - started) * 1000
    record = record_from_state(state, latency, thread_id=thread_id)
    runlog.add(record)
    return state, record


def _payload_text(payload: Any) -> str | None:
    if isinstance(payload, Mapping):
        for m in reversed(payload.get("messages") or []):
            if isinstance(m, Mapping) and m.get("role") in ("user", "human"):
                return str(m.get("content", ""))
            if hasattr(m, "content"):
                return str(m.content)
    return None
