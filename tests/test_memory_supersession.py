"""Superseding a keyed memory is consistent: one current version, whatever writes or dies.

Writers of one store path (threads, several instances, several processes) are serialised by the
store's lock file; a writer killed between adding the new version and retiring the old one
leaves two live rows, which readers resolve (the version written last wins) and the next write
retires.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nova_graph.memory import ChromaMemory
from nova_graph.memory.model import record_metadata, to_epoch
from nova_graph.memory.store import SEQ_KEY
from nova_graph.testing import HashingEncoder

T0 = datetime(2025, 3, 1, tzinfo=UTC)
NS = "user:ana"
LATER = T0 + timedelta(days=30)


def store(path: Path) -> ChromaMemory:
    return ChromaMemory(str(path), encoder=HashingEncoder(), update_detector=None)


def current_versions(mem: ChromaMemory, key: str = "counter") -> int:
    return sum(m.superseded_by is None for m in mem.history(key, namespace=NS))


def test_eight_instances_on_one_path_leave_one_current_version(tmp_path: Path) -> None:
    mems = [store(tmp_path) for _ in range(8)]

    def writer(t: int) -> None:
        for i in range(10):
            mems[t].remember(f"counter value {t}-{i}", namespace=NS, key="counter", now=T0)

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    check = store(tmp_path)
    assert len(check.history("counter", namespace=NS)) == 80
    assert current_versions(check) == 1
    assert len(check.recall("counter value", namespace=NS, k=10, now=LATER)) == 1


WRITER = """
import sys
from datetime import UTC, datetime
from nova_graph.memory import ChromaMemory
from nova_graph.memory.store import SEQ_KEY
from nova_graph.testing import HashingEncoder
mem = ChromaMemory(sys.argv[1], encoder=HashingEncoder(), update_detector=None)
now = datetime(2025, 3, 1, tzinfo=UTC)
print("ready", flush=True)
for i in range(int(sys.argv[3])):
    mem.remember(f"counter value {sys.argv[2]}-{i}", namespace="user:ana", key="counter", now=now)
print("done", flush=True)
"""


def start_writer(path: Path, name: str, count: int, *, wait: bool = True) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(WRITER), str(path), name, str(count)],
        stdout=subprocess.PIPE,
        text=True,
    )
    if wait:  # the store is open
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def test_three_processes_writing_one_key_leave_one_current_version(tmp_path: Path) -> None:
    procs = [start_writer(tmp_path, f"p{i}", 15, wait=False) for i in range(3)]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    mem = store(tmp_path)
    assert len(mem.history("counter", namespace=NS)) == 45
    assert current_versions(mem) == 1
    assert len(mem.recall("counter value", namespace=NS, k=10, now=LATER)) == 1


READER = """
import json, sys
from datetime import UTC, datetime
from nova_graph.memory import ChromaMemory
from nova_graph.memory.store import SEQ_KEY
from nova_graph.testing import HashingEncoder
mem = ChromaMemory(sys.argv[1], encoder=HashingEncoder(), update_detector=None)
hist = mem.history("counter", namespace="user:ana")
now = datetime(2025, 3, 31, tzinfo=UTC)
print(json.dumps({
    "current": sum(m.superseded_by is None for m in hist),
    "recalled": len(mem.recall("counter value", namespace="user:ana", k=10, now=now)),
}))
"""


def test_a_writer_killed_mid_write_never_leaves_two_current_versions(tmp_path: Path) -> None:
    seen = []
    for round_ in range(4):
        proc = start_writer(tmp_path, f"r{round_}", 10_000)
        time.sleep(0.5 + 0.37 * round_)  # kill at a different point of the write loop each time
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        # A new process reads (Chroma caches one index per process and path).
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(READER), str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        seen.append(json.loads(done.stdout.strip().splitlines()[-1]))
    assert seen == [{"current": 1, "recalled": 1}] * 4


def test_the_state_a_killed_writer_leaves_is_resolved_on_read_and_repaired_on_write(
    tmp_path: Path,
) -> None:
    mem = store(tmp_path)
    old = mem.remember("standup is at 9am", namespace=NS, key="standup", now=T0)
    # What a writer killed after adding its version and before retiring the old one leaves:
    live, _ = mem.collections(NS)
    t1 = to_epoch(T0 + timedelta(days=7))
    meta = record_metadata(namespace=NS, key="standup", created_at=t1, valid_from=t1)
    meta[SEQ_KEY] = 2  # the next write sequence number of the key, as the writer sets it
    new = old.split(":", 1)[0] + ":killed-writer-version"
    live.add(
        ids=[new],
        embeddings=HashingEncoder().encode(["standup is at 10am"]),
        metadatas=[meta],
        documents=["standup is at 10am"],
    )
    assert [m.text for m in mem.recall("standup", namespace=NS, now=LATER)] == [
        "standup is at 10am"
    ]
    assert [m.text for m in mem.recall("standup", namespace=NS, now=T0 + timedelta(1))] == [
        "standup is at 9am"
    ]
    stale = mem.get(old, namespace=NS)
    assert stale is not None and stale.superseded_by == new
    assert current_versions(mem, "standup") == 1
    latest = mem.remember("standup is at 11am", namespace=NS, key="standup", now=LATER)
    assert len(live.get(where={"key": "standup"})["ids"]) == 1  # both old rows retired
    assert [m.superseded_by for m in mem.history("standup", namespace=NS)] == [new, latest, None]


def test_two_processes_opening_a_fresh_store_at_once_both_succeed(tmp_path: Path) -> None:
    procs = [start_writer(tmp_path / "fresh", f"o{i}", 1, wait=False) for i in range(2)]
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    assert current_versions(store(tmp_path / "fresh")) == 1
