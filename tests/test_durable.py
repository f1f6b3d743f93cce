"""Durable runs: SQLite by default, kill -9 and resume, no re-runs; secrets and file modes."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import stat
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage
from langgraph.types import Command, interrupt

from nova_app import build_nova_graph
from nova_graph.checkpoint import NovaSqliteSaver, sqlite_checkpointer
from nova_graph.models import OfflineChatModel, default_model
from nova_graph.reliability import ReliabilityPolicy
from nova_graph.roster import Roster
from nova_graph.routing.decision import ClauseRoute, RouteDecision
from nova_graph.testing import FunctionChatModel, TableRouter
from tests.durable_worker import kill_and_resume

MULTI_Q = "what time is it, and also count the words: alpha beta gamma"
CLOCK_Q = "what time is it"
TABLE = {
    CLOCK_Q: RouteDecision(agents=["clock"]),
    MULTI_Q: RouteDecision(
        agents=["clock", "words"],
        clauses=[
            ClauseRoute(text="what time is it", agent="clock", score=0.9),
            ClauseRoute(text="count the words: alpha beta gamma", agent="words", score=0.9),
        ],
    ),
}
PROMPT_AGENT = {"You tell the time.": "clock", "You analyse text.": "words"}
SENTINEL = "sk-SENTINEL-do-not-leak-0123456789"


@pytest.mark.parametrize("repetition", [1, 2])
def test_kill_9_mid_run_then_resume_in_new_process_completes_without_loss_or_duplicates(
    tmp_path: Path, repetition: int
) -> None:
    outcome = kill_and_resume(tmp_path)
    assert outcome["checks"] == {k: True for k in outcome["checks"]}, outcome["log"]


def test_completed_parallel_agent_is_not_rerun_when_the_run_resumes(
    small_roster: Roster, data_dir: Path
) -> None:
    runs: dict[str, int] = {"clock": 0, "words": 0}
    lock = threading.Lock()

    def reply(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> str:
        agent = PROMPT_AGENT[str(messages[0].content)]
        with lock:
            runs[agent] += 1
        if agent == "words":
            approval = interrupt({"type": "approval", "question": "count them?"})
            return f"words answer ({approval})"
        return "clock answer"

    graph = build_nova_graph(
        roster=small_roster,
        router=TableRouter(TABLE),
        model=FunctionChatModel(fn=reply),
        data_dir=data_dir,
    )
    config: Any = {"configurable": {"thread_id": "resume-no-rerun"}}
    first = graph.invoke({"messages": [{"role": "user", "content": MULTI_Q}]}, config)
    assert first["__interrupt__"][0].value["type"] == "approval"
    assert runs == {"clock": 1, "words": 1}
    state = graph.invoke(Command(resume="yes"), config)
    assert runs == {"clock": 1, "words": 2}  # words re-ran to the answer; clock did not
    assert state["results"]["clock"]["status"] == "ok"
    assert state["results"]["words"]["answer"] == "words answer (yes)"
    assert state["failures"] == []


def test_default_checkpointer_is_sqlite_under_the_data_dir_and_user_only(
    small_roster: Roster, data_dir: Path
) -> None:
    graph = build_nova_graph(
        roster=small_roster, router=TableRouter(TABLE), model=OfflineChatModel(), data_dir=data_dir
    )
    graph.invoke(
        {"messages": [{"role": "user", "content": CLOCK_Q}]}, {"configurable": {"thread_id": "p"}}
    )
    assert isinstance(graph.checkpointer, NovaSqliteSaver)
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    files = list(data_dir.glob("checkpoints.sqlite*"))
    assert data_dir / "checkpoints.sqlite" in files
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_checkpointer_false_means_no_persistence_and_explicit_saver_is_used(
    small_roster: Roster, data_dir: Path, tmp_path: Path
) -> None:
    none = build_nova_graph(
        roster=small_roster,
        router=TableRouter(TABLE),
        model=OfflineChatModel(),
        data_dir=data_dir,
        checkpointer=False,
    )
    assert none.checkpointer is None
    saver = sqlite_checkpointer(tmp_path / "elsewhere" / "cp.sqlite")
    explicit = build_nova_graph(
        roster=small_roster,
        router=TableRouter(TABLE),
        model=OfflineChatModel(),
        data_dir=data_dir,
        checkpointer=saver,
    )
    assert explicit.checkpointer is saver
    assert not (data_dir / "checkpoints.sqlite").exists()


def test_conversation_continues_across_graphs_sharing_the_sqlite_file(
    small_roster: Roster, data_dir: Path
) -> None:
    def ask(text: str) -> dict[str, Any]:
        graph = build_nova_graph(
            roster=small_roster,
            router=TableRouter(TABLE),
            model=OfflineChatModel(),
            data_dir=data_dir,
        )
        return graph.invoke(  # type: ignore[no-any-return]
            {"messages": [{"role": "user", "content": text}]},
            {"configurable": {"thread_id": "conversation"}},
        )

    ask(CLOCK_Q)
    state = ask(MULTI_Q)
    assert [m.type for m in state["messages"]] == ["human", "ai", "human", "ai"]


def test_default_sqlite_checkpointer_serves_concurrent_ainvoke(
    small_roster: Roster, data_dir: Path
) -> None:
    graph = build_nova_graph(
        roster=small_roster, router=TableRouter(TABLE), model=OfflineChatModel(), data_dir=data_dir
    )

    async def many() -> list[dict[str, Any]]:
        return await asyncio.gather(
            *(
                graph.ainvoke(
                    {"messages": [{"role": "user", "content": MULTI_Q}]},
                    {"configurable": {"thread_id": f"a{i}"}},
                )
                for i in range(20)
            )
        )

    states = asyncio.run(many())
    assert all(s["failures"] == [] and len(s["results"]) == 2 for s in states)
    assert len(list(graph.checkpointer.list({"configurable": {"thread_id": "a7"}}))) > 0


@pytest.mark.skipif(
    not hasattr(__import__("nova_graph.routing", fromlist=["x"]), "SemanticRouter"),
    reason="nova ask needs the default SemanticRouter (issue 2) to be importable",
)
def test_nova_ask_thread_continues_a_conversation_across_processes(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["NOVA_DATA_DIR"] = str(tmp_path)
    cmd = [sys.executable, "-m", "nova_app.cli", "ask", "--thread", "cli-t", "--data-dir"]
    for text in ("what time is it", "and what is 2 + 2"):
        done = subprocess.run(
            [*cmd, str(tmp_path), text], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-2000:]
    saver = sqlite_checkpointer(tmp_path / "checkpoints.sqlite")
    state = saver.get_tuple({"configurable": {"thread_id": "cli-t"}})
    assert state is not None
    kinds = [m.type for m in state.checkpoint["channel_values"]["messages"]]
    assert kinds == ["human", "ai", "human", "ai"]


class _EchoKeyHandler(BaseHTTPRequestHandler):
    """A hostile upstream: fails with 500 and echoes the Authorization header in the body."""

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.dumps(
            {"error": {"message": f"upstream broke for {self.headers.get('Authorization')}"}}
        ).encode()
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again on exit: connecting is refused


@pytest.mark.parametrize("upstream", ["echoes-500", "refuses"])
def test_api_key_never_appears_in_state_failures_answer_or_logs(
    small_roster: Roster,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    upstream: str,
) -> None:
    server = None
    if upstream == "echoes-500":
        server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoKeyHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = int(server.server_address[1])
    else:
        port = _refused_port()
    monkeypatch.setenv("OPENAI_API_KEY", SENTINEL)
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{port}/v1")
    caplog.set_level(logging.DEBUG)
    try:
        graph = build_nova_graph(
            roster=small_roster,
            router=TableRouter(TABLE),
            model=default_model(timeout=5),
            data_dir=data_dir,
            reliability=ReliabilityPolicy(max_attempts=2, initial_interval=0.01, jitter=False),
        )
        state = graph.invoke(
            {"messages": [{"role": "user", "content": MULTI_Q}]},
            {"configurable": {"thread_id": "secret"}},
        )
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
    assert {f["agent"] for f in state["failures"]} == {"clock", "words"}
    assert all(f["attempts"] == 2 for f in state["failures"])  # 5xx / refused are transient
    dumped = json.dumps(state, default=repr)
    assert SENTINEL not in dumped
    assert SENTINEL not in caplog.text
    for record in caplog.records:
        assert SENTINEL not in record.getMessage()
    saved = (data_dir / "checkpoints.sqlite").read_bytes()
    assert SENTINEL.encode() not in saved
    if upstream == "echoes-500":
        assert "[redacted]" in state["failures"][0]["message"]
