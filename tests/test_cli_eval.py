"""`nova eval roster` runs on the app's own roster when no --roster is given."""

from __future__ import annotations

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
