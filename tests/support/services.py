"""Real servers on 127.0.0.1 for integration tests: PostgreSQL, a Chroma server, ``langgraph dev``.

Each starts as a subprocess on a free loopback port, every wait is bounded, and each is stopped
(its whole process group) when the test is done.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# Nothing started here may reach the internet: no telemetry, tracing or analytics.
OFFLINE_ENV = {
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "ANONYMIZED_TELEMETRY": "False",
    "HF_HUB_OFFLINE": "1",
    "NO_PROXY": "127.0.0.1,localhost",
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env(**extra: str) -> dict[str, str]:
    """The current environment, offline, with no model API key, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    env.update(OFFLINE_ENV)
    env.update(extra)
    return env


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Wait until ``url`` answers 200, failing with the server's log if it dies or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"server exited with {proc.returncode}:\n{_tail(log)}")
        with (
            contextlib.suppress(OSError, urllib.error.URLError),
            urllib.request.urlopen(url, timeout=2) as resp,
        ):
            if resp.status == 200:
                return
        time.sleep(0.25)
    pytest.fail(f"server at {url} not up after {timeout:.0f} s:\n{_tail(log)}")


def stop(proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """Stop ``proc`` and its process group: SIGTERM, then SIGKILL after ``timeout``."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)


def _tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _start(cmd: list[str], log: Path, **kw: object) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
            cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **kw
        )


@contextlib.contextmanager
def langgraph_dev(config: Path, workdir: Path, env: dict[str, str]) -> Iterator[str]:
    """``langgraph dev`` serving ``config`` on a free loopback port; yields its base URL.

    It runs in the config's directory (graph paths are relative to it); its log goes to ``workdir``.
    """
    port = free_port()
    exe = shutil.which("langgraph", path=str(BIN)) or "langgraph"
    cmd = [exe, "dev", "--host", "127.0.0.1", "--port", str(port), "--no-browser",
           "--no-reload", "--config", str(config)]  # fmt: skip
    log = workdir / "langgraph-dev.log"
    proc = _start(cmd, log, cwd=str(config.parent), env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/ok", proc, log, timeout=120)
        yield url
    finally:
        stop(proc)


@contextlib.contextmanager
def chroma_server(path: Path) -> Iterator[str]:
    """``chroma run`` on a free loopback port storing into ``path``; yields its URL."""
    port = free_port()
    exe = shutil.which("chroma", path=str(BIN)) or "chroma"
    cmd = [exe, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path)]
    log = path.parent / "chroma.log"
    proc = _start(cmd, log, env=child_env())
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/api/v2/heartbeat", proc, log, timeout=60)
        yield url
    finally:
        stop(proc)


def postgres_bin(name: str) -> str:
    """Path of a PostgreSQL server program (``initdb``, ``pg_ctl``), or skip-with-reason fail."""
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        pytest.fail(f"{name} not found: run .ci/install_services.sh (installs Debian's postgresql)")
    return found


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A throw-away PostgreSQL cluster on a free loopback port; yields its connection URL.

    PostgreSQL refuses to run as root, so as root the cluster belongs to the ``postgres`` user.
    """
    initdb, pg_ctl = postgres_bin("initdb"), postgres_bin("pg_ctl")
    as_user: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="nova-pg-"))
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(base, user="postgres")
    data, port = base / "data", free_port()
    env = child_env(LC_ALL="C", LANG="C")
    initdb_cmd = [*as_user, initdb, *f"-D {data} -U postgres -A trust --no-sync -E UTF8".split()]
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    start_cmd = [*as_user, pg_ctl, "-D", str(data), "-o", options, "-l", str(base / "log")]
    stop_cmd = [*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "-t", "30", "stop"]
    try:
        subprocess.run(initdb_cmd, check=True, capture_output=True, timeout=120, env=env)
        start = [*start_cmd, "-w", "-t", "60", "start"]
        subprocess.run(start, check=True, capture_output=True, timeout=90, env=env)
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run(stop_cmd, capture_output=True, timeout=60, env=env)
    finally:
        shutil.rmtree(base, ignore_errors=True)
