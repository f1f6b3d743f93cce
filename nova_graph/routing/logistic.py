"""A calibrated yes/no decision over a few numeric features: logistic weights plus the band in
which it is unsure (the follow-up and clarification decisions of a conversation turn)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field

from nova_graph.routing.calibration import fit_confidence, sigmoid


class LogisticRule(BaseModel):
    """``sigmoid(features @ weights + bias)`` is the probability of "yes".

    Below ``low`` the answer is a confident no, at or above ``high`` a confident yes; in between
    the rule is unsure (a configured model may arbitrate) and falls back to ``threshold``.
    """

    features: list[str]
    weights: list[float]
    bias: float = 0.0
    threshold: float = 0.5
    low: float = 0.5
    high: float = 0.5
    report: dict[str, float] = Field(default_factory=dict)

    def probability(self, row: Sequence[float]) -> float:
        """The probability of "yes" for one feature row."""
        x = np.asarray(row, dtype=np.float32)
        if x.shape != (len(self.weights),):
            raise ValueError(f"expected {len(self.weights)} features, got {x.shape}")
        w = np.asarray(self.weights, dtype=np.float32)
        return float(sigmoid(np.asarray([x @ w + self.bias], dtype=np.float32))[0])

    def unsure(self, p: float) -> bool:
        """Whether ``p`` falls in the band where the rule is not confident."""
        return self.low <= p < self.high

    @classmethod
    def fit(
        cls,
        names: Sequence[str],
        positive: npt.NDArray[np.float32],
        negative: npt.NDArray[np.float32],
        *,
        max_false_positive: float | None = None,
        band_accuracy: float = 0.99,
        folds: int = 5,
        threshold: float | None = None,
    ) -> LogisticRule:
        """Fit on labelled rows; pick the threshold and the unsure band on the same rows.

        ``threshold`` (when not given) maximises accuracy, or (with ``max_false_positive``) is
        the lowest one that says yes to at most that share of ``negative`` rows. The band is the
        narrowest interval around it outside which accuracy reaches ``band_accuracy`` on
        out-of-fold probabilities (``folds``-fold cross-fitting; the plain probabilities when
        there are too few rows).
        """
        w, b = fit_confidence(positive, negative)
        rule = cls(features=list(names), weights=[float(v) for v in w], bias=float(b))
        p_pos = np.asarray([rule.probability(r) for r in positive])
        p_neg = np.asarray([rule.probability(r) for r in negative])
        grid = np.unique(np.concatenate([p_pos, p_neg, [0.5]]))
        if threshold is not None:
            pass  # the calibrated probability's own cut, not one tuned on the fitted rows
        elif max_false_positive is not None:
            ok = [t for t in grid if (p_neg >= t).mean() <= max_false_positive]
            threshold = float(min(ok)) if ok else float(grid.max()) + 1e-6
        else:
            acc = [
                ((p_pos >= t).sum() + (p_neg < t).sum()) / (len(p_pos) + len(p_neg)) for t in grid
            ]
            threshold = float(grid[int(np.argmax(acc))])
        rule.threshold = threshold
        # The band comes from out-of-fold probabilities: rows a rule was fitted on look more
        # certain than new ones (a separable dev set would leave no band at all).
        oof_pos, oof_neg = _out_of_fold(names, positive, negative, folds)
        rule.low, rule.high = _band(oof_pos, oof_neg, threshold, band_accuracy)
        rule.report = {
            "true_positive_rate": float((p_pos >= threshold).mean()) if len(p_pos) else 0.0,
            "false_positive_rate": float((p_neg >= threshold).mean()) if len(p_neg) else 0.0,
            "unsure_rate": float(np.mean([rule.unsure(p) for p in np.concatenate([p_pos, p_neg])])),
            "rows": float(len(p_pos) + len(p_neg)),
        }
        return rule

    def decide(self, p: float) -> bool:
        """The rule's answer for probability ``p``."""
        return p >= self.threshold

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return self.model_dump()


def _out_of_fold(
    names: Sequence[str],
    positive: npt.NDArray[np.float32],
    negative: npt.NDArray[np.float32],
    folds: int,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Each row's probability from a rule fitted without it (rows dealt to folds in turn)."""
    rows = [(r, True) for r in positive] + [(r, False) for r in negative]
    fold_of = np.arange(len(rows)) % max(folds, 1)
    out = np.zeros(len(rows))
    for k in range(max(folds, 1)):
        train = [rows[i] for i in range(len(rows)) if fold_of[i] != k]
        pos = np.asarray([r for r, y in train if y], dtype=np.float32)
        neg = np.asarray([r for r, y in train if not y], dtype=np.float32)
        if folds < 2 or len(pos) == 0 or len(neg) == 0:
            w, b = fit_confidence(positive, negative)
        else:
            w, b = fit_confidence(pos, neg)
        rule = LogisticRule(features=list(names), weights=[float(v) for v in w], bias=float(b))
        for i in np.flatnonzero(fold_of == k):
            out[i] = rule.probability(rows[i][0])
    return out[: len(positive)], out[len(positive) :]


def _band(
    p_pos: npt.NDArray[np.floating], p_neg: npt.NDArray[np.floating], t: float, target: float
) -> tuple[float, float]:
    """The narrowest ``[t - d, t + d)`` outside which decisions are right ``target`` of the time."""
    probs = np.concatenate([p_pos, p_neg])
    right = np.concatenate([p_pos >= t, p_neg < t])
    for d in np.linspace(0.0, 0.5, 51):
        outside = (probs < t - d) | (probs >= t + d)
        if not outside.any() or right[outside].mean() >= target:
            return max(0.0, float(t - d)), min(1.0, float(t + d))
    return max(0.0, t - 0.5), min(1.0, t + 0.5)
