"""`nova eval roster` runs on the app's own roster when no --roster is given."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nova_app.cli import main

SMALL_SET = """
agents:
  erp_invoicing:
    - show me invoice 1043
  translator:
    - translate good morning into French
multi_domain: []
ambiguous: []
"""


def test_nova_eval_roster_defaults_to_the_apps_roster(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    held = tmp_path / "held.yaml"
    held.write_text(SMALL_SET, "utf-8")
    assert main(["eval", "roster", "--set", str(held)]) == 0
    out = capsys.readouterr().out
    assert "single-agent requests: 2" in out
    assert "flat accuracy:" in out


ROOT = Path(__file__).resolve().parent.parent


def _nova_eval(site: Path, cwd: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """Run ``nova eval ...`` in a fresh interpreter that finds the packages only in ``site``."""
    code = f"import sys; from nova_app.cli import main; sys.exit(main({list(argv)!r}))"
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_nova_eval_finds_the_harness_beside_an_editable_install(tmp_path: Path) -> None:
    site = tmp_path / "site"  # like the console script: the checkout itself is not on sys.path
    site.mkdir()
    for package in ("nova_graph", "nova_app"):
        (site / package).symlink_to(ROOT / package)
    done = _nova_eval(site, tmp_path, "eval", "roster", "--help")
    assert done.returncode == 0, done.stderr
    assert "--set" in done.stdout  # the harness's own arguments


def test_nova_eval_outside_a_checkout_says_it_needs_one(tmp_path: Path) -> None:
    site = tmp_path / "site"  # the app installed on its own, no evals/ anywhere near
    shutil.copytree(
        ROOT / "nova_app", site / "nova_app", ignore=shutil.ignore_patterns("__pycache__")
    )
    (site / "nova_graph").symlink_to(ROOT / "nova_graph")
    done = _nova_eval(site, tmp_path, "eval", "roster", "--set", "held.yaml")
    assert done.returncode == 2
    assert "nova eval needs a checkout of the nova_graph repository" in done.stderr
    assert "Traceback" not in done.stderr
