"""Concurrency and durability: threads lose nothing; memories survive a process restart."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nova_graph.memory import ChromaMemory
from nova_graph.testing import HashingEncoder

T0 = datetime(2025, 3, 1, tzinfo=UTC)
NS = "user:ana"


def fact(t: int, i: int) -> str:
    return f"fact t{t}i{i} from writer w{t} tag u{t}v{i}"


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    mem = ChromaMemory(str(tmp_path), encoder=HashingEncoder(dimension=512), update_detector=None)
    ids: list[list[str]] = [[] for _ in range(8)]

    def writer(t: int) -> None:
        for i in range(50):
            ids[t].append(mem.remember(fact(t, i), namespace=NS, now=T0))

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    all_ids = [i for chunk in ids for i in chunk]
    assert len(set(all_ids)) == 400
    assert mem.count(namespace=NS) == 400
    for t in range(8):
        for i in range(50):
            # exact lookup: recall's approximate (HNSW) index may rank a near-twin first
            stored = mem.get(ids[t][i], namespace=NS)
            assert stored is not None and stored.text == fact(t, i)


def test_concurrent_updates_of_one_key_leave_exactly_one_current_version() -> None:
    mem = ChromaMemory(encoder=HashingEncoder(), update_detector=None)

    def writer(t: int) -> None:
        for i in range(25):
            mem.remember(f"counter value {t}-{i}", namespace=NS, key="counter", now=T0)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    hist = mem.history("counter", namespace=NS)
    assert len(hist) == 200
    assert sum(m.superseded_by is None for m in hist) == 1
    assert len(mem.recall("counter value", namespace=NS, k=10, now=T0 + timedelta(1))) == 1


WRITER = """
import sys
from datetime import UTC, datetime
from nova_graph.memory import ChromaMemory
from nova_graph.testing import HashingEncoder
mem = ChromaMemory(sys.argv[1], encoder=HashingEncoder())
t0 = datetime(2025, 3, 1, tzinfo=UTC)
mem.remember("standup is at 9am", namespace="user:ana", key="standup", now=t0)
t1 = datetime(2025, 3, 8, tzinfo=UTC)
print(mem.remember("standup is at 10am", namespace="user:ana", key="standup", now=t1))
"""

READER = """
import json, sys
from datetime import UTC, datetime
from nova_graph.memory import ChromaMemory
from nova_graph.testing import HashingEncoder
mem = ChromaMemory(sys.argv[1], encoder=HashingEncoder())
now = datetime(2025, 3, 9, tzinfo=UTC)
as_of = datetime(2025, 3, 2, tzinfo=UTC)
print(json.dumps({
    "current": [m.id for m in mem.recall("standup", namespace="user:ana", now=now)],
    "as_of": [m.text for m in mem.recall("standup", namespace="user:ana", now=as_of)],
    "history": len(mem.history("standup", namespace="user:ana")),
}))
"""


def run_python(code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip().splitlines()[-1]


def test_memories_survive_a_process_restart(tmp_path: Path) -> None:
    new_id = run_python(WRITER, str(tmp_path))
    seen = json.loads(run_python(READER, str(tmp_path)))
    assert seen == {"current": [new_id], "as_of": ["standup is at 9am"], "history": 2}
