"""The notebooks run top to bottom, offline, in a fresh kernel; committed without outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.support.services import OFFLINE_ENV, ROOT

pytestmark = pytest.mark.notebook

NOTEBOOKS = ROOT / "notebooks"
CELL_TIMEOUT = 420  # generous: CI machines may be shared


def _execute(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> nbformat.NotebookNode:
    """Execute ``notebooks/<name>`` in a fresh kernel (its own data directory); return it."""
    for var, value in {**OFFLINE_ENV, "NOVA_DATA_DIR": str(tmp_path / "data")}.items():
        monkeypatch.setenv(var, value)  # the kernel inherits this process's environment
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend draws PNGs
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the kernel imports this checkout's packages
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    return nb


def _text(nb: nbformat.NotebookNode) -> str:
    parts: list[str] = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            parts.append(str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


@pytest.mark.parametrize("name", ["quickstart.ipynb", "evals.ipynb"])
def test_notebook_is_committed_without_outputs(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_quickstart_notebook_runs_offline_and_shows_each_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = _text(_execute("quickstart.ipynb", tmp_path, monkeypatch))
    assert "agents:" in text  # built the graph
    assert "· supervisor: route → " in text and "· compose: answer ready" in text  # streamed
    assert "Did you mean (1)" in text  # clarifying question, then resumed
    assert "14 Dock Road" in text and "[stale: " in text  # memory supersedes the old address
    assert "expired promotion recalled: []" in text
    assert "graph TD;" in text and "supervisor -.-> out_of_scope;" in text  # mermaid drawing


def test_evals_notebook_computes_scorecards_and_plots_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = _execute("evals.ipynb", tmp_path, monkeypatch)
    text = _text(nb)
    assert "labelled requests, accuracy" in text
    assert "in-scope accuracy" in text and "out-of-scope refused" in text
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 2  # the F1 bar chart and the CLINC150 chart
