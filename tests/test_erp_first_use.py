"""The demo ERP's first-time creation is race-safe across threads and processes."""

from __future__ import annotations

import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from nova_app.tools import erp_db, nova_tools
from nova_graph.tools import ToolContext

PARALLEL = 8


def test_parallel_tool_calls_on_a_fresh_data_dir_all_see_the_erp(tmp_path: Path) -> None:
    tools = nova_tools(ToolContext(data_dir=tmp_path / "fresh"))
    tool = next(t for t in tools if t.name == "low_stock_parts")
    start = threading.Barrier(PARALLEL)

    def call(_: int) -> str:
        start.wait()
        return str(tool.invoke({}))

    with ThreadPoolExecutor(PARALLEL) as pool:
        outputs = list(pool.map(call, range(PARALLEL)))
    assert len(set(outputs)) == 1, outputs  # identical answers, no "disk I/O error"
    assert "TOOL ERROR" not in outputs[0] and "error" not in outputs[0].lower()
    assert [p.name for p in (tmp_path / "fresh").iterdir()] == [erp_db.ERP_FILE]  # no temp left


def test_processes_creating_the_erp_at_once_all_read_it(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    # erp_db needs only the standard library: load it alone, so each process starts fast.
    code = (
        "import sys, importlib.util as u; from pathlib import Path\n"
        f"spec = u.spec_from_file_location('erp_db', {erp_db.__file__!r})\n"
        "erp_db = u.module_from_spec(spec); spec.loader.exec_module(erp_db)\n"
        "conn = erp_db.connect(Path(sys.argv[1]))\n"
        "print(conn.execute('SELECT COUNT(*) FROM parts').fetchone()[0])\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path / "fresh")],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in results]
    counts = {out.strip() for out, _ in results}
    assert len(counts) == 1 and int(counts.pop()) > 0


def test_created_erp_is_private(tmp_path: Path) -> None:
    path = erp_db.create_demo_erp(tmp_path / "d")
    assert path.stat().st_mode & 0o077 == 0
