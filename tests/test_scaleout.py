"""Scale-out: workers share a real PostgreSQL checkpointer and a real Chroma server.

Both servers run on 127.0.0.1 for this module. The worker tests start real ``nova`` processes,
each with its own (empty) data directory, so anything one worker sees from another came
through PostgreSQL or Chroma.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from langgraph.types import Command

from nova_app import nova_graph_from_settings, nova_roster
from nova_graph.checkpoint_postgres import postgres_checkpointer
from nova_graph.from_settings import memory_from_settings
from nova_graph.roster import Roster
from nova_graph.routing.decision import RouteDecision
from nova_graph.routing.default import default_router
from nova_graph.settings import NovaSettings
from nova_graph.testing import TableRouter
from tests.support.services import BIN, child_env, chroma_server, postgres_server
from tests.support.vague import VAGUE_REQUESTS, first_ambiguous

pytestmark = pytest.mark.scaleout

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


# Worker A uses the public API: remember a fact, then start a thread that stops at a question.
WORKER_A = f"""
import json
from nova_app import nova_graph_from_settings
from nova_graph.from_settings import memory_from_settings
from nova_graph.settings import load_settings

settings = load_settings()
memory_id = memory_from_settings(settings).remember({FACT!r}, namespace="default")
graph = nova_graph_from_settings(settings)
config = {{"configurable": {{"thread_id": "THREAD"}}}}
state = graph.invoke({{"messages": [{{"role": "user", "content": "REQUEST"}}]}}, config)
print(json.dumps({{"memory_id": memory_id, "question": state["__interrupt__"][0].value}}))
"""


class Workers(NamedTuple):
    """What the two worker processes printed."""

    thread: str
    memory_id: str
    question: dict[str, Any]
    resumed: str  # worker B's `nova ask --resume` output
    data_dirs: tuple[Path, Path]


def _run(cmd: list[str], data_dir: Path, postgres_url: str, chroma_url: str) -> str:
    """Run one worker process with its own empty data directory; return its stdout."""
    env = child_env(
        NOVA_CHECKPOINT_URL=postgres_url, NOVA_CHROMA_URL=chroma_url, NOVA_DATA_DIR=str(data_dir)
    )
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=WORKER_TIMEOUT, env=env,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 0, f"worker failed: {cmd}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def workers(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str, chroma_url: str
) -> Workers:
    base = tmp_path_factory.mktemp("workers")
    thread = f"t-{uuid.uuid4().hex[:8]}"
    dir_a, dir_b = base / "worker-a", base / "worker-b"
    # Build the default router once; both workers load it from the shared router cache.
    router = default_router(nova_roster())
    request = first_ambiguous(router, [t for t in VAGUE_REQUESTS if "warehouse" in t])
    code = WORKER_A.replace("THREAD", thread).replace("REQUEST", request)
    out_a = _run([sys.executable, "-c", code], dir_a, postgres_url, chroma_url)
    first = json.loads(out_a.strip().splitlines()[-1])
    resume = [str(BIN / "nova"), "ask", "--thread", thread, "--resume", "1"]
    out_b = _run(resume, dir_b, postgres_url, chroma_url)
    return Workers(thread, first["memory_id"], first["question"], out_b, (dir_a, dir_b))


def test_thread_paused_by_one_worker_is_resumed_by_another(workers: Workers) -> None:
    assert workers.question["type"] == "clarification"
    chosen = workers.question["options"][0]["agent"]
    assert f"· supervisor: route → {chosen}" in workers.resumed
    assert f"  [{chosen}] ok;" in workers.resumed  # the chosen agent ran in worker B
    assert "--- answer ---" in workers.resumed
    for data_dir in workers.data_dirs:  # the thread lives in PostgreSQL, not in a local file
        assert not (data_dir / "checkpoints.sqlite").exists()


def test_memory_written_by_one_worker_is_recalled_by_another(
    workers: Workers, postgres_url: str
) -> None:
    supervisor_line = workers.resumed.split("· supervisor:", 1)[1].splitlines()[0]
    assert supervisor_line.endswith("; 1 memories")  # worker B's supervisor recalled it
    saved = postgres_checkpointer(postgres_url).get_tuple(
        {"configurable": {"thread_id": workers.thread}}
    )
    assert saved is not None
    chosen = workers.question["options"][0]["agent"]
    recalled = saved.checkpoint["channel_values"]["memories"][chosen]
    assert [(m["id"], m["text"]) for m in recalled] == [(workers.memory_id, FACT)]
    assert f"  [{chosen}] ok; tools: " in workers.resumed
    assert "; memories: 1; " in workers.resumed  # and handed to the agent that ran
    for data_dir in workers.data_dirs:  # the memory lives on the Chroma server
        assert not (data_dir / "chroma").exists()


def test_postgres_checkpointer_shares_threads_between_graph_instances(
    tmp_path: Path, postgres_url: str, small_roster: Roster, offline_model: Any
) -> None:
    settings = NovaSettings(data_dir=tmp_path, checkpoint_url=postgres_url, chroma_url="off")
    table = {"numbers": RouteDecision(agents=["math", "stock"], ambiguous=True)}
    parts = {"roster": small_roster, "router": TableRouter(table), "model": offline_model}
    config: Any = {"configurable": {"thread_id": uuid.uuid4().hex}}
    first = nova_graph_from_settings(settings, **parts)
    first.invoke({"messages": [{"role": "user", "content": "numbers"}]}, config)
    second = nova_graph_from_settings(settings, **parts)
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
