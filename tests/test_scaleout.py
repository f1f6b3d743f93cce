"""Scale-out: workers share a real PostgreSQL checkpointer and a real Chroma server.

Both servers run on 127.0.0.1 for this module. The worker tests start real ``nova`` processes,
each with its own (empty) data directory, so anything one worker sees from another came
through PostgreSQL or Chroma.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph.types import Command

from nova_graph.factory import graph_from_settings, memory_from_settings
from nova_graph.roster import Roster
from nova_graph.routing.decision import RouteDecision
from nova_graph.settings import NovaSettings
from tests.support.routers import TableRouter
from tests.support.services import BIN, child_env, chroma_server, postgres_server

pytestmark = pytest.mark.scaleout

AMBIGUOUS_Q = "AMBIGUOUS_REQUEST"
FACT = "The Sweeper Parts warehouse moved to 14 Dock Road, Hull"
FACT_QUERY = "where is the Sweeper Parts warehouse now"
WORKER_TIMEOUT = 240


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with chroma_server(tmp_path_factory.mktemp("chroma") / "db") as url:
        yield url


def _worker(args: list[str], tmp_path: Path, name: str, postgres_url: str, chroma_url: str) -> str:
    """Run one ``nova`` worker process with its own empty data directory; return its output."""
    env = child_env(
        NOVA_CHECKPOINT_URL=postgres_url,
        NOVA_CHROMA_URL=chroma_url,
        NOVA_DATA_DIR=str(tmp_path / f"worker-{name}"),
    )
    done = subprocess.run(
        [str(BIN / "nova"), *args],
        capture_output=True, text=True, timeout=WORKER_TIMEOUT, env=env, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, f"worker {name} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _remember_in_worker(tmp_path: Path, postgres_url: str, chroma_url: str) -> str:
    code = (
        "from nova_graph.factory import memory_from_settings\n"
        "from nova_graph.settings import load_settings\n"
        "memory = memory_from_settings(load_settings())\n"
        f"print(memory.remember({FACT!r}, namespace='default'))\n"
    )
    env = child_env(
        NOVA_CHECKPOINT_URL=postgres_url,
        NOVA_CHROMA_URL=chroma_url,
        NOVA_DATA_DIR=str(tmp_path / "worker-a"),
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True, text=True, timeout=WORKER_TIMEOUT, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_thread_paused_by_one_worker_is_resumed_by_another(
    tmp_path: Path, postgres_url: str, chroma_url: str
) -> None:
    thread = f"t-{uuid.uuid4().hex[:8]}"
    first = _worker(
        ["ask", AMBIGUOUS_Q, "--thread", thread], tmp_path, "a", postgres_url, chroma_url
    )
    assert "nova asks: Did you mean (1)" in first
    assert f"nova ask --thread {thread} --resume" in first
    assert "--- answer ---" not in first

    second = _worker(
        ["ask", "--thread", thread, "--resume", "1"], tmp_path, "b", postgres_url, chroma_url
    )
    assert "· supervisor: route → " in second
    assert "--- answer ---" in second
    assert not (tmp_path / "worker-a" / "checkpoints.sqlite").exists()  # state lives in Postgres


def test_memory_written_by_one_worker_is_recalled_by_another(
    tmp_path: Path, postgres_url: str, chroma_url: str
) -> None:
    memory_id = _remember_in_worker(tmp_path, postgres_url, chroma_url)
    out = _worker(["ask", FACT_QUERY], tmp_path, "b", postgres_url, chroma_url)
    assert "memories" in out.split("· supervisor:", 1)[1].splitlines()[0]
    assert memory_id in out  # the answer cites the memory it used


def test_postgres_checkpointer_shares_threads_between_graph_instances(
    tmp_path: Path, postgres_url: str, small_roster: Roster, offline_model: Any
) -> None:
    settings = NovaSettings(data_dir=tmp_path, checkpoint_url=postgres_url, chroma_url="off")
    table = {"numbers": RouteDecision(agents=["math", "stock"], ambiguous=True)}
    parts = {"roster": small_roster, "router": TableRouter(table), "model": offline_model}
    config: Any = {"configurable": {"thread_id": uuid.uuid4().hex}}
    first = graph_from_settings(settings, **parts)
    first.invoke({"messages": [{"role": "user", "content": "numbers"}]}, config)
    second = graph_from_settings(settings, **parts)
    assert second.get_state(config).next == ("supervisor",)
    done = second.invoke(Command(resume="stock"), config)
    assert done["routes"] == ["stock"]
    assert not (tmp_path / "checkpoints.sqlite").exists()


def test_chroma_server_memory_is_shared_between_memory_instances(
    tmp_path: Path, chroma_url: str
) -> None:
    settings = NovaSettings(data_dir=tmp_path, chroma_url=chroma_url, checkpoint_url="memory")
    namespace = f"ns-{uuid.uuid4().hex[:8]}"
    writer, reader = memory_from_settings(settings), memory_from_settings(settings)
    memory_id = writer.remember(FACT, namespace=namespace)
    found = reader.recall(FACT_QUERY, namespace=namespace, k=1)
    assert [m.id for m in found] == [memory_id]
    assert not (tmp_path / "chroma").exists()  # nothing local: it lives on the server
