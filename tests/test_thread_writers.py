"""One writer per conversation thread: concurrent turns on one thread_id are never lost."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage, HumanMessage

from nova_app import build_nova_graph
from nova_graph.errors import ThreadBusyError
from nova_graph.reliability import ReliabilityPolicy
from nova_graph.roster import Roster
from nova_graph.routing.decision import RouteDecision
from nova_graph.testing import FunctionChatModel, TableRouter

WRITERS = 8
THREAD = {"configurable": {"thread_id": "shared"}}


def _slow_answer(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> str:
    time.sleep(0.05)  # long enough for the turns to overlap
    return "done"


def _graph(roster: Roster, data_dir: Path, wait: float = 30.0) -> Any:
    table = {f"calculate {i} + {i}": RouteDecision(agents=["math"]) for i in range(WRITERS)}
    return build_nova_graph(
        roster=roster,
        router=TableRouter(table),
        model=FunctionChatModel(fn=_slow_answer),
        data_dir=data_dir,
        reliability=ReliabilityPolicy(thread_wait_seconds=wait),
    )


def _ask(graph: Any, i: int) -> str:
    try:
        graph.invoke({"messages": [{"role": "user", "content": f"calculate {i} + {i}"}]}, THREAD)
    except ThreadBusyError:
        return "rejected"
    return "answered"


def _kept(graph: Any) -> list[str]:
    messages = graph.get_state(THREAD).values["messages"]
    return [str(m.content) for m in messages if isinstance(m, HumanMessage)]


def test_concurrent_turns_on_one_thread_are_all_kept(small_roster: Roster, data_dir: Path) -> None:
    graph = _graph(small_roster, data_dir)
    with ThreadPoolExecutor(WRITERS) as pool:
        outcomes = list(pool.map(lambda i: _ask(graph, i), range(WRITERS)))
    assert outcomes == ["answered"] * WRITERS
    assert sorted(_kept(graph)) == sorted(f"calculate {i} + {i}" for i in range(WRITERS))


def test_concurrent_async_turns_on_one_thread_are_all_kept(
    small_roster: Roster, data_dir: Path
) -> None:
    graph = _graph(small_roster, data_dir)

    async def ask(i: int) -> Any:
        return await graph.ainvoke(
            {"messages": [{"role": "user", "content": f"calculate {i} + {i}"}]}, THREAD
        )

    async def main() -> list[Any]:
        return await asyncio.gather(*(ask(i) for i in range(WRITERS)))

    assert len(asyncio.run(main())) == WRITERS
    assert len(_kept(graph)) == WRITERS


def test_a_turn_that_cannot_wait_is_rejected_with_a_typed_error_not_lost(
    small_roster: Roster, data_dir: Path
) -> None:
    graph = _graph(small_roster, data_dir, wait=0.0)
    with ThreadPoolExecutor(WRITERS) as pool:
        outcomes = list(pool.map(lambda i: _ask(graph, i), range(WRITERS)))
    assert "rejected" in outcomes  # the turns overlapped
    assert len(_kept(graph)) == outcomes.count("answered")  # every answered turn is in history


def test_busy_error_says_what_to_do(small_roster: Roster, data_dir: Path) -> None:
    graph = _graph(small_roster, data_dir, wait=0.0)
    with graph.thread_locks.hold("shared"), pytest.raises(ThreadBusyError, match="another"):
        _ask_raw(graph)


def _ask_raw(graph: Any) -> None:
    graph.invoke({"messages": [{"role": "user", "content": "calculate 1 + 1"}]}, THREAD)


WORKER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {root!r})
    from nova_app import build_nova_graph
    from nova_graph import load_roster
    from nova_graph.testing import FunctionChatModel
    from nova_graph.routing.decision import RouteDecision
    from nova_graph.testing import TableRouter
    me = sys.argv[1]
    texts = [f"calculate {{me}} + {{k}}" for k in range(3)]
    graph = build_nova_graph(
        roster=load_roster({roster!r}),
        router=TableRouter({{t: RouteDecision(agents=["math"]) for t in texts}}),
        model=FunctionChatModel(fn=lambda m, t: time.sleep(0.05) or "done"),
        data_dir={data_dir!r},
    )
    for t in texts:
        graph.invoke({{"messages": [{{"role": "user", "content": t}}]}},
                     {{"configurable": {{"thread_id": "shared"}}}})
    """
)


def test_processes_sharing_a_checkpoint_file_keep_every_turn(
    small_roster: Roster, data_dir: Path, tmp_path: Path
) -> None:
    root = Path(__file__).resolve().parent.parent
    script = tmp_path / "writer.py"
    roster = str(root / "tests" / "data" / "roster_small.yaml")
    script.write_text(WORKER.format(root=str(root), roster=roster, data_dir=str(data_dir)))
    procs = [subprocess.Popen([sys.executable, str(script), str(n)], cwd=root) for n in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    assert len(_kept(_graph(small_roster, data_dir))) == 9
