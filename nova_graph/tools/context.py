"""What tools need from the running system: where data lives, the memory, the model."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nova_graph.settings import default_data_dir


@dataclass
class ToolContext:
    """Shared resources handed to tool factories; every field has an offline default."""

    data_dir: Path = field(default_factory=default_data_dir)
    memory: Any = None
    model: Any = None

    def ensure_data_dir(self) -> Path:
        """Create the data directory (user-only permissions) and return it."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self.data_dir
