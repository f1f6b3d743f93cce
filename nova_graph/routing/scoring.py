"""The numeric core of the semantic router: kNN over example vectors plus a learned linear head.

Everything here is plain numpy on L2-normalised sentence vectors, so a router with thousands of
examples scores a request in well under a millisecond once its vector is known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import numpy.typing as npt

from nova_graph.routing.blas import one_blas_thread
from nova_graph.routing.lexical import LexicalModel
from nova_graph.routing.linear_head import Labels, softmax, train_softmax_head
from nova_graph.routing.novelty import GaussianNovelty

Vectors = npt.NDArray[np.float32]

#: Names of the confidence features, in the order :func:`RouteModel.score` returns them.
FEATURES: tuple[str, ...] = (
    "route_topk",  # mean of the k best similarities inside the chosen route
    "top1",  # best similarity to any example
    "prob",  # combined probability of the chosen route
    "margin",  # combined probability gap between the best two routes
    "topk_all",  # mean of the 10 best similarities overall
    "negative_topk",  # mean of the 5 best similarities to out-of-scope examples (0 if none)
    "head_oos",  # the linear head's out-of-scope probability (0 if no negatives)
    "lexical_oos",  # the lexical channel's out-of-scope probability (0 if none)
    # novelty: how strongly anything the router knows responds at all (log-sum-exp of the route
    # logits, an "energy" score: low for a kind of request no route was trained on)
    "head_energy",  # of the linear head's route logits
    "lexical_energy",  # of the lexical channel's route logits (0 if none)
    # novelty: Mahalanobis distance to the nearest route's mean (nova_graph.routing.novelty; 0
    # with fewer than novelty.MIN_EXAMPLES_PER_ROUTE examples per route)
    "route_distance",
)
_CHUNK = 512
_SMALL_BATCH = 16  # below this, one BLAS thread is faster (no wake-ups on a busy machine)
#: The head trains full-batch (300 steps) up to this many rows: the roster has 1,234.
HEAD_FULL_BATCH_ROWS = 2048
#: Past it, ``HEAD_STEPS`` steps of ``HEAD_BATCH`` rows at ``HEAD_LEARNING_RATE``: 1,000 routes x
#: 20 examples take ~8 epochs, a quarter of the arithmetic of the former 300 steps of 2,048
#: rows at 0.05, with the same top-1 of the head alone on a CLINC150 dev split (val requests
#: 3-5 of each intent, not the benchmark's held-out ones): 89.50 % against 89.47 %.
HEAD_BATCH = 1024
HEAD_STEPS = 150
HEAD_LEARNING_RATE = 0.1
#: Weight of the lexical channel before calibration (calibration on the roster and on CLINC150
#: chose 0.6; uncalibrated, 0.5 beat 0 on the roster dev set with 3, 6, 10 and 20 examples per
#: agent: python -m evals.roster.experiments uncalibrated).
DEFAULT_LEXICAL_WEIGHT = 0.5
_MIN_EXAMPLES_PER_DIM = 20  # project only with plenty of examples (>= 1,280 at 64 dims)


def fit_projection(
    vectors: Vectors, dims: int | None
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Centre and PCA-project the example vectors to ``dims`` dimensions (kNN space).

    Centring removes the direction every MiniLM vector shares, which sharpens the neighbours;
    fewer dimensions make a request's similarities to thousands of examples cheap. With few
    examples the identity is returned.
    """
    d = vectors.shape[1]
    if dims is None or dims >= d or len(vectors) < _MIN_EXAMPLES_PER_DIM * dims:
        # few examples: raw cosine is cheap already, and a mean of few vectors is no "shared
        # direction" (two identical examples would centre to nothing)
        return np.zeros(d, dtype=np.float32), np.eye(d, dtype=np.float32)
    center = vectors.mean(axis=0).astype(np.float32)
    # the top right singular vectors are the top eigenvectors of the d x d scatter matrix: one
    # (n x d) product and a small eigh, instead of an SVD of the whole (n x d) matrix
    centred = (vectors - center).astype(np.float64)
    scatter = centred.T @ centred
    # LAPACK's many small BLAS calls on several threads: 2.4 s on a busy 2-core machine, 0.05 s
    # on one
    with one_blas_thread():
        _, eigvecs = np.linalg.eigh(scatter)  # ascending eigenvalues
    return center, np.ascontiguousarray(eigvecs[:, ::-1][:, :dims], dtype=np.float32)


