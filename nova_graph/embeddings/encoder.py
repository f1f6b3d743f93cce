"""The encoder protocol: texts in, one L2-normalised float32 vector per text out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]


@runtime_checkable
class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text."""

    dimension: int

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Encode ``texts`` into a ``(len(texts), dimension)`` array of unit vectors."""
        ...
