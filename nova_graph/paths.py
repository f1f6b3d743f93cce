"""The settings' default directories (data and cache), with no import beyond the standard library.

:mod:`nova_graph.settings` re-exports both; a command imports them from here to look at its
caches before the settings (and LangGraph) have loaded, e.g. to show first-run progress at once.
"""

from __future__ import annotations

import os
from pathlib import Path


def default_data_dir() -> Path:
    """The user's data directory: ``$NOVA_DATA_DIR``, else ``~/.local/share/nova_graph``."""
    env = os.environ.get("NOVA_DATA_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "nova_graph"


def default_cache_dir() -> Path:
    """Where derived, rebuildable files live (trained routers): ``$NOVA_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/nova_graph`` or ``~/.cache/nova_graph``. Entries are keyed by content, so
    every data directory and process can share them."""
    env = os.environ.get("NOVA_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nova_graph"
