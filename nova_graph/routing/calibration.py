"""Choosing the router's thresholds on held-out data (pure functions over numpy arrays)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from nova_graph.routing.linear_head import train_softmax_head

Floats = npt.NDArray[np.float32]
Bools = npt.NDArray[np.bool_]


def sigmoid(x: Floats) -> Floats:
    """The logistic function."""
    return (1.0 / (1.0 + np.exp(-np.clip(x, -40, 40)))).astype(np.float32)


def fit_confidence(in_scope: Floats, out_of_scope: Floats) -> tuple[Floats, float]:
    """Logistic regression separating in-scope from out-of-scope feature rows.

    Returns ``(weights, bias)`` acting on raw features: ``sigmoid(features @ weights + bias)`` is
    the probability that a request is in scope. Features are standardised while fitting and the
    scaling is folded back into the weights.
    """
    x = np.vstack([in_scope, out_of_scope]).astype(np.float32)
    y = np.concatenate(
        [np.ones(len(in_scope), dtype=np.int64), np.zeros(len(out_of_scope), dtype=np.int64)]
    )
    mean = x.mean(axis=0)
    std = np.where(x.std(axis=0) > 1e-6, x.std(axis=0), 1.0).astype(np.float32)
    # the penalty weighs like one request: negligible on thousands of rows, and it keeps a
    # small roster's few calibration rows from being separated with saturated certainty
    w, b = train_softmax_head((x - mean) / std, y, 2, iterations=500, l2=max(1e-3, 1 / len(x)))
    direction = (w[:, 1] - w[:, 0]) / std
    bias = float(b[1] - b[0] - (mean * (w[:, 1] - w[:, 0]) / std).sum())
    return direction.astype(np.float32), bias


def balanced_negatives(known: Floats, novel: Floats) -> Floats:
    """Out-of-scope rows for :func:`fit_confidence`: ``known`` kinds repeated so that they weigh
    as much in total as the ``novel`` (held-out group) rows, or either set alone."""
    if not len(known) or not len(novel):
        return np.vstack([known, novel]).astype(np.float32)
    repeat = max(round(len(novel) / len(known)), 1)
    return np.vstack([np.repeat(known, repeat, axis=0), novel]).astype(np.float32)


def in_scope_threshold(
    confidence: Floats, correct: Bools, min_accuracy: float, max_drop: float | None = None
) -> float:
    """The highest confidence threshold keeping in-scope accuracy at ``min_accuracy`` or more.

    In-scope accuracy counts a request as right when it is routed to its agent *and* not refused.
    With ``max_drop``, a target out of reach becomes "at most ``max_drop`` below accepting
    everything" (a small roster whose held-out examples route at 92 % still refuses what
    resembles none of them); without it, or with ``max_drop=0``, every request is then accepted
    (the lowest confidence seen, minus a hair).
    """
    if max_drop is not None:
        min_accuracy = min(min_accuracy, float(correct.mean()) - max_drop)
    order = np.argsort(-confidence)
    hits = np.cumsum(correct[order]) / len(confidence)  # accuracy when accepting the top i+1
    ok = np.nonzero(hits >= min_accuracy - 1e-9)[0]
    if len(ok) == 0:
        return float(confidence.min()) - 1e-6
    i = int(ok[0])
    # accept every request at least as confident as the i-th: the threshold sits just below it
    return float(confidence[order[i]]) - 1e-6


def refusal_floor(confidence: Floats, correct: Bools, share: float) -> float:
    """The threshold refusing the least confident ``share`` of the correctly routed requests.

    Rounded down to whole requests: ``-inf`` (no floor) when that share is less than one of
    them, so a small roster's handful of calibration requests keeps its operating point.
    """
    right = np.sort(confidence[correct])
    k = int(np.floor(share * len(right) + 1e-9))
    if k <= 0:
        return float("-inf")
    k = min(k, len(right) - 1)
    # accept every request at least as confident as the k-th lowest right one: just below it
    return float(right[k]) - 1e-6


def margin_threshold(threshold: float, confidence: Floats) -> float:
    """Move a probability ``threshold`` (set just below an accepted request) down to halfway, in
    log-odds, to the next lower ``confidence`` of any calibration request.

    On a large calibration set the gap is tiny and nothing changes; on a small roster's handful
    of held-out examples it keeps a new in-scope request slightly less typical than the least
    confident calibration one from being refused (a maximum-margin cut).
    """
    below = confidence[confidence < threshold]
    if not len(below):
        return threshold
    eps = 1e-6
    upper = np.clip(threshold + 1e-6, eps, 1 - eps)
    lower = np.clip(float(below.max()), eps, 1 - eps)

    def logit(p: float) -> float:
        return float(np.log(p / (1 - p)))

    return float(sigmoid(np.asarray([(logit(upper) + logit(lower)) / 2], np.float32))[0])


def ambiguity_margin(margin: Floats, correct: Bools, *, max_rate: float = 0.1) -> float:
    """The margin below which asking the user helps more than it costs.

    Flagging a request the router would have got wrong is a gain, flagging one it would have got
    right a loss; the margin maximises gains minus losses, flagging at most ``max_rate`` of
    requests. Returns 0.0 (never ambiguous) when flagging never helps.
    """
    order = np.argsort(margin)
    gain = np.cumsum(np.where(correct[order], -1, 1))
    limit = max(int(max_rate * len(margin)), 0)
    if limit == 0:
        return 0.0
    best = int(np.argmax(gain[:limit]))
    if gain[best] <= 0:
        return 0.0
    upper = margin[order[best + 1]] if best + 1 < len(order) else margin[order[best]] + 1e-6
    return float((margin[order[best]] + upper) / 2)


def split_threshold(
    candidates: Floats, pair_recall: list[float], false_split: list[float], max_false: float
) -> float:
    """The candidate threshold with the best pair recall among those within ``max_false``."""
    allowed = [i for i, f in enumerate(false_split) if f <= max_false]
    if not allowed:
        return float(candidates[int(np.argmin(false_split))])
    best = max(allowed, key=lambda i: (pair_recall[i], -false_split[i], -i))
    return float(candidates[best])
