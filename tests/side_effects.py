"""A real Nova graph (SQLite checkpointer, temp data dir) whose agents call write tools, for the
approval and never-twice tests, their kill -9 worker and ``benchmarks/side_effects.py``.

``python -m tests.side_effects DATA TOOL ARGS_JSON STEP [KILL]`` runs one step of a thread in
its own process: ``ask`` sends the request, ``yes`` answers its approvals. With ``KILL`` set to
``after_effect`` the process kills itself (SIGKILL) right after the tool's effect, before the
agent loop finishes or anything is checkpointed; with ``before_record`` it dies between the
ERP transaction and the ledger's record of the result.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langgraph.types import Command

from nova_app import build_nova_graph
from nova_graph.reliability import ReliabilityPolicy
from nova_graph.roster import AgentSpec, Roster
from nova_graph.routing.decision import ClauseRoute, RouteDecision
from nova_graph.testing import FunctionChatModel, TableRouter

REQUEST = "please do the change"
THREAD = "writes"


def _after_request(messages: list[BaseMessage]) -> list[BaseMessage]:
    last = max(i for i, m in enumerate(messages) if isinstance(m, HumanMessage))
    return messages[last + 1 :]


def script(
    calls: dict[str, tuple[str, dict[str, Any]]],
    *,
    fail_once: BaseException | None = None,
    kill: str = "",
) -> FunctionChatModel:
    """A model: each agent (by system prompt) calls its one tool, then answers with its result.

    ``fail_once`` is raised once on the call after the tool's result (a transient error after the
    effect); ``kill="after_effect"`` SIGKILLs the process there instead.
    """
    failed: list[bool] = []

    def reply(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage | str:
        agent = str(messages[0].content)
        tool, args = calls[agent]
        done = [m for m in _after_request(messages) if isinstance(m, ToolMessage)]
        if not done:
            return AIMessage("", tool_calls=[{"name": tool, "args": args, "id": f"c_{agent}"}])
        if kill == "after_effect":
            os.kill(os.getpid(), signal.SIGKILL)
        if fail_once is not None and not failed:
            failed.append(True)
            raise fail_once
        return f"{agent}: {done[-1].content}"

    return FunctionChatModel(fn=reply)


def graph_for(
    data: Path,
    calls: dict[str, tuple[str, dict[str, Any]]],
    model: FunctionChatModel,
    policy: ReliabilityPolicy | None = None,
) -> Any:
    """A Nova graph with one agent per entry of ``calls`` (agent name -> tool, args)."""
    specs = [
        AgentSpec(
            name=agent,
            family="general",
            description=f"calls {tool}",
            examples=[f"use {tool}"],
            system_prompt=agent,
            tools=[tool],
        )
        for agent, (tool, _) in calls.items()
    ]
    names = list(calls)
    clauses = [ClauseRoute(text=f"{REQUEST} {n}", agent=n, score=0.9) for n in names]
    router = TableRouter({REQUEST: RouteDecision(agents=names, clauses=clauses)})
    return build_nova_graph(
        roster=Roster(specs),
        router=router,
        model=model,
        data_dir=data,
        reliability=policy or ReliabilityPolicy(initial_interval=0.01, jitter=False),
    )


def ask(graph: Any, thread: str = THREAD) -> dict[str, Any]:
    """Send the request on ``thread``."""
    config = {"configurable": {"thread_id": thread}}
    return dict(graph.invoke({"messages": [{"role": "user", "content": REQUEST}]}, config))


def answer_all(graph: Any, value: Any, thread: str = THREAD) -> dict[str, Any]:
    """Answer every pending question of ``thread`` with ``value``."""
    config: Any = {"configurable": {"thread_id": thread}}
    pending = graph.get_state(config).interrupts
    return dict(graph.invoke(Command(resume={p.id: value for p in pending}), config))


def count(db: Path, sql: str) -> int:
    """One integer from a SQLite file."""
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


MODES = ("transient", "timeout", "after_effect", "before_record")
TOOLS: dict[str, dict[str, Any]] = {
    "create_purchase_order": {"part": "SP-1005", "quantity": 3},
    "backup_now": {},
}


def effects_made(data: Path, tool: str) -> int:
    """How many times ``tool``'s side effect happened in ``data`` (purchase orders, backups)."""
    if tool == "backup_now":
        return len(list((data / "backups").glob("erp-*.sqlite")))
    return count(data / "erp.sqlite", "SELECT COUNT(*) FROM purchase_orders")