def project(
    vectors: Vectors, center: npt.NDArray[np.float32], projection: npt.NDArray[np.float32]
) -> Vectors:
    """Vectors in kNN space: centred, projected, re-normalised."""
    out = (vectors - center) @ projection
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return (out / np.maximum(norms, 1e-9)).astype(np.float32)


def _route_columns(probs: npt.NDArray[np.float32], n_routes: int) -> npt.NDArray[np.float32]:
    """The route columns of class probabilities (dropping an out-of-scope class), summing to 1."""
    routes = probs[:, :n_routes]
    return routes / np.maximum(routes.sum(axis=1, keepdims=True), 1e-9)


def _logsumexp(logits: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Row-wise log-sum-exp (``-inf`` entries count as absent)."""
    top = logits.max(axis=1, keepdims=True)
    return (np.log(np.exp(logits - top).sum(axis=1)) + top[:, 0]).astype(np.float32)


def _mean_topk(sims: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.float32]:
    if sims.shape[1] == 0:
        return np.zeros(sims.shape[0], dtype=np.float32)
    k = min(k, sims.shape[1])
    top = np.partition(sims, sims.shape[1] - k, axis=1)[:, sims.shape[1] - k :]
    return (top.sum(axis=1) / k).astype(np.float32)  # the mean, without np.mean's overhead


@dataclass
class Scores:
    """Per-request route probabilities and confidence features."""

    probs: npt.NDArray[np.float32]  # (n, routes) combined probabilities
    features: npt.NDArray[np.float32]  # (n, len(FEATURES))

    @cached_property
    def best(self) -> Labels:
        """Index of the best route per request (computed once: clause splitting asks often)."""
        return self.probs.argmax(axis=1).astype(np.int64)


@dataclass
class RouteModel:
    """Example vectors (sorted by route), optional out-of-scope vectors, the linear head, and
    an optional lexical channel mixed in with weight ``lexical_weight``."""

    routes: list[str]
    vectors: Vectors
    labels: Labels
    negatives: Vectors
    head_weights: npt.NDArray[np.float32]
    head_bias: npt.NDArray[np.float32]
    center: npt.NDArray[np.float32]
    projection: npt.NDArray[np.float32]
    k: int = 5
    neighbours: int = 50
    temperature: float = 0.05
    mix: float = 0.5
    lexical: LexicalModel | None = None
    lexical_weight: float = 0.0
    _offsets: list[tuple[int, int]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        order = np.argsort(self.labels, kind="stable")
        self.vectors = np.ascontiguousarray(self.vectors[order], dtype=np.float32)
        keys = project(self.vectors, self.center, self.projection)
        # stored transposed (dims, examples): a request's similarities are then a product with
        # contiguous rows, ~20 % faster for one request than with the transposed view
        self._key_columns = np.ascontiguousarray(keys.T)
        self._negative_keys = (
            project(self.negatives, self.center, self.projection)
            if len(self.negatives)
            else self.negatives
        )
        self.labels = self.labels[order].astype(np.int64)
        bounds = np.searchsorted(self.labels, np.arange(len(self.routes) + 1))
        self._offsets = [(int(bounds[i]), int(bounds[i + 1])) for i in range(len(self.routes))]
        # (routes, widest route) example columns, padded with a sentinel column past the end:
        # per-route top-k becomes one gather and one partition instead of a loop over routes
        sizes = np.diff(bounds)
        width = max(int(sizes.max()) if len(sizes) else 0, 1)
        slots = bounds[:-1, None] + np.arange(width)[None, :]
        self._slots = np.where(slots < bounds[1:, None], slots, len(self.labels))
        self._route_k = np.minimum(sizes, self.k)
        # in kNN space: the same distances on small rosters, 64 dimensions on large ones
        self._novelty = GaussianNovelty.fit_if_enough(keys, self.labels, len(self.routes))

    @classmethod
    def train(
        cls,
        routes: list[str],
        vectors: Vectors,
        labels: Labels,
        negatives: Vectors,
        *,
        dims: int | None = 64,
        texts: Sequence[str] | None = None,
        negative_texts: Sequence[str] = (),
        **params: float,
    ) -> RouteModel:
        """Fit the kNN projection and the linear head (plus an out-of-scope class when
        negatives are given); with ``texts`` (the examples' own words, row for row with
        ``vectors``) also the lexical channel."""
        center, projection = fit_projection(vectors, dims)
        x, y, n_classes = vectors, labels, len(routes)
        if len(negatives):
            x = np.vstack([vectors, negatives])
            y = np.concatenate([labels, np.full(len(negatives), n_classes, dtype=np.int64)])
            n_classes += 1
        if len(y) <= HEAD_FULL_BATCH_ROWS:
            w, b = train_softmax_head(x, y, n_classes)
        else:
            w, b = train_softmax_head(
                x,
                y,
                n_classes,
                batch_size=HEAD_BATCH,
                iterations=HEAD_STEPS,
                learning_rate=HEAD_LEARNING_RATE,
            )
        lexical = None
        if texts is not None:
            if len(texts) != len(vectors) or len(negative_texts) != len(negatives):
                raise ValueError("texts must match vectors, and negative_texts negatives")
            lex_labels = np.concatenate(
                [labels, np.full(len(negative_texts), len(routes), dtype=np.int64)]
            )
            lexical = LexicalModel.train(
                [*texts, *negative_texts], lex_labels, len(routes) + bool(len(negative_texts))
            )
        return cls(
            routes,
            vectors,
            labels,
            negatives,
            w,
            b,
            center,
            projection,
            lexical=lexical,
            lexical_weight=DEFAULT_LEXICAL_WEIGHT if lexical is not None else 0.0,
            **params,  # type: ignore[arg-type]
        )

    def head_probs(self, queries: Vectors) -> npt.NDArray[np.float32]:
        """The linear head's probabilities (last column: out of scope, when trained with one)."""
        return softmax(queries @ self.head_weights + self.head_bias)

    def lexical_probs(self, texts: Sequence[str] | None, n: int) -> npt.NDArray[np.float32]:
        """The lexical channel's class probabilities for ``texts`` (empty columns without one).

        A model with a lexical channel needs the request texts, row for row with the vectors.
        """
        logits = self.lexical_logits(texts, n)
        return softmax(logits) if logits.shape[1] else logits

    def lexical_logits(self, texts: Sequence[str] | None, n: int) -> npt.NDArray[np.float32]:
        """The lexical channel's class logits for ``texts`` (empty columns without one)."""
        if self.lexical is None:
            return np.zeros((n, 0), dtype=np.float32)
        if texts is None or len(texts) != n:
            raise ValueError("this route model has a lexical channel: pass the request texts")
        return self.lexical.logits(texts)

    def score(
        self,
        queries: Vectors,
        texts: Sequence[str] | None = None,
        *,
        hidden: Sequence[int] = (),
        lexical: npt.NDArray[np.float32] | None = None,
    ) -> Scores:
        """Combined route probabilities and confidence features for each query vector
        (``texts``: the requests themselves, needed when the model has a lexical channel).

        ``hidden`` route indices are scored as if the model had never seen them (their examples
        are never neighbours, their head and lexical columns are dropped): calibration uses this
        to present a route's own requests as a kind of request nobody was built for.
        ``lexical`` passes the lexical logits when already computed for ``texts``.
        """
        lex = self.lexical_logits(texts, len(queries)) if lexical is None else lexical
        hide = np.zeros(len(self.routes), dtype=bool)
        hide[list(hidden)] = True
        probs = np.empty((len(queries), len(self.routes)), dtype=np.float32)
        feats = np.zeros((len(queries), len(FEATURES)), dtype=np.float32)
        if len(queries) <= _SMALL_BATCH:
            with one_blas_thread():
                q = np.asarray(queries, dtype=np.float32)
                probs[:], feats[:] = self._score_chunk(q, lex, hide)
            return Scores(probs, feats)
        for start in range(0, len(queries), _CHUNK):
            q = np.ascontiguousarray(queries[start : start + _CHUNK], dtype=np.float32)
            p, f = self._score_chunk(q, lex[start : start + _CHUNK], hide)
            probs[start : start + len(q)] = p
            feats[start : start + len(q)] = f
        return Scores(probs, feats)

    def route_sources(
        self, queries: Vectors, texts: Sequence[str] | None = None
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32] | None]:
        """The route probabilities of the head, the kNN vote and the lexical channel (``None``
        without one), before mixing: calibration tries every weighting on one computation."""
        n_routes = len(self.routes)
        lex = self.lexical_probs(texts, len(queries))
        head = np.empty((len(queries), n_routes), dtype=np.float32)
        knn = np.empty((len(queries), n_routes), dtype=np.float32)
        for start in range(0, len(queries), _CHUNK):
            q = np.ascontiguousarray(queries[start : start + _CHUNK], dtype=np.float32)
            sims = self._similarities(project(q, self.center, self.projection))
            knn[start : start + len(q)] = self._kernel_vote(sims, *self._neighbours(sims))
            head[start : start + len(q)] = _route_columns(self.head_probs(q), n_routes)
        return head, knn, (_route_columns(lex, n_routes) if lex.shape[1] else None)

    def mix_sources(
        self,
        head: npt.NDArray[np.float32],
        knn: npt.NDArray[np.float32],
        lexical: npt.NDArray[np.float32] | None,
        *,
        mix: float | None = None,
        lexical_weight: float | None = None,
    ) -> npt.NDArray[np.float32]:
        """Route probabilities from the three sources (weights: the model's own unless given)."""
        m = self.mix if mix is None else mix
        probs = (m * head + (1 - m) * knn).astype(np.float32)
        if lexical is not None:
            w = self.lexical_weight if lexical_weight is None else lexical_weight
            probs = ((1 - w) * probs + w * lexical).astype(np.float32)
        return probs

    def _score_chunk(
        self, q: Vectors, lex: npt.NDArray[np.float32], hide: npt.NDArray[np.bool_]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        n_routes = len(self.routes)
        keys = project(q, self.center, self.projection)
        sims = self._similarities(keys)
        head_logits = q @ self.head_weights + self.head_bias
        if hide.any():
            sims[:, hide[self.labels]] = -1.0  # a hidden route's examples are nobody's neighbour
            head_logits[:, : len(hide)][:, hide] = -np.inf  # as if never trained on them
            if lex.shape[1]:
                lex = lex.copy()
                lex[:, : len(hide)][:, hide] = -np.inf
        head = softmax(head_logits)
        head_energy = _logsumexp(head_logits[:, :n_routes])
        lexical_energy = _logsumexp(lex[:, :n_routes]) if lex.shape[1] else np.zeros(len(q))
        lex = softmax(lex) if lex.shape[1] else lex
        idx, top = self._neighbours(sims)
        lex_routes = _route_columns(lex, n_routes) if lex.shape[1] else None
        probs = self.mix_sources(
            _route_columns(head, n_routes), self._kernel_vote(sims, idx, top), lex_routes
        )
        if hide.any():  # the kNN vote still gives far neighbours a vanishing weight
            probs[:, hide] = 0.0
            probs /= np.maximum(probs.sum(axis=1, keepdims=True), 1e-9)
        lexical_oos = lex[:, n_routes] if lex.shape[1] > n_routes else np.zeros(len(q), np.float32)
        best = probs.argmax(axis=1)
        rows = np.arange(len(q))
        ordered = np.sort(probs, axis=1)
        margin = ordered[:, -1] - (ordered[:, -2] if n_routes > 1 else 0.0)
        negative = (
            _mean_topk((self._negative_keys @ keys.T).T, 5)
            if len(self.negatives)
            else np.zeros(len(q), dtype=np.float32)
        )
        head_oos = head[:, n_routes] if head.shape[1] > n_routes else np.zeros(len(q), np.float32)
        if self._novelty is not None:
            distance = self._novelty.distances(keys)
            distance[:, hide] = np.inf  # a hidden route is nobody's nearest
            nearest = distance.min(axis=1)
        else:  # too few examples per route for a spread (a small roster)
            nearest = np.zeros(len(q), dtype=np.float32)
        # the 10 best similarities overall are among the neighbours (when there are 10 of them)
        overall = top if top.shape[1] >= min(10, sims.shape[1]) else sims
        feats = np.empty((len(q), len(FEATURES)), dtype=np.float32)  # columns: FEATURES
        for column, values in enumerate(
            (
                self._route_topk(sims, best),
                top.max(axis=1),
                probs[rows, best],
                margin,
                _mean_topk(overall, 10),
                negative,
                head_oos,
                lexical_oos,
                head_energy,
                lexical_energy,
                nearest,
            )
        ):
            feats[:, column] = values
        return probs, feats

    def _similarities(self, keys: Vectors) -> npt.NDArray[np.float32]:
        """Cosine similarities of projected queries to every example, one C-ordered row per
        query (the per-row partitions below run on contiguous rows)."""
        return keys @ self._key_columns

    def _route_topk(self, sims: npt.NDArray[np.float32], routes: Labels) -> npt.NDArray[np.float32]:
        """Per row, the mean of the ``k`` best similarities inside that row's route in
        ``routes`` (0 for a route without examples); only the chosen route is needed."""
        if len(routes) == 1:  # one request: its route's examples are one slice, no gather
            start, end = self._offsets[int(routes[0])]
            row = sims[0, start:end]
            k = min(self.k, len(row))
            top = np.partition(row, len(row) - k)[len(row) - k :] if k else row
            return np.asarray([top.sum() / max(k, 1)], dtype=np.float32)
        slots = self._slots[routes]  # (n, widest route), ``len(labels)`` past a route's end
        past_end = slots >= len(self.labels)
        vals = sims[np.arange(len(sims))[:, None], np.where(past_end, 0, slots)]
        vals[past_end] = -np.inf
        k = min(self.k, slots.shape[1])
        top = -np.partition(-vals, k - 1, axis=1)[:, :k]  # the k best, -inf past a route's end
        top = np.where(np.isfinite(top), top, 0.0)
        count = np.maximum(self._route_k[routes], 1).astype(np.float32)
        return (top.sum(axis=1) / count).astype(np.float32)

    def _neighbours(
        self, sims: npt.NDArray[np.float32]
    ) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
        """The ``neighbours`` nearest examples of each row: their indices and similarities."""
        n = sims.shape[1]
        k = min(self.neighbours, n)
        idx = np.argpartition(sims, n - k, axis=1)[:, n - k :]
        return idx, sims[np.arange(len(sims))[:, None], idx]

    def _kernel_vote(
        self,
        sims: npt.NDArray[np.float32],
        idx: npt.NDArray[np.intp],
        top: npt.NDArray[np.float32],
    ) -> npt.NDArray[np.float32]:
        """Soft vote of the nearest examples (``idx``, ``top``: from :meth:`_neighbours`),
        weighted by ``exp(similarity / temperature)``."""
        weights = np.exp((top - top.max(axis=1, keepdims=True)) / self.temperature)
        votes = np.zeros((top.shape[0], len(self.routes)), dtype=np.float32)
        np.add.at(votes, (np.arange(top.shape[0])[:, None], self.labels[idx]), weights)
        return votes / votes.sum(axis=1, keepdims=True)
