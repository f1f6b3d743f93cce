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

# Trained routers are cached by content; tests (and the servers and workers they start, which
# inherit the environment) share one cache in the checkout instead of the user's home.
os.environ["NOVA_CACHE_DIR"] = str(Path(__file__).resolve().parent.parent / ".nova-test-cache")


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
