"""What tools need from the running system: where data lives, the memory, the model."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nova_graph.settings import default_data_dir

if TYPE_CHECKING:
    from nova_graph.memory.protocol import MemoryStore


@dataclass
class ToolContext:
    """Shared resources handed to tool factories; every field has an offline default."""

    data_dir: Path = field(default_factory=default_data_dir)
    memory: MemoryStore | None = None
    model: Any = None
    #: The memory namespace of runs without ``configurable.user_id`` (see ``run_namespace``).
    memory_namespace: str = "default"

    def ensure_data_dir(self) -> Path:
        """Create the data directory (user-only permissions) and return it."""
        from nova_graph.private import private_dir

        return private_dir(self.data_dir)
