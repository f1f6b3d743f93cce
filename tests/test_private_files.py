"""Every file and directory the project creates is user-only (no group or other bits)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from nova_app import build_nova_graph
from nova_graph.memory import ChromaMemory
from nova_graph.roster import Roster
from nova_graph.routing.decision import RouteDecision
from nova_graph.runlog import RunLog
from nova_graph.testing import FunctionChatModel, HashingEncoder, TableRouter

Q = "how many brush heads are in stock"


def shared_paths(root: Path) -> list[str]:
    """Paths under ``root`` (itself included) with any group/other permission bit."""
    found = []
    for path in [root, *root.rglob("*")]:
        if stat.S_IMODE(path.lstat().st_mode) & 0o077:
            found.append(f"{oct(stat.S_IMODE(path.lstat().st_mode))} {path.relative_to(root)}")
    return found


def test_graph_memory_and_run_log_on_a_fresh_data_dir_create_only_private_files(
    small_roster: Roster, tmp_path: Path
) -> None:
    old = os.umask(0o022)  # a typical login umask: files would be 0644 unless made private
    try:
        data = tmp_path / "fresh" / "nova-data"
        memory = ChromaMemory(str(data / "chroma"), encoder=HashingEncoder(), update_detector=None)

        def remember(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage:
            if isinstance(messages[-1], ToolMessage):
                return AIMessage(content=str(messages[-1].content))
            call = {"name": "remember", "args": {"text": "bank PIN is 4321"}, "id": "r1"}
            return AIMessage(content="", tool_calls=[call])

        graph = build_nova_graph(
            roster=small_roster,
            router=TableRouter({Q: RouteDecision(agents=["stock"])}),
            memory=memory,
            model=FunctionChatModel(fn=remember),
            data_dir=data,
        )
        config = {"configurable": {"thread_id": uuid.uuid4().hex, "user_id": "ana"}}
        graph.invoke({"messages": [{"role": "user", "content": Q}]}, config)
        memory.remember("standup is at 9am", namespace="ana", key="standup")
        memory.remember("standup is at 10am", namespace="ana", key="standup")
        RunLog(data / "runs.sqlite")
    finally:
        os.umask(old)
    assert (data / "chroma" / "chroma.sqlite3").exists() and (data / "checkpoints.sqlite").exists()
    assert shared_paths(tmp_path / "fresh") == []


def test_nova_ask_as_the_first_command_creates_only_private_files(tmp_path: Path) -> None:
    env = {**os.environ, "NOVA_DATA_DIR": str(tmp_path / "home" / "nova")}
    done = subprocess.run(
        [sys.executable, "-m", "nova_app", "ask", "what time is it"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "home" / "nova").is_dir()
    assert shared_paths(tmp_path / "home") == []
