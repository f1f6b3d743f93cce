"""ChromaMemory against a real Chroma server on 127.0.0.1 (``chroma run``), bounded in time."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nova_graph.memory import ChromaMemory
from nova_graph.testing import HashingEncoder

T0 = datetime(2025, 3, 1, tzinfo=UTC)
CHROMA = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(CHROMA).exists():
        pytest.skip("the chroma CLI is not installed")
    port = free_port()
    path = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen(
        [CHROMA, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("chroma run did not start listening within 30 s")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.timeout(90)
def test_memory_over_http_applies_the_same_staleness_rules(server: str) -> None:
    mem = ChromaMemory.from_url(server, encoder=HashingEncoder(), update_detector=None)
    mem.remember("standup is at 9am", namespace="user:ana", key="standup", now=T0)
    new = mem.remember(
        "standup is at 10am", namespace="user:ana", key="standup", now=T0 + timedelta(1)
    )
    mem.remember("parking code 4411", namespace="user:ana", ttl=60, now=T0)
    found = mem.recall("standup parking", namespace="user:ana", now=T0 + timedelta(days=2))
    assert [m.id for m in found] == [new]
    assert len(mem.history("standup", namespace="user:ana")) == 2