def subprocess_step(argv: list[str]) -> int:
    """Run one step of the thread (see :func:`main`) in a fresh interpreter; its exit code."""
    import subprocess

    cmd = [sys.executable, "-m", "tests.side_effects", *argv]
    return subprocess.run(cmd, capture_output=True, timeout=300, check=False).returncode


def one_round(
    data: Path, mode: str, tool: str, step: Callable[[list[str]], int] = subprocess_step
) -> int:
    """Approve one write, inject ``mode`` after its effect, finish the thread; how many times
    the effect happened (1 is right: 0 is lost, 2 or more is duplicated). ``step`` runs one
    step of the thread in another process (killed with ``mode``'s crash, then finished)."""
    import time

    from nova_app.tools.erp_db import create_demo_erp

    create_demo_erp(data)
    before = effects_made(data, tool)
    args = TOOLS[tool]
    calls = {"writer": (tool, args)}
    if mode in ("transient", "timeout"):
        slow: list[bool] = []
        base = script(calls, fail_once=ConnectionError("reset") if mode == "transient" else None)

        def reply(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage | str:
            out = base.fn(messages, tools)
            if mode == "timeout" and isinstance(out, str) and not slow:
                slow.append(True)
                time.sleep(0.6)  # overrun the 0.3 s limit once, after the effect
            return out

        policy = ReliabilityPolicy(
            timeout_seconds=0.3 if mode == "timeout" else None, initial_interval=0.01, jitter=False
        )
        graph = graph_for(data, calls, FunctionChatModel(fn=reply), policy)
        ask(graph)
        answer_all(graph, "yes")
    else:
        ask(graph_for(data, calls, script(calls)))
        argv = [str(data), tool, json.dumps(args)]
        step([*argv, "yes", mode])
        if step([*argv, "yes"]) != 0:
            raise RuntimeError(f"finishing the thread after {mode} failed")
    return effects_made(data, tool) - before


def run_rounds(
    runs: int, step: Callable[[list[str]], int] = subprocess_step, echo: bool = True
) -> dict[str, Any]:
    """``runs`` rounds cycling through the fault modes and write tools, each on a fresh data
    dir; the duplicated (effect more than once) and lost (never) side effects per round."""
    import tempfile
    import time

    tools = list(TOOLS)
    rounds: list[dict[str, Any]] = []
    started = time.perf_counter()
    for i in range(runs):
        mode, tool = MODES[i % len(MODES)], tools[(i // len(MODES)) % len(tools)]
        with tempfile.TemporaryDirectory(prefix="nova-effects-") as tmp:
            made = one_round(Path(tmp), mode, tool, step)
        rounds.append({"run": i + 1, "mode": mode, "tool": tool, "effects": made})
        if echo:
            print(f"{i + 1:>3} {mode:<13} {tool:<22} effects={made}", flush=True)
    return {
        "runs": runs,
        "duplicated_side_effects": sum(max(0, r["effects"] - 1) for r in rounds),
        "lost_side_effects": sum(r["effects"] == 0 for r in rounds),
        "seconds": round(time.perf_counter() - started, 1),
        "rounds": rounds,
    }


def main(argv: list[str]) -> int:
    """Run one step of the thread in this process (see the module docstring)."""
    data, tool, args, step = Path(argv[0]), argv[1], json.loads(argv[2]), argv[3]
    kill = argv[4] if len(argv) > 4 else ""
    if kill == "before_record":
        from nova_graph.tools.effects import EffectLedger

        def die(self: EffectLedger, key: str, result: str) -> None:
            os.kill(os.getpid(), signal.SIGKILL)

        EffectLedger.finish = die  # type: ignore[method-assign]  # crash injection
    graph = graph_for(data, {"writer": (tool, args)}, script({"writer": (tool, args)}, kill=kill))
    out = ask(graph) if step == "ask" else answer_all(graph, "yes")
    print(json.dumps({"pending": len(out.get("__interrupt__", []))}))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv[1:]))
