"""Every file and directory the project creates is user-only (no group or other bits)."""

from __future__ import annotations

from pathlib import Path

from tests.attack_scenarios import first_command_session, private_session, shared_paths


def test_a_first_session_on_a_fresh_data_dir_creates_only_private_files(tmp_path: Path) -> None:
    data = tmp_path / "fresh" / "nova-data"
    private_session(data)
    for made in ("chroma/chroma.sqlite3", "checkpoints.sqlite", "runs.sqlite", "effects.sqlite"):
        assert (data / made).exists(), made
    assert list((data / "backups").glob("erp-*.sqlite"))
    assert shared_paths(tmp_path / "fresh") == []


def test_nova_ask_as_the_first_command_creates_only_private_files(tmp_path: Path) -> None:
    done = first_command_session(tmp_path / "home")
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "home" / "nova").is_dir()
    assert shared_paths(tmp_path / "home") == []
