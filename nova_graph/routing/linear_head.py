"""The linear softmax head of the router and of its lexical channel: a row-wise softmax and
multinomial logistic regression trained by Adam, in plain numpy."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from nova_graph.embeddings import Vectors

#: Class index of each row.
Labels = npt.NDArray[np.int64]


def softmax(logits: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Row-wise softmax, numerically stable."""
    z = logits - logits.max(axis=1, keepdims=True)
    return _softmax_shifted(z)


def _softmax_shifted(z: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The softmax of rows whose maximum is already 0, computed in place in ``z``."""
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z.astype(np.float32, copy=False)


def train_softmax_head(
    x: Vectors,
    y: Labels,
    n_classes: int,
    *,
    iterations: int = 300,
    learning_rate: float = 0.05,
    l2: float = 1e-6,
    seed: int = 0,
    batch_size: int | None = None,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Multinomial logistic regression by Adam; returns ``(weights, bias)``.

    Classes are weighted inversely to their size so a route with many examples does not crowd
    out the others. Each of the ``iterations`` steps uses every row (``batch_size`` None, or at
    least the number of rows: deterministic full batch) or the next ``batch_size`` rows of a
    seeded shuffle, which bounds a step's time and memory on large rosters.
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    counts = np.bincount(y, minlength=n_classes).astype(np.float32)
    class_weight = np.where(counts > 0, len(y) / (n_classes * np.maximum(counts, 1)), 0.0)
    row_weight = class_weight[y].astype(np.float32) / len(y)
    full = batch_size is None or batch_size >= len(y)
    order = np.arange(len(y)) if full else np.random.default_rng(seed).permutation(len(y))
    step_rows = len(y) if full else int(batch_size)  # type: ignore[arg-type]
    w = np.zeros((x.shape[1], n_classes), dtype=np.float32)
    b = np.zeros(n_classes, dtype=np.float32)
    mw: npt.NDArray[np.floating] = np.zeros_like(w)
    vw: npt.NDArray[np.floating] = np.zeros_like(w)
    mb: npt.NDArray[np.floating] = np.zeros_like(b)
    vb: npt.NDArray[np.floating] = np.zeros_like(b)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for t in range(1, iterations + 1):
        start = ((t - 1) * step_rows) % len(y)
        rows = order[start : start + step_rows] if not full else order
        xb = x if full else x[rows]
        logits = xb @ w
        logits += b
        logits -= logits.max(axis=1, keepdims=True)
        residual = _softmax_shifted(logits)
        residual[np.arange(len(rows)), y[rows]] -= 1.0
        # a mini-batch's gradient, scaled up to estimate the full one
        residual *= (row_weight[rows] * (len(y) / len(rows)))[:, None]
        gw = xb.T @ residual
        gw += l2 * w
        gb = residual.sum(axis=0)
        c1, c2 = 1 - beta1**t, 1 - beta2**t
        _adam_step(w, gw, mw, vw, (beta1, beta2, eps, c1, c2, learning_rate))
        _adam_step(b, gb, mb, vb, (beta1, beta2, eps, c1, c2, learning_rate))
    return w.astype(np.float32), b.astype(np.float32)


def _adam_step(
    param: npt.NDArray[np.float32],
    grad: npt.NDArray[np.float32],
    m: npt.NDArray[np.floating],
    v: npt.NDArray[np.floating],
    constants: tuple[float, float, float, float, float, float],
) -> None:
    """One Adam update of ``param`` and its moments, in place (no full-size temporaries beyond
    two: a step on 1,000 routes updates 385,000 weights)."""
    beta1, beta2, eps, c1, c2, learning_rate = constants
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    sq = (1 - beta2) * grad
    sq *= grad
    v += sq
    denominator = np.divide(v, c2, out=sq)
    np.sqrt(denominator, out=denominator)
    denominator += eps
    step = m / c1
    step *= learning_rate
    step /= denominator
    param -= step
