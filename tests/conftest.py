"""Shared fixtures: a temporary data directory, the small test roster, the offline model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nova_graph.models import OfflineChatModel
from nova_graph.roster import Roster, load_roster

DATA = Path(__file__).parent / "data"

# No test may reach a real model API, whatever the developer's shell exports.
for _var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "NOVA_MODEL"):
    os.environ.pop(_var, None)


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh nova_graph data directory for one test."""
    d = tmp_path / "nova-data"
    monkeypatch.setenv("NOVA_DATA_DIR", str(d))
    return d


@pytest.fixture(scope="session")
def small_roster() -> Roster:
    """Four agents with distinct tools (tests/data/roster_small.yaml)."""
    return load_roster(DATA / "roster_small.yaml")


@pytest.fixture()
def offline_model() -> OfflineChatModel:
    """The embedded offline chat model."""
    return OfflineChatModel()
