"""Novelty of a request: how far it lies from every route's examples, in units of their spread.

A class-conditional Gaussian model of the example vectors: one mean per route and one shared
covariance, shrunk towards a multiple of the identity (Ledoit-Wolf), as in Lee et al. 2018 and
Podolskiy et al. 2021 ("Revisiting Mahalanobis distance for transformer-based out-of-domain
detection"). A request of a kind no route was built for lies far from every route's mean along
directions in which the examples hardly vary, even when it shares an entity or two with them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from nova_graph.routing.blas import one_blas_thread

Floats = npt.NDArray[np.float32]
#: Examples per route (on average) below which no distance is computed (the feature is 0): means
#: and a spread estimated from a handful of examples are noise (tests/test_routing_open_set.py's
#: four agents with four examples each: "book me a flight to Lisbon" was then accepted).
MIN_EXAMPLES_PER_ROUTE = 8
#: Smallest covariance eigenvalue used (a roster of one example per route has no spread at all).
_MIN_VARIANCE = 1e-6


def shrunk_covariance(centred: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The Ledoit-Wolf covariance of already centred rows: the sample covariance shrunk towards
    a multiple of the identity by the amount that minimises the expected squared error (the
    formula of scikit-learn's ``ledoit_wolf``, in numpy: loading a saved router, which refits
    this, imports neither scikit-learn nor scipy)."""
    n, p = centred.shape
    sample = centred.T @ centred / n
    mu = float(np.trace(sample)) / p
    delta_ = float((sample**2).sum())
    beta_ = float(((centred**2).sum(axis=1) ** 2).sum())
    beta = (beta_ / n - delta_) / (p * n)
    delta = (delta_ - 2.0 * mu * float(np.trace(sample)) + p * mu**2) / p
    shrinkage = 0.0 if delta <= 0 else min(beta, delta) / delta
    return (1.0 - shrinkage) * sample + shrinkage * mu * np.eye(p)


@dataclass
class GaussianNovelty:
    """Whitened route means: ``|x @ whiten - means[r]|`` is the Mahalanobis distance of a
    vector ``x`` to route ``r``."""

    means: Floats  # (routes, dims), whitened
    whiten: Floats  # (dims, dims)

    def __post_init__(self) -> None:
        self._squared_means = (self.means * self.means).sum(axis=1)[None, :]

    @classmethod
    def fit(cls, vectors: Floats, labels: npt.NDArray[np.int64], n_routes: int) -> GaussianNovelty:
        """Each route's mean and the covariance of ``vectors`` around their route's mean."""
        x = np.asarray(vectors, dtype=np.float64)
        counts = np.bincount(labels, minlength=n_routes).astype(np.float64)
        means = np.zeros((n_routes, x.shape[1]))
        np.add.at(means, labels, x)
        means /= np.maximum(counts, 1.0)[:, None]
        with one_blas_thread():  # as the projection's: many small BLAS calls (see routing.blas)
            cov = shrunk_covariance(x - means[labels]) if len(x) > 1 else None
            if cov is None or np.trace(cov) <= _MIN_VARIANCE:
                cov = np.eye(x.shape[1])
            eigvals, eigvecs = np.linalg.eigh(cov)
        whiten = eigvecs / np.sqrt(np.maximum(eigvals, _MIN_VARIANCE))
        return cls((means @ whiten).astype(np.float32), whiten.astype(np.float32))

    @classmethod
    def fit_if_enough(
        cls, vectors: Floats, labels: npt.NDArray[np.int64], n_routes: int
    ) -> GaussianNovelty | None:
        """:meth:`fit`, or ``None`` below ``MIN_EXAMPLES_PER_ROUTE`` examples per route."""
        if len(vectors) < MIN_EXAMPLES_PER_ROUTE * n_routes:
            return None
        return cls.fit(vectors, labels, n_routes)

    def distances(self, queries: Floats) -> Floats:
        """(queries, routes) Mahalanobis distances."""
        z = np.asarray(queries, dtype=np.float32) @ self.whiten
        sq = (z * z).sum(axis=1, keepdims=True) - 2 * z @ self.means.T + self._squared_means
        return np.sqrt(np.maximum(sq, 0.0)).astype(np.float32)
