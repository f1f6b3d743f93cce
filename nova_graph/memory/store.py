"""``ChromaMemory``: vector memory on Chroma whose staleness is checked before retrieval.

Layout: one pair of collections per namespace, ``<prefix>_<tag>_live`` (memories not superseded)
and ``<prefix>_<tag>_hist`` (superseded versions, kept for :meth:`ChromaMemory.history`), where
``tag`` is a hash of the namespace. Separate collections isolate namespaces structurally and keep
the namespace out of the query filter: Chroma's local ``where`` costs ~5 µs per *matching* row
(measured: ~0.5 s at 100k rows), so a filter that matches a whole namespace cannot meet the
latency target, while a plain query costs a few ms.

Recall: the query's staleness rule is :func:`~nova_graph.memory.staleness.current_where`. The
store first asks Chroma for a pool of nearest neighbours (``k + pool`` rows, the pool sized by
:mod:`~nova_graph.memory.pool`) from the live collection and keeps those the ``where`` rule
accepts; if the pool does not hold ``k`` current memories it asks again for a pool twice as
large, and past ``max_pool`` rows the same ``where`` filter is handed to Chroma (exact
pre-filtered query). Either way the result equals a pre-filtered top-k: a stale memory can never
be returned, and a stale crowd near the query can never push a current memory out. Superseded
memories leave the live collection at write time, so they never crowd the pool. For a ``now``
earlier than the latest supersession in the namespace (an "as of" query), the history collection
is also queried with the filter, so a memory superseded after ``now`` is still current at
``now``.

Supersession: the new version is added first, then the old ones are copied to history and
removed from the live collection. Writers of one store path are serialised by a lock file
(``nova_memory.lock``) across threads, instances and processes; should a writer die between the
steps (or writers share a Chroma server, which no file lock reaches), readers apply
:func:`~nova_graph.memory.versions.resolve_versions`, so recall and history only ever show the
newest version of a key as current, and the next write of the key retires the extras.

Ids carry their namespace's tag: :meth:`ChromaMemory.get` and :meth:`ChromaMemory.forget` take
the namespace and never reach another namespace's memory. Files the store creates are user-only
(see :mod:`nova_graph.private`).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from nova_graph.embeddings import Encoder, default_encoder
from nova_graph.errors import MemoryStoreError
from nova_graph.memory import argument_checks as v
from nova_graph.memory.batch import NewMemory, Plan, Row, plan_batch, stack_vectors
from nova_graph.memory.detector import SimilarityUpdateDetector, UpdateDetector
from nova_graph.memory.model import (
    NEVER,
    Memory,
    memory_from_chroma,
    record_metadata,
    to_epoch,
    utc_now,
)
from nova_graph.memory.pool import PoolSizer
from nova_graph.memory.staleness import Where, compile_where, current_where
from nova_graph.memory.versions import resolve_versions
from nova_graph.private import private_dir, private_file, private_umask

_INCLUDE: Any = ["metadatas", "documents", "distances"]
_MAX_HWM_KEY = "nova_max_superseded_at"
LOCK_FILE = "nova_memory.lock"
SEQ_KEY = "seq"


def _settings() -> Any:
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, allow_reset=False)


class ChromaMemory:
    """Staleness-checked vector memory over Chroma (embedded by default, or a Chroma server).

    ``path``: a directory for ``PersistentClient`` (``None``: in-memory ``EphemeralClient``).
    ``url``: a Chroma server (``HttpClient``), e.g. ``"http://127.0.0.1:8000"``.
    ``encoder``: texts to unit vectors (default: the shared MiniLM encoder); Chroma's own
    embedding function is never used. ``update_detector``: decides whether a new memory replaces a
    close one (default: the offline similarity rule; ``None`` disables it).
    ``clock``: the time source used when ``now`` is not passed.
    ``pool``: extra nearest rows a recall reads first to skip stale ones (``None``: sized from the
    stale share of the namespace's recent recalls, see :mod:`~nova_graph.memory.pool`);
    ``max_pool``: how far that pool grows before the staleness filter is handed to Chroma.
    ``open_on_first_use``: open Chroma at the first call instead of here (faster start-up).
    """

    def __init__(
        self,
        path: str | None = None,
        *,
        url: str | None = None,
        client: Any = None,
        encoder: Encoder | None = None,
        update_detector: UpdateDetector | str | None = "similarity",
        max_text_bytes: int = v.DEFAULT_MAX_TEXT_BYTES,
        pool: int | None = None,
        max_pool: int = 1024,
        detector_candidates: int = 5,
        clock: Callable[[], datetime] = utc_now,
        collection_prefix: str = "nova_mem",
        open_on_first_use: bool = False,
    ) -> None:
        if sum(x is not None for x in (path, url, client)) > 1:
            raise MemoryStoreError("pass at most one of path, url and client")
        self._file_lock = _file_lock(path if client is None else None)
        # With ``open_on_first_use`` Chroma is opened on first use: importing and opening it
        # costs about a second, and a recall from a store never written needs neither (see
        # ``_is_unwritten``); the command line uses it so that start-up does not pay for it.
        self._client_obj: Any = client
        self._where = (path, url)
        if not open_on_first_use:
            with self._file_lock:  # two processes creating one fresh store must not race
                self._client_obj = self._client_obj or _make_client(path, url)
        if path is None and url is None and client is None:
            # EphemeralClients of one process share a store: keep each instance's data apart.
            collection_prefix = f"{collection_prefix}_{uuid.uuid4().hex[:8]}"
        self._encoder = encoder
        self._detector: UpdateDetector | None = (
            SimilarityUpdateDetector() if update_detector == "similarity" else update_detector  # type: ignore[assignment]
        )
        self.max_text_bytes = max_text_bytes
        self._pool = PoolSizer(pool)
        self.max_pool = max_pool
        self.detector_candidates = detector_candidates
        self._clock = clock
        self._prefix = collection_prefix
        self._lock = threading.RLock()
        self._collections: dict[str, tuple[Any, Any]] = {}
        self._hwm: dict[str, float] = {}
        self.fallback_queries = 0  # how often the pool was not enough (see module docstring)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> ChromaMemory:
        """A memory backed by the Chroma server at ``url`` (``http://host:port``)."""
        return cls(url=url, **kwargs)

    # -- public API -----------------------------------------------------------------------------

    def remember(
        self,
        text: str,
        *,
        namespace: str,
        key: str | None = None,
        ttl: timedelta | float | None = None,
        valid_from: datetime | None = None,
        metadata: Mapping[str, Any] | None = None,
        now: datetime | None = None,
    ) -> str:
        """Store ``text``; return its id. A same-``key`` or detector-matched memory is superseded.

        ``ttl`` (timedelta or seconds) counts from when the memory becomes valid. ``valid_from``
        (default ``now``) may lie in the future. ``metadata`` values are str/int/float/bool; the
        keys ``agent`` and ``family`` tag the memory for :func:`recall_for_agents`.
        """
        ns = v.check_namespace(namespace)
        now_dt = self._now(now)
        item = NewMemory(text, key, ttl, valid_from, metadata)
        return self._store([self._prepare(item, ns, now_dt)], ns, now_dt)[0]

    def remember_many(
        self,
        items: Sequence[NewMemory | Mapping[str, Any]],
        *,
        namespace: str,
        now: datetime | None = None,
    ) -> list[str]:
        """Store many memories at once; return their ids in order.

        The same result as calling :meth:`remember` for each item in order (a later item with the
        same ``key``, or one the detector matches, supersedes an earlier one, in this batch or
        stored before), with one encoder call, one neighbour query, one add and the lock held
        once. Items are :class:`NewMemory` or dicts of its fields. Every item is checked before
        anything is written: one bad item raises ``MemoryStoreError`` naming it, storing nothing.
        """
        ns = v.check_namespace(namespace)
        now_dt = self._now(now)
        if isinstance(items, str | bytes | Mapping) or not isinstance(items, Sequence):
            raise MemoryStoreError("remember_many takes a list of NewMemory items or dicts")
        prepared = []
        for i, item in enumerate(items):
            try:
                if isinstance(item, Mapping):
                    item = NewMemory(**item)
                if not isinstance(item, NewMemory):
                    raise MemoryStoreError(f"expected a NewMemory or a dict, got {type(item)}")
                prepared.append(self._prepare(item, ns, now_dt))
            except (MemoryStoreError, TypeError) as exc:
                raise MemoryStoreError(f"item {i}: {exc}; nothing was stored") from exc
        return self._store(prepared, ns, now_dt) if prepared else []

    def _store(
        self, prepared: list[tuple[str, str | None, dict[str, Any], float]], ns: str, now: datetime
    ) -> list[str]:
        """Write checked memories (see :meth:`_prepare`) in order, with their supersessions."""
        vecs = self._encode([p[0] for p in prepared])
        new = [
            Row(f"{self._tag(ns)}:{uuid.uuid4().hex}", text, meta, vec)
            for (text, _, meta, _), vec in zip(prepared, vecs, strict=True)
        ]
        with self._writing():
            live, hist = self._collections_for(ns)
            try:
                keyed, neighbours = self._batch_context(live, new)
            except Exception as exc:  # nothing written yet
                raise MemoryStoreError(f"could not look up memories to supersede: {exc}") from exc
            plan = plan_batch(
                new,
                keyed,
                neighbours,
                detector=self._detector,
                candidates=self.detector_candidates,
                now=now,
            )
            try:
                self._fill_vectors(live, plan.history)
            except Exception as exc:  # nothing written yet
                raise MemoryStoreError(f"could not read the memories to supersede: {exc}") from exc
            self._write_plan(live, hist, ns, plan)
        return [r.id for r in new]

    def recall(
        self,
        query: str,
        *,
        namespace: str,
        k: int = 5,
        now: datetime | None = None,
        max_age: timedelta | float | None = None,
        agent: str | None = None,
        family: str | None = None,
    ) -> list[Memory]:
        """The ``k`` memories closest to ``query`` that are current at ``now`` (best first).

        ``max_age`` drops memories created longer ago; ``agent``/``family`` keep only memories
        tagged for them or untagged.
        """
        query = v.check_text(query, max_bytes=self.max_text_bytes, what="query")
        return self.recall_by_vector(
            self._encode([query])[0],
            namespace=namespace,
            k=k,
            now=now,
            max_age=max_age,
            agent=agent,
            family=family,
        )

    def recall_by_vector(
        self,
        vector: Sequence[float] | np.ndarray,
        *,
        namespace: str,
        k: int = 5,
        now: datetime | None = None,
        max_age: timedelta | float | None = None,
        agent: str | None = None,
        family: str | None = None,
    ) -> list[Memory]:
        """:meth:`recall` with a query vector instead of text (benchmarks, custom encoders)."""
        ns = v.check_namespace(namespace)
        k = v.check_k(k)
        now_dt = self._now(now)
        age = v.check_duration(max_age, "max_age")
        where = current_where(now_dt, max_age=age, agent=agent, family=family)
        if self._is_unwritten():
            return []
        is_current = compile_where(where)
        live, hist = self._collections_for(ns)
        vec = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        rows = self._query_current(live, ns, vec, k, is_current, where)
        rows = self._resolve_keys(live, rows, vec, is_current)
        if self._hwm.get(ns, 0.0) > to_epoch(now_dt):  # "as of" a time before a supersession
            rows += _rows(self._query(hist, vec, k, where), is_current)
        rows.sort(key=lambda r: r[3])
        seen: set[str] = set()
        out = []
        for id_, doc, meta, dist in rows:
            if id_ not in seen:
                seen.add(id_)
                out.append(memory_from_chroma(id_, doc, meta, score=1.0 - dist))
        return out[:k]

    def forget(self, id: str, *, namespace: str) -> bool:
        """Delete a memory of ``namespace`` (every version stored under this id).

        True if something was deleted; an id of another namespace is never touched (False).
        """
        found = self._locate(id, namespace)
        if found is None:
            return False
        deleted = False
        with self._writing():
            for col in self._collections_for(found):
                if col.get(ids=[id], include=[])["ids"]:
                    col.delete(ids=[id])
                    deleted = True
        return deleted

    def history(self, key: str, *, namespace: str) -> list[Memory]:
        """Every version of the memory stored under ``key``, oldest first (stale ones included)."""
        key_ = v.check_key(key)
        ns = v.check_namespace(namespace)
        live, hist = self._collections_for(ns)
        found: dict[str, Memory] = {}
        seq: dict[str, int] = {}
        for col in (live, hist):  # hist last: its copy carries the supersession marks
            got = col.get(where={"key": key_}, include=["metadatas", "documents"])
            metas = dict(zip(got["ids"], (dict(m) for m in got["metadatas"]), strict=True))
            if col is live:
                metas = resolve_versions(list(metas.items()))
            for id_, doc in zip(got["ids"], got["documents"], strict=True):
                found[id_] = memory_from_chroma(id_, doc, metas[id_])
                seq[id_] = int(metas[id_].get(SEQ_KEY, 0))
        # write order: versions written in one batch share created_at, seq orders them
        return sorted(found.values(), key=lambda m: (m.created_at, seq[m.id], m.valid_from, m.id))

    def get(self, id: str, *, namespace: str) -> Memory | None:
        """The memory of ``namespace`` with this id (current or superseded), or ``None``.

        An id of another namespace gives ``None``: ids never reach across namespaces.
        """
        ns = self._locate(id, namespace)
        if ns is None:
            return None
        live, hist = self._collections_for(ns)
        for col in (hist, live):  # hist first: its copy carries the supersession marks
            got = col.get(ids=[id], include=["metadatas", "documents"])
            if got["ids"] and got["metadatas"][0].get("namespace") == ns:
                meta = dict(got["metadatas"][0])
                if col is live and meta.get("key"):
                    meta = self._key_versions(live, [str(meta["key"])]).get(id, meta)
                return memory_from_chroma(id, got["documents"][0], meta)
        return None

    def count(self, *, namespace: str) -> int:
        """Number of stored memories in ``namespace`` (live and superseded)."""
        live, hist = self._collections_for(v.check_namespace(namespace))
        return int(live.count() + hist.count())

    def collections(self, namespace: str) -> tuple[Any, Any]:
        """The raw Chroma collections of ``namespace``: (live, history). For bulk loads and
        benchmarks; rows must use :func:`~nova_graph.memory.model.record_metadata`."""
        return self._collections_for(v.check_namespace(namespace))

    # -- internals ------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold this store's write lock (threads) and lock file (instances, processes)."""
        with self._lock, self._file_lock, private_umask():
            yield

    def _locate(self, id: str, namespace: str) -> str | None:
        """``namespace`` (checked) if ``id`` is one of its ids by its tag, else ``None``."""
        id_ = v.check_id(id)
        ns = v.check_namespace(namespace)
        return ns if id_.split(":", 1)[0] == self._tag(ns) else None

    def _key_versions(self, live: Any, keys: list[str]) -> dict[str, dict[str, Any]]:
        """Resolved metadata of every live version of ``keys`` (see :mod:`versions`)."""
        got = live.get(where={"key": {"$in": keys}}, include=["metadatas"])
        groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for id_, meta in zip(got["ids"], got["metadatas"], strict=True):
            groups.setdefault(str(meta["key"]), []).append((id_, dict(meta)))
        out: dict[str, dict[str, Any]] = {}
        for rows in groups.values():
            out.update(resolve_versions(rows) if len(rows) > 1 else dict(rows))
        return out

    def _resolve_keys(
        self, live: Any, rows: list[Any], vec: np.ndarray, is_current: Callable[[Any], bool]
    ) -> list[Any]:
        """``rows`` with, for each key, only the version :mod:`versions` says is current."""
        keys = sorted({str(r[2]["key"]) for r in rows if r[2].get("key")})
        if not keys:
            return rows
        where = {"key": {"$in": keys}}
        if len(live.get(where=where, include=[])["ids"]) == len(keys):
            return rows  # one live version per key (the usual case): nothing to resolve
        got = self._get_with_embeddings(live, where)
        groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        found: dict[str, tuple[str, np.ndarray]] = {}
        for id_, doc, meta, emb in zip(
            got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
        ):
            groups.setdefault(str(meta["key"]), []).append((id_, dict(meta)))
            found[id_] = (doc, np.asarray(emb, dtype=np.float32))
        out = [r for r in rows if not r[2].get("key")]
        q = vec.reshape(-1)
        for group in groups.values():
            for id_, meta in resolve_versions(group).items():
                if is_current(meta):
                    doc, emb = found[id_]
                    cos = float(q @ emb) / (float(np.linalg.norm(q) * np.linalg.norm(emb)) or 1.0)
                    out.append((id_, doc, meta, 1.0 - cos))
        out.sort(key=lambda r: r[3])
        return out

    def _prepare(
        self, item: NewMemory, ns: str, now_dt: datetime
    ) -> tuple[str, str | None, dict[str, Any], float]:
        """Checked text, key, metadata and valid-from epoch of one new memory."""
        text = v.check_text(item.text, max_bytes=self.max_text_bytes)
        key = v.check_key(item.key)
        ttl_d = v.check_duration(item.ttl, "ttl")
        valid_dt = v.check_datetime(item.valid_from, "valid_from")
        user_meta = v.check_metadata(item.metadata)
        created = to_epoch(now_dt)
        valid = to_epoch(valid_dt) if valid_dt is not None else created
        expires = max(created, valid) + ttl_d.total_seconds() if ttl_d is not None else NEVER
        meta = record_metadata(
            namespace=ns,
            key=key,
            created_at=created,
            valid_from=valid,
            expires_at=expires,
            user=user_meta,
        )
        return text, key, meta, valid

    def _batch_context(
        self, live: Any, new: list[Row]
    ) -> tuple[dict[str, list[Row]], list[list[tuple[Row, float]]]]:
        """Live versions of the batch's keys, and each new memory's nearest live rows.

        Neighbours come without their embeddings (most are only read, and a query's embeddings
        cost more than the rest of it): :meth:`_fill_vectors` fetches those a plan retires."""
        keys = sorted({str(r.meta["key"]) for r in new if r.meta.get("key")})
        keyed: dict[str, list[Row]] = {}
        if keys:
            got = self._get_with_embeddings(live, {"key": {"$in": keys}})
            for id_, doc, meta, emb in zip(
                got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
            ):
                row = Row(id_, doc, dict(meta), np.asarray(emb, dtype=np.float32))
                keyed.setdefault(str(meta["key"]), []).append(row)
        neighbours: list[list[tuple[Row, float]]] = [[] for _ in new]
        if self._detector is not None:  # (an empty collection answers with empty lists)
            # a few extra per item: earlier items of the batch may retire some of the nearest
            res = live.query(
                query_embeddings=stack_vectors(new),
                n_results=self.detector_candidates * (1 if len(new) == 1 else 2),
                include=_INCLUDE,
            )
            rows: dict[str, Row] = {}  # one Row per stored memory, however many items it is near
            for i, near in enumerate(neighbours):
                for id_, doc, meta, dist in zip(
                    res["ids"][i],
                    res["documents"][i],
                    res["metadatas"][i],
                    res["distances"][i],
                    strict=True,
                ):
                    if meta is None or doc is None:  # a deleted row a killed writer left
                        continue
                    if id_ not in rows:
                        rows[id_] = Row(id_, doc, dict(meta), None)
                    near.append((rows[id_], 1.0 - float(dist)))
        return keyed, neighbours

    def _fill_vectors(self, live: Any, rows: list[Row]) -> None:
        """Give ``rows`` read without their embedding (see :meth:`_batch_context`) their stored
        vector; on a vector index behind the database, re-encode their text (same vectors)."""
        missing = [r for r in rows if r.vector is None]
        if not missing:
            return
        try:
            got = live.get(ids=[r.id for r in missing], include=["embeddings"])
            stored = dict(zip(got["ids"], got["embeddings"], strict=True))
            vectors = [np.asarray(stored[r.id], dtype=np.float32) for r in missing]
        except Exception as exc:  # chromadb's "Error finding id", or a row gone meanwhile
            if "finding id" not in str(exc).lower() and not isinstance(exc, KeyError):
                raise
            vectors = list(self._encode([r.text for r in missing]))
        for row, vec in zip(missing, vectors, strict=True):
            row.vector = vec

    def _write_plan(self, live: Any, hist: Any, ns: str, plan: Plan) -> None:
        """Write a :func:`plan_batch` plan: add, copy to history, retire; undo on any failure."""
        written: list[tuple[Any, list[str]]] = []
        step = "add the memories"
        try:
            if plan.live:
                _put(live.add, plan.live)
                written.append((live, [r.id for r in plan.live]))
            step = "copy superseded memories to history"
            if plan.history:
                _put(hist.upsert, plan.history)
                written.append((hist, [r.id for r in plan.history]))
            step = "remove superseded memories from the live collection"
            if plan.retired:
                live.delete(ids=plan.retired)
        except Exception as exc:
            for col, ids in written:
                _quietly(col.delete, ids=ids)
            raise MemoryStoreError(f"could not {step}; nothing was stored: {exc}") from exc
        top = plan.top_superseded_at
        if top > self._hwm.get(ns, 0.0):
            self._hwm[ns] = top
            _quietly(hist.modify, metadata={"nova_namespace": ns, _MAX_HWM_KEY: top})

    def _now(self, now: datetime | None) -> datetime:
        checked = v.check_datetime(now, "now")
        return checked if checked is not None else self._clock()

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self._encoder is None:
            self._encoder = default_encoder()
        try:
            vecs = np.asarray(self._encoder.encode(texts), dtype=np.float32)
        except Exception as exc:
            raise MemoryStoreError(f"the encoder failed on the memory text: {exc}") from exc
        if vecs.ndim != 2 or vecs.shape[0] != len(texts):
            raise MemoryStoreError(
                f"the encoder returned shape {vecs.shape} for {len(texts)} texts"
            )
        return vecs

    def _tag(self, namespace: str) -> str:
        return hashlib.sha256(namespace.encode()).hexdigest()[:16]

    @property
    def _client(self) -> Any:
        if self._client_obj is None:
            with self._lock, self._file_lock:  # two processes opening one fresh store must not race
                if self._client_obj is None:
                    self._client_obj = _make_client(*self._where)
        return self._client_obj

    def _is_unwritten(self) -> bool:
        """True for a local store whose database does not exist yet (nothing to recall)."""
        path, url = self._where
        return (
            self._client_obj is None
            and url is None
            and path is not None
            and not (Path(path) / "chroma.sqlite3").exists()
        )

    def _existing(self, name: str) -> Any:
        try:
            return self._client.get_collection(name, embedding_function=None)
        except Exception:  # chromadb raises NotFoundError (class differs across versions)
            return None

    def _collections_for(self, namespace: str) -> tuple[Any, Any]:
        cached = self._collections.get(namespace)
        if cached is not None:
            return cached
        with self._writing():  # creating collections is a write
            if namespace in self._collections:
                return self._collections[namespace]
            tag = self._tag(namespace)
            made = []
            for suffix in ("live", "hist"):
                try:
                    made.append(
                        self._client.get_or_create_collection(
                            f"{self._prefix}_{tag}_{suffix}",
                            embedding_function=None,  # never Chroma's default (ONNX download)
                            configuration={"hnsw": {"space": "cosine"}},
                            metadata={"nova_namespace": namespace},
                        )
                    )
                except Exception as exc:
                    raise MemoryStoreError(
                        f"could not open the Chroma collections for namespace {namespace!r}: {exc}"
                    ) from exc
            self._hwm[namespace] = float((made[1].metadata or {}).get(_MAX_HWM_KEY, 0.0))
            self._collections[namespace] = (made[0], made[1])
            return made[0], made[1]

    def _query(self, col: Any, vec: np.ndarray, n: int, where: Where | None) -> Any:
        try:
            return col.query(query_embeddings=vec, n_results=n, where=where, include=_INCLUDE)
        except Exception as exc:
            raise MemoryStoreError(f"the Chroma query failed: {exc}") from exc

    def _query_current(
        self,
        col: Any,
        ns: str,
        vec: np.ndarray,
        k: int,
        is_current: Callable[[Any], bool],
        where: Where,
    ) -> list[Any]:
        """The ``k`` nearest current rows: the nearest ``k + pool`` rows, filtered; a pool crowded
        by stale rows is queried again twice as large (up to ``max_pool`` rows), then the
        ``where`` filter is handed to Chroma (see the module docstring)."""
        first = n = k + self._pool.extra(ns, k)
        while True:
            res = self._query(col, vec, n, None)
            rows = _rows(res, is_current)
            if n == first:
                self._pool.observe(ns, len(res["ids"][0]), len(rows))
            if len(rows) >= k or len(res["ids"][0]) < n:  # enough, or the whole collection
                return rows[:k]
            self.fallback_queries += n == first
            if n >= self.max_pool:
                return _rows(self._query(col, vec, k, where), is_current)[:k]
            n = min(2 * n, self.max_pool)

    def _get_with_embeddings(self, live: Any, where: dict[str, Any]) -> dict[str, Any]:
        """``live.get(where)`` with embeddings. Another process's write can leave this process's
        vector index behind the shared database (Chroma: "Error finding id"); the rows are then
        read without embeddings and re-encoded from their text (the same encoder gives the same
        vectors), so supersession never fails on a stale index."""
        include = ["metadatas", "documents", "embeddings"]
        try:
            return dict(live.get(where=where, include=include))
        except Exception as exc:  # chromadb raises its own InternalError here
            if "finding id" not in str(exc).lower():
                raise
        got = dict(live.get(where=where, include=["metadatas", "documents"]))
        docs = [str(d) for d in got["documents"]]
        got["embeddings"] = list(self._encode(docs)) if docs else []
        return got


def _rows(res: Any, is_current: Callable[[Any], bool]) -> list[Any]:
    """(id, document, metadata, distance) rows of a query result that are current."""
    return [
        (i, d, dict(m), float(dist))
        for i, d, m, dist in zip(
            res["ids"][0],
            res["documents"][0],
            res["metadatas"][0],
            res["distances"][0],
            strict=True,
        )
        # After a writer was killed, Chroma's vector index can still list a deleted row, which
        # comes back without metadata: it is not a memory, skip it.
        if m is not None and d is not None and is_current(m)
    ]


def _put(write: Callable[..., Any], rows: list[Row]) -> None:
    """``add`` or ``upsert`` rows into a collection."""
    write(
        ids=[r.id for r in rows],
        embeddings=stack_vectors(rows),
        metadatas=[r.meta for r in rows],
        documents=[r.text for r in rows],
    )


def _quietly(fn: Callable[..., Any], **kwargs: Any) -> None:
    with contextlib.suppress(Exception):  # best-effort rollback; the caller sees the cause
        fn(**kwargs)


def _make_client(path: str | None, url: str | None) -> Any:
    import chromadb

    try:
        if url is not None:
            parsed = urlparse(url)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise MemoryStoreError(f"bad Chroma URL {url!r}; use http://host:port")
            return chromadb.HttpClient(
                host=parsed.hostname,
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                settings=_settings(),
            )
        if path is not None:
            private_dir(path)
            with private_umask():
                client = chromadb.PersistentClient(path=str(path), settings=_settings())
            db = Path(path) / "chroma.sqlite3"
            if db.exists():
                private_file(db)  # SQLite gives its journals the database file's permissions
            return client
        return chromadb.EphemeralClient(settings=_settings())
    except MemoryStoreError:
        raise
    except Exception as exc:
        raise MemoryStoreError(
            f"could not open Chroma ({url or path or 'in memory'}): {exc}"
        ) from exc


def _file_lock(path: str | None) -> Any:
    """The lock file serialising writers of the store at ``path`` (a no-op lock without one)."""
    if path is None:
        return contextlib.nullcontext()
    from filelock import FileLock

    lock_path = private_dir(path) / LOCK_FILE
    private_file(lock_path)
    return FileLock(str(lock_path), mode=0o600)
