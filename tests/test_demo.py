"""``nova demo`` checks every scripted situation and fails loudly when one goes otherwise."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from nova_app.cli.demo import check_expectation, load_script, run


def test_packaged_demo_runs_every_situation_as_scripted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = run(argparse.Namespace(data_dir=str(tmp_path), script=None))
    out = capsys.readouterr().out
    n = len(load_script(None))
    assert rc == 0, out
    assert f"{n}/{n} situations as scripted" in out
    assert "nova asks: Did you mean" in out  # the clarifying question really is asked


def test_demo_with_a_false_expectation_exits_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "demo.yaml"
    script.write_text(
        "requests:\n"
        "  - kind: claims a clarification\n"
        "    request: what time is it right now?\n"
        "    expect: {asks: [clarification]}\n",
        encoding="utf-8",
    )
    rc = run(argparse.Namespace(data_dir=str(tmp_path / "data"), script=str(script)))
    out = capsys.readouterr().out
    assert rc == 1
    assert "NOT AS SCRIPTED: expected pauses ['clarification'], got []" in out


def test_expectation_check_names_each_difference() -> None:
    problems = check_expectation(
        {"agents": ["erp_inventory"], "asks": ["approval"], "out_of_scope": True},
        routes=["erp_forecast"],
        asked=[],
    )
    assert len(problems) == 3
    assert check_expectation({"agents": ["a", "b"]}, routes=["b", "a"], asked=[]) == []
