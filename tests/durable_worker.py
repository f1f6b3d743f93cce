"""A separate process running one two-agent request on a SQLite checkpoint (kill -9 tests).

``python -m tests.durable_worker run DB THREAD LOG`` starts the request: the ``clock`` agent
answers at once, the ``words`` agent blocks (forever, until killed). ``... resume DB THREAD LOG``
continues the thread in a new process with a fast ``words`` agent and prints the final state as
JSON. Every agent run appends ``<agent> start|done <pid>`` to LOG, so the caller can count runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage

from nova_app import build_nova_graph
from nova_graph import load_roster
from nova_graph.checkpoint import sqlite_checkpointer
from nova_graph.reliability import ReliabilityPolicy
from nova_graph.routing.decision import ClauseRoute, RouteDecision
from nova_graph.testing import FunctionChatModel, TableRouter

REQUEST = "what time is it, and also count the words: alpha beta gamma"
ROSTER = Path(__file__).parent / "data" / "roster_small.yaml"
PROMPT_AGENT = {"You tell the time.": "clock", "You analyse text.": "words"}


def _router() -> TableRouter:
    return TableRouter(
        {
            REQUEST: RouteDecision(
                agents=["clock", "words"],
                clauses=[
                    ClauseRoute(text="what time is it", agent="clock", score=0.9),
                    ClauseRoute(text="count the words: alpha beta gamma", agent="words", score=0.9),
                ],
            )
        }
    )


def _model(log: Path, *, slow_words: bool) -> FunctionChatModel:
    def reply(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> str:
        agent = PROMPT_AGENT.get(str(messages[0].content), "?")
        with log.open("a") as f:
            f.write(f"{agent} start {os.getpid()}\n")
        if agent == "words" and slow_words:
            time.sleep(3600)  # killed here
        with log.open("a") as f:
            f.write(f"{agent} done {os.getpid()}\n")
        return f"{agent} answer"

    return FunctionChatModel(fn=reply)


ROOT = Path(__file__).resolve().parent.parent


def _worker(mode: str, db: Path, thread: str, log: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        env.pop(var, None)
    return subprocess.Popen(
        [sys.executable, "-m", "tests.durable_worker", mode, str(db), thread, str(log)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _lines(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def kill_and_resume(workdir: Path, *, settle: float = 0.5, limit: float = 60.0) -> dict[str, Any]:
    """One repetition; returns what was observed and whether it passed."""
    db, log, thread = workdir / "checkpoints.sqlite", workdir / "runs.log", "t-kill"
    a = _worker("run", db, thread, log)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        lines = _lines(log)
        if any(x.startswith("clock done") for x in lines) and any(
            x.startswith("words start") for x in lines
        ):
            break
        if a.poll() is not None:
            raise RuntimeError(f"worker exited early: {a.stderr.read() if a.stderr else ''}")
        time.sleep(0.05)
    else:
        a.kill()
        raise RuntimeError("worker did not reach the slow agent in time")
    time.sleep(settle)  # let the finished agent's writes reach SQLite, as in any real crash
    os.kill(a.pid, signal.SIGKILL)
    a.wait()
    killed_lines = _lines(log)
    b = _worker("resume", db, thread, log)
    out, err = b.communicate(timeout=limit)
    if b.returncode != 0:
        raise RuntimeError(f"resume failed: {err[-2000:]}")
    state = json.loads(out.strip().splitlines()[-1])
    lines = _lines(log)
    resumed = lines[len(killed_lines) :]
    ai = [m for m in state["messages"] if m[0] == "AIMessage"]
    human = [m for m in state["messages"] if m[0] == "HumanMessage"]
    checks = {
        "killed_with_exit_minus_9": a.returncode == -signal.SIGKILL,
        "both_results_ok": state["results"] == {"clock": "ok", "words": "ok"},
        "no_failures": state["failures"] == [],
        "one_request_one_answer": len(human) == 1 and len(ai) == 1,
        "clock_ran_once": sum(x.startswith("clock done") for x in lines) == 1,
        "clock_not_rerun_on_resume": not any(x.startswith("clock") for x in resumed),
        "words_completed_once": sum(x.startswith("words done") for x in lines) == 1,
        "answer_has_both_parts": bool(ai)
        and "clock answer" in ai[0][1]
        and "words answer" in ai[0][1],
    }
    return {"passed": all(checks.values()), "checks": checks, "log": lines}


def main(argv: list[str]) -> int:
    """Entry point: ``run`` or ``resume``."""
    mode, db, thread, log = argv[0], Path(argv[1]), argv[2], Path(argv[3])
    graph = build_nova_graph(
        roster=load_roster(ROSTER),
        router=_router(),
        model=_model(log, slow_words=mode == "run"),
        checkpointer=sqlite_checkpointer(db),
        data_dir=db.parent,
        reliability=ReliabilityPolicy(timeout_seconds=None),
    )
    config: Any = {"configurable": {"thread_id": thread}}
    if mode == "run":
        graph.invoke({"messages": [{"role": "user", "content": REQUEST}]}, config)
        return 0
    state = graph.invoke(None, config)
    out = {
        "results": {k: v["status"] for k, v in state["results"].items()},
        "answers": {k: v["answer"] for k, v in state["results"].items()},
        "failures": state["failures"],
        "messages": [[type(m).__name__, str(m.content)] for m in state["messages"]],
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
