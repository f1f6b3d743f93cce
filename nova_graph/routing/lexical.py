"""The router's lexical channel: TF-IDF word and character n-grams with a logistic regression.

Sentence embeddings blur the exact words that separate close neighbours ("proof" vs "rewrite",
"logs" vs "status", a pipeline's or a supplier's name). A linear model over TF-IDF n-grams keeps
them. Measured on the roster (``python -m evals.roster.experiments lexical``: 5-fold over its
examples, and the dev set ``evals/roster/dev.yaml``), mixing this channel with the embedding scores
lifted top-1 accuracy from 82.9 % to 86.5 % (folds) and from 86.5 % to 93.8 % (dev);
``SemanticRouter.calibrate`` chooses the mixing weight.

Fitting uses scikit-learn; scoring is a sparse product and a softmax, so a saved model is plain
arrays and a vocabulary (no pickle). Loading and scoring a saved model needs neither scikit-learn
nor SciPy (their import alone costs a second at start-up): the two analyzers below reproduce
scikit-learn's, and only a batch of more than ``_FAST_PATH_MAX`` texts imports them.

The weights are kept row-sparse (per n-gram, the classes it weighs on: :class:`SparseWeights`).
Up to ``LOGISTIC_MAX_PARAMS`` weights the model is the logistic regression above; past it
(hundreds of routes: L-BFGS keeps ~20 copies of a dense weight matrix, 6 GB at 1,000 routes) each
class is the centroid of its examples' TF-IDF rows, pruned to its ``CENTROID_TERMS`` heaviest
n-grams (one sparse product to train, a few MB saved).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from nova_graph.routing.linear_head import softmax

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

#: The two vectorizers: words and word pairs; character 3-5-grams inside word boundaries.
_VECTORIZERS: dict[str, dict[str, Any]] = {
    "word": {"analyzer": "word", "ngram_range": (1, 2)},
    "char": {"analyzer": "char_wb", "ngram_range": (3, 5)},
}
#: The vectorizers' names, in column order (saved routers store one vocabulary per name).
KINDS: tuple[str, ...] = tuple(_VECTORIZERS)
#: Vocabulary cap per vectorizer: bounds the saved model on large example sets (the roster has
#: 16,294 n-grams in all, under the cap).
MAX_FEATURES = 20_000
#: Up to this many texts are featurised in Python (faster for the one request of a decision).
_FAST_PATH_MAX = 32
#: Inverse regularisation strength, chosen on 5-fold roster examples and dev (3, 10, 30 tried in
#: scratch runs not kept in the repository).
C = 10.0
#: Above this many weights (n-grams x classes) the lexical model is a TF-IDF centroid per class
#: instead of a logistic regression (the roster: 16,294 x 35 = 0.57 M).
LOGISTIC_MAX_PARAMS = 2_000_000
#: N-grams kept per class by the centroid model, and the scale of its cosine logits.
CENTROID_TERMS = 512
CENTROID_SCALE = 10.0


@dataclass
class SparseWeights:
    """A (features x classes) weight matrix stored by feature row (CSR): for each n-gram, the
    classes it weighs on. Scoring one request gathers only its n-grams' rows (plain numpy)."""

    indptr: npt.NDArray[np.int64]  # (n_features + 1,)
    indices: npt.NDArray[np.integer[Any]]  # class of each stored weight
    data: npt.NDArray[np.float32]
    n_classes: int

    @classmethod
    def from_dense(cls, dense: npt.NDArray[np.float32]) -> SparseWeights:
        """Every non-zero weight of ``dense``."""
        rows, cols = np.nonzero(dense)
        indptr = np.zeros(dense.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=dense.shape[0]), out=indptr[1:])
        return cls(indptr, _class_index(cols, dense.shape[1]), dense[rows, cols], dense.shape[1])

    @classmethod
    def from_scipy(cls, matrix: Any, n_classes: int) -> SparseWeights:
        """From a scipy sparse matrix of shape (features, classes)."""
        from scipy import sparse

        csr = sparse.csr_matrix(matrix)
        csr.sort_indices()
        return cls(
            csr.indptr.astype(np.int64),
            _class_index(csr.indices, n_classes),
            csr.data.astype(np.float32),
            n_classes,
        )

    @property
    def n_features(self) -> int:
        """Number of feature rows."""
        return len(self.indptr) - 1

    def rows_dot(self, cols: npt.NDArray[np.int64], vals: npt.NDArray[np.floating[Any]]) -> Any:
        """``vals @ W[cols]`` as a dense (n_classes,) vector."""
        starts, ends = self.indptr[cols], self.indptr[cols + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if not total:
            return np.zeros(self.n_classes, dtype=np.float32)
        first = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        pos = np.arange(total, dtype=np.int64) + first
        weights = self.data[pos] * np.repeat(vals, lengths)
        return np.bincount(self.indices[pos], weights=weights, minlength=self.n_classes)

    def to_dense(self) -> npt.NDArray[np.float32]:
        """The matrix as a dense (n_features, n_classes) array."""
        dense = np.zeros((self.n_features, self.n_classes), dtype=np.float32)
        rows = np.repeat(np.arange(self.n_features), np.diff(self.indptr))
        dense[rows, self.indices.astype(np.int64)] = self.data
        return dense

    def to_scipy(self) -> Any:
        """The matrix as scipy CSR (the batch path)."""
        from scipy import sparse

        return sparse.csr_matrix(
            (self.data, self.indices.astype(np.int32), self.indptr),
            shape=(self.n_features, self.n_classes),
        )


def _class_index(cols: npt.NDArray[Any], n_classes: int) -> npt.NDArray[np.integer[Any]]:
    """Class indices in the smallest unsigned type that holds them (halves the saved size)."""
    return cols.astype(np.uint16 if n_classes <= np.iinfo(np.uint16).max else np.int32)


_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern
_WHITE_SPACES = re.compile(r"\s\s+")


def _word_ngrams(text: str) -> list[str]:
    """scikit-learn's ``analyzer="word", ngram_range=(1, 2), lowercase=True``."""
    tokens = _TOKEN.findall(text.lower())
    return tokens + [" ".join(tokens[i : i + 2]) for i in range(len(tokens) - 1)]


def _char_wb_words(text: str) -> list[str]:
    """The words :func:`_char_wb_ngrams` cuts into n-grams (lowercased)."""
    return _WHITE_SPACES.sub(" ", text.lower()).split()


def _char_wb_word_ngrams(word: str) -> list[str]:
    """The character 3-5-grams of one word, padded with a space on each side."""
    ngrams: list[str] = []
    w = f" {word} "
    for n in range(3, 6):
        ngrams.extend(w[i : i + n] for i in range(max(len(w) - n, 0) + 1))
        if len(w) <= n:  # a short word is counted once, at its shortest n-gram
            break
    return ngrams


def _char_wb_ngrams(text: str) -> list[str]:
    """scikit-learn's ``analyzer="char_wb", ngram_range=(3, 5), lowercase=True``."""
    return [g for word in _char_wb_words(text) for g in _char_wb_word_ngrams(word)]


#: The analyzers of :data:`_VECTORIZERS`, without importing scikit-learn.
_ANALYZERS: dict[str, Callable[[str], list[str]]] = {
    "word": _word_ngrams,
    "char": _char_wb_ngrams,
}
#: Words whose character n-gram columns one model remembers (the fast path looks each word up
#: once; requests reuse a small vocabulary). Past it the memory is cleared.
_WORD_CACHE = 50_000


def _vectorizer(kind: str, vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        **_VECTORIZERS[kind],
        sublinear_tf=True,
        lowercase=True,
        max_features=MAX_FEATURES,
        vocabulary=vocabulary,
        dtype=np.float32,
    )


@dataclass
class LexicalModel:
    """Per-class probabilities from TF-IDF n-grams (last class: out of scope, if trained so)."""

    vocabularies: dict[str, list[str]]  # per vectorizer: the terms in column order
    idf: dict[str, npt.NDArray[np.float32]]
    weights: SparseWeights  # (n_features, n_classes)
    bias: npt.NDArray[np.float32]  # (n_classes,)

    def __post_init__(self) -> None:
        self._scipy_weights: Any = None  # built on the first batch of more than _FAST_PATH_MAX
        self._vectorizers: list[TfidfVectorizer] = []  # built on the first large batch
        self._blocks = []  # (analyzer, term -> column, idf, column offset) per vectorizer
        offset = 0
        for kind in _VECTORIZERS:
            terms = self.vocabularies[kind]
            index = {t: i for i, t in enumerate(terms)}
            idf = np.asarray(self.idf[kind], dtype=np.float32)
            self._blocks.append((_ANALYZERS[kind], index, idf, offset))
            offset += len(terms)
        self._word_columns: dict[str, list[int]] = {}  # word -> its char n-grams' columns
        # a logistic model's weights are dense anyway: one gather and one product per request
        w = self.weights
        dense_enough = 2 * len(w.data) >= w.n_features * w.n_classes
        self._dense: npt.NDArray[np.float32] | None = (
            w.to_dense()
            if dense_enough and w.n_features * w.n_classes <= LOGISTIC_MAX_PARAMS
            else None
        )

    def _sklearn_vectorizers(self) -> list[TfidfVectorizer]:
        """scikit-learn vectorizers with the saved vocabularies (for large batches)."""
        if not self._vectorizers:
            for kind, (_, index, _, _) in zip(_VECTORIZERS, self._blocks, strict=True):
                vec = _vectorizer(kind, index)
                vec.idf_ = np.asarray(self.idf[kind], dtype=np.float64)
                self._vectorizers.append(vec)
        return self._vectorizers

    @classmethod
    def train(cls, texts: Sequence[str], labels: npt.NDArray[np.int64], n_classes: int) -> Any:
        """Fit the vectorizers, then a balanced multinomial logistic regression on ``texts``
        (or, past ``LOGISTIC_MAX_PARAMS`` weights, a TF-IDF centroid per class)."""
        from scipy import sparse

        vocabularies: dict[str, list[str]] = {}
        idf: dict[str, npt.NDArray[np.float32]] = {}
        blocks = []
        for kind in _VECTORIZERS:
            vec = _vectorizer(kind)
            blocks.append(vec.fit_transform(list(texts)))
            order = sorted(vec.vocabulary_.items(), key=lambda kv: kv[1])
            vocabularies[kind] = [term for term, _ in order]
            idf[kind] = vec.idf_.astype(np.float32)
        x = sparse.hstack(blocks, format="csr")
        bias = np.full(n_classes, -1e4, dtype=np.float32)  # classes with no text never win
        present = np.unique(labels)
        if len(present) == 1:
            bias[present[0]] = 0.0
            weights = SparseWeights.from_dense(np.zeros((x.shape[1], n_classes), np.float32))
        elif x.shape[1] * n_classes <= LOGISTIC_MAX_PARAMS:
            weights = _logistic(x, labels, n_classes, present, bias)
        else:
            weights = _centroids(x, labels, n_classes, present, bias)
        return cls(vocabularies, idf, weights, bias)

    @property
    def n_classes(self) -> int:
        """Number of classes (routes, plus one out-of-scope class when trained with negatives)."""
        return int(self.bias.shape[0])

    def probs(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Class probabilities, one row per text."""
        return softmax(self.logits(texts))

    def logits(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Class logits, one row per text."""
        if not len(texts):
            return np.zeros((0, self.n_classes), dtype=np.float32)
        if len(texts) > _FAST_PATH_MAX:
            from scipy import sparse

            vecs = self._sklearn_vectorizers()
            x = sparse.hstack([v.transform(list(texts)) for v in vecs], format="csr")
            if self._scipy_weights is None:
                self._scipy_weights = self.weights.to_scipy()
            return np.asarray((x @ self._scipy_weights).toarray(), np.float32) + self.bias
        return np.stack([self._logits(t) for t in texts])

    def _logits(self, text: str) -> npt.NDArray[np.float32]:
        """One text's logits without scikit-learn's per-call overhead (~0.65 ms a vectorizer).

        The same arithmetic as ``TfidfVectorizer.transform`` (sublinear tf times idf, each
        vectorizer's block L2-normalised) followed by the linear layer; a test checks both paths
        agree.
        """
        out = self.bias.astype(np.float32).copy()
        dense = self._dense
        all_cols, all_vals = [], []
        for analyzer, index, idf, offset in self._blocks:
            if analyzer is _char_wb_ngrams:
                found: list[int] = []
                for word in _char_wb_words(text):
                    found += self._char_columns(word, index)
                counts = Counter(found)
            else:
                counts = Counter(index[g] for g in analyzer(text) if g in index)
            if not counts:
                continue
            cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
            vals = (1.0 + np.log(tf)) * idf[cols]
            vals /= max(float(np.linalg.norm(vals)), 1e-12)
            if dense is None:
                out += self.weights.rows_dot(offset + cols, vals).astype(np.float32)
            else:
                all_cols.append(offset + cols)
                all_vals.append(vals)
        if dense is not None and all_cols:
            cols, vals = np.concatenate(all_cols), np.concatenate(all_vals)
            out += vals @ dense[cols]
        return out

    def _char_columns(self, word: str, index: dict[str, int]) -> list[int]:
        """The columns of one word's character n-grams in the vocabulary (remembered)."""
        cols = self._word_columns.get(word)
        if cols is None:
            cols = [index[g] for g in _char_wb_word_ngrams(word) if g in index]
            if len(self._word_columns) >= _WORD_CACHE:
                self._word_columns.clear()
            self._word_columns[word] = cols
        return cols


def _logistic(
    x: Any,
    labels: npt.NDArray[np.int64],
    n_classes: int,
    present: npt.NDArray[np.int64],
    bias: npt.NDArray[np.float32],
) -> SparseWeights:
    """A balanced multinomial logistic regression (fills ``bias`` of the classes seen)."""
    from sklearn.linear_model import LogisticRegression

    weights = np.zeros((x.shape[1], n_classes), dtype=np.float32)
    clf = LogisticRegression(C=C, max_iter=3000, class_weight="balanced")
    clf.fit(x, labels)
    coef, icpt = clf.coef_, clf.intercept_
    if len(present) == 2:  # binary: one decision function d, P(second) = sigmoid(d)
        coef = np.vstack([np.zeros_like(coef), coef])
        icpt = np.concatenate([[0.0], icpt])
    weights[:, present] = coef.T.astype(np.float32)
    bias[present] = icpt.astype(np.float32)
    return SparseWeights.from_dense(weights)


def _centroids(
    x: Any,
    labels: npt.NDArray[np.int64],
    n_classes: int,
    present: npt.NDArray[np.int64],
    bias: npt.NDArray[np.float32],
) -> SparseWeights:
    """Per class, the unit-length mean of its TF-IDF rows, pruned to its heaviest n-grams and
    scaled so that logits are ``CENTROID_SCALE`` x cosine (one sparse product, bounded memory)."""
    from scipy import sparse

    onehot = sparse.csr_matrix(
        (np.ones(len(labels), np.float32), (np.arange(len(labels)), labels)),
        shape=(len(labels), n_classes),
    )
    sums = (x.T @ onehot).tocsc()  # (features, classes), sparse: n-grams each class uses
    rows, cols, vals = [], [], []
    for c in present:
        start, end = sums.indptr[c], sums.indptr[c + 1]
        idx, col = sums.indices[start:end], sums.data[start:end]
        if len(col) > CENTROID_TERMS:
            keep = np.argpartition(col, len(col) - CENTROID_TERMS)[-CENTROID_TERMS:]
            idx, col = idx[keep], col[keep]
        rows.append(idx)
        cols.append(np.full(len(idx), c, dtype=np.int64))
        vals.append(CENTROID_SCALE * col / max(float(np.linalg.norm(col)), 1e-12))
    bias[present] = 0.0
    matrix = sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(x.shape[1], n_classes),
    )
    return SparseWeights.from_scipy(matrix, n_classes)
