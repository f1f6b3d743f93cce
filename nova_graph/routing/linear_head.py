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
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


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
        residual = softmax(xb @ w + b)
        residual[np.arange(len(rows)), y[rows]] -= 1.0
        # a mini-batch's gradient, scaled up to estimate the full one
        residual *= (row_weight[rows] * (len(y) / len(rows)))[:, None]
        gw = xb.T @ residual + l2 * w
        gb = residual.sum(axis=0)
        mw = beta1 * mw + (1 - beta1) * gw
        vw = beta2 * vw + (1 - beta2) * gw * gw
        mb = beta1 * mb + (1 - beta1) * gb
        vb = beta2 * vb + (1 - beta2) * gb * gb
        c1, c2 = 1 - beta1**t, 1 - beta2**t
        w -= learning_rate * (mw / c1) / (np.sqrt(vw / c2) + eps)
        b -= learning_rate * (mb / c1) / (np.sqrt(vb / c2) + eps)
    return w.astype(np.float32), b.astype(np.float32)
