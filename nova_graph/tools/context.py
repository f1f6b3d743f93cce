"""What tools need from the running system: where data lives, the memory, the model."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def default_data_dir() -> Path:
    """The user's data directory: ``$NOVA_DATA_DIR``, else ``~/.local/share/nova_graph``."""
    import os

    env = os.environ.get("NOVA_DATA_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "nova_graph"


def default_cache_dir() -> Path:
    """Where derived, rebuildable files live (trained routers): ``$NOVA_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/nova_graph`` or ``~/.cache/nova_graph``. Entries are keyed by content, so
    every data directory and process can share them."""
    import os

    env = os.environ.get("NOVA_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "nova_graph"


@dataclass
class ToolContext:
    """Shared resources handed to tool factories; every field has an offline default."""

    data_dir: Path = field(default_factory=default_data_dir)
    memory: Any = None
    model: Any = None
    #: The memory namespace of runs without ``configurable.user_id`` (see ``run_namespace``).
    memory_namespace: str = "default"

    def ensure_data_dir(self) -> Path:
        """Create the data directory (user-only permissions) and return it."""
        from nova_graph.private import private_dir

        return private_dir(self.data_dir)
