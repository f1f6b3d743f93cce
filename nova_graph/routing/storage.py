"""Saving and loading a semantic router's parts: example vectors as ``.npz``, settings as JSON.

:class:`~nova_graph.routing.semantic.SemanticRouter` ``.save``/``.load`` use it; it knows the
parts (:class:`SavedRouter`), not the router, so the two modules do not import each other.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nova_graph.embeddings import Encoder
from nova_graph.errors import RoutingError
from nova_graph.private import private_dir
from nova_graph.routing.lexical import KINDS, LexicalModel, SparseWeights
from nova_graph.routing.scoring import FEATURES, RouteModel

FORMAT = "nova_graph.semantic_router"
#: 4: lexical weights row-sparse, arrays compressed, vectors of projected models at half precision.
VERSION = 4
CONFIG = "router.json"
ARRAYS = "vectors.npz"
_ARRAY_NAMES = (
    "vectors",
    "labels",
    "negatives",
    "head_weights",
    "head_bias",
    "center",
    "projection",
)


@dataclass
class SavedRouter:
    """What a saved router holds: its numeric model, examples, settings and calibration report."""

    model: RouteModel
    examples: dict[str, Any] = field(default_factory=dict)
    thresholds: dict[str, Any] = field(default_factory=dict)
    calibration_report: dict[str, Any] = field(default_factory=dict)


def save_router(router: SavedRouter, path: Path) -> Path:
    """Write ``router`` into directory ``path`` (created if needed); files are replaced whole."""
    model = router.model
    private_dir(path)
    config: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "dimension": int(model.vectors.shape[1]),
        "features": list(FEATURES),
        "routes": model.routes,
        "params": {
            "k": model.k,
            "neighbours": model.neighbours,
            "temperature": model.temperature,
        },
        "thresholds": router.thresholds,
        "examples": router.examples,
        "calibration_report": router.calibration_report,
    }
    arrays = {name: getattr(model, name) for name in _ARRAY_NAMES}
    if model.projection.shape[1] < model.projection.shape[0]:
        # kNN runs in the projected space, so half precision moves similarities by < 1e-3 while
        # halving the largest array (20,000 examples: 29 MB -> 15 MB)
        arrays["vectors"] = arrays["vectors"].astype(np.float16)
    if model.lexical is not None:
        arrays |= _lexical_arrays(model.lexical)
    _atomic_write(path / ARRAYS, lambda f: np.savez_compressed(f, **arrays))
    _atomic_write(path / CONFIG, lambda f: f.write(json.dumps(config, indent=1).encode()))
    return path


def _lexical_arrays(lexical: LexicalModel) -> dict[str, Any]:
    w = lexical.weights
    out: dict[str, Any] = {
        "lexical_indptr": w.indptr,
        "lexical_indices": w.indices,
        "lexical_data": w.data,
        "lexical_bias": lexical.bias,
    }
    for kind, terms in lexical.vocabularies.items():
        out[f"lexical_terms_{kind}"] = np.asarray(terms, dtype=str)
        out[f"lexical_idf_{kind}"] = lexical.idf[kind]
    return out


def _load_lexical(data: Any, n_routes: int) -> LexicalModel | None:
    """The saved lexical channel, or ``None`` if the router was saved without one."""
    if "lexical_bias" not in data:
        return None
    vocab = {k: [str(t) for t in data[f"lexical_terms_{k}"]] for k in KINDS}
    idf = {k: data[f"lexical_idf_{k}"].astype(np.float32) for k in KINDS}
    bias = data["lexical_bias"].astype(np.float32)
    indptr, indices = data["lexical_indptr"].astype(np.int64), data["lexical_indices"]
    weights = SparseWeights(
        indptr, indices, data["lexical_data"].astype(np.float32), int(bias.shape[0])
    )
    n_terms = sum(len(v) for v in vocab.values())
    if (
        indptr.shape != (n_terms + 1,)
        or indptr[0] != 0
        or np.any(np.diff(indptr) < 0)
        or indptr[-1] != len(indices)
        or weights.data.shape != indices.shape
        or (len(indices) and int(indices.max()) >= bias.shape[0])
        or bias.shape[0] not in (n_routes, n_routes + 1)
        or any(idf[k].shape != (len(vocab[k]),) for k in KINDS)
    ):
        raise ValueError("the lexical channel's arrays do not match the routes")
    return LexicalModel(vocab, idf, weights, bias)


def _atomic_write(target: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_router(path: Path, encoder: Encoder) -> SavedRouter:
    """Read a router written by :func:`save_router`, checking that every part fits together
    (and that ``encoder`` gives vectors of the saved dimension)."""
    cfg_path, arr_path = path / CONFIG, path / ARRAYS
    if not cfg_path.is_file() or not arr_path.is_file():
        raise RoutingError(
            f"{path} is not a saved router: expected {CONFIG} and {ARRAYS} in it "
            "(write one with SemanticRouter.save)"
        )
    try:
        config = json.loads(cfg_path.read_text())
        with np.load(arr_path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in _ARRAY_NAMES}
            routes = config.get("routes") if isinstance(config, dict) else None
            lexical = _load_lexical(data, len(routes) if isinstance(routes, list) else 0)
    except (OSError, ValueError, KeyError) as exc:
        raise RoutingError(f"cannot read the saved router in {path}: {exc}; save it again") from exc
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise RoutingError(f"{cfg_path} is not a nova_graph router file; save the router again")
    if config.get("version") != VERSION:
        raise RoutingError(
            f"{cfg_path} has format version {config.get('version')!r}, this nova_graph reads "
            f"version {VERSION}; rebuild and save the router again"
        )
    if config.get("features") != list(FEATURES):
        raise RoutingError(f"{cfg_path} was saved with other confidence features; recalibrate")
    routes = config.get("routes")
    dim = config.get("dimension")
    if dim != int(encoder.dimension):
        raise RoutingError(
            f"the saved router uses {dim}-dimensional vectors but the encoder gives "
            f"{encoder.dimension}; load it with the encoder it was built with"
        )
    vectors, labels = arrays["vectors"], arrays["labels"]
    n_routes = len(routes) if isinstance(routes, list) else 0
    if (
        not n_routes
        or vectors.ndim != 2
        or vectors.shape[1] != dim
        or labels.shape != (vectors.shape[0],)
        or (len(labels) and (labels.min() < 0 or labels.max() >= n_routes))
        or arrays["head_weights"].shape[0] != dim
        or arrays["head_weights"].shape[1] != arrays["head_bias"].shape[0]
        or arrays["head_bias"].shape[0] not in (n_routes, n_routes + 1)
        or arrays["center"].shape != (dim,)
        or arrays["projection"].ndim != 2
        or arrays["projection"].shape[0] != dim
    ):
        raise RoutingError(f"the arrays in {arr_path} do not match {cfg_path}; save it again")
    params = config.get("params", {})
    assert isinstance(routes, list)  # checked above (n_routes > 0)
    model = RouteModel(
        [str(r) for r in routes],
        vectors.astype(np.float32),
        labels.astype(np.int64),
        arrays["negatives"].astype(np.float32).reshape(-1, dim),
        arrays["head_weights"].astype(np.float32),
        arrays["head_bias"].astype(np.float32),
        arrays["center"].astype(np.float32),
        arrays["projection"].astype(np.float32),
        k=int(params.get("k", 5)),
        neighbours=int(params.get("neighbours", 50)),
        temperature=float(params.get("temperature", 0.05)),
        lexical=lexical,
    )
    thresholds = config.get("thresholds") or {}
    if not isinstance(thresholds, dict):
        raise RoutingError(f"{cfg_path} has bad settings {thresholds!r}; save it again")
    return SavedRouter(
        model,
        examples=config.get("examples") or {},
        thresholds=thresholds,
        calibration_report=dict(config.get("calibration_report") or {}),
    )
