"""Local routing changes: example requests kept on top of an unchanged base router.

An :class:`ExampleOverlay` lists example requests added to agents and example requests removed
from them. :func:`with_overlay` puts it on top of a router without retraining anything: the
:class:`OverlayRouter` decides a request itself only when the request lies within a calibrated
radius of a kept example, closer to it than to any example of another agent and to any
out-of-scope example, and the base router already ranks that example's agent among its two best;
every other decision is the base router's own, unchanged. So a kept change cannot move requests
far from it, and an empty overlay is the base router itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from nova_graph.errors import RoutingError
from nova_graph.routing.decision import ClauseRoute, RouteDecision, Router, route_all

Encode = Callable[[Sequence[str]], Any]
"""``encode(texts) -> unit vectors`` (an encoder's ``encode``)."""

#: The radius is at least this quantile of the similarities of the agents' examples to their
#: nearest example of the same agent (see :func:`calibrated_radius`).
SAME_AGENT_QUANTILE = 0.5
#: Rows of examples compared with all the others at a time when calibrating the radius.
_RADIUS_BLOCK = 1024


def same_request(text: str) -> str:
    """The form two request texts are compared in (case and spacing do not count)."""
    return re.sub(r"\s+", " ", text.strip().lower())


class ExampleOverlay(BaseModel):
    """Example requests kept on top of a base router (see :class:`OverlayRouter`)."""

    model_config = ConfigDict(frozen=True)

    added: dict[str, list[str]] = Field(
        default_factory=dict, description="Agent -> example requests added to it."
    )
    removed: dict[str, list[str]] = Field(
        default_factory=dict, description="Agent -> base example requests removed from it."
    )

    @property
    def empty(self) -> bool:
        """No example is added or removed."""
        return not any(self.added.values()) and not any(self.removed.values())

    def changed(
        self, add: Mapping[str, Sequence[str]], remove: Mapping[str, Sequence[str]]
    ) -> ExampleOverlay:
        """A copy with ``add`` kept and ``remove`` dropped (agent -> texts): removing a kept
        example forgets it, removing a base example records it, adding a removed one restores
        it."""
        added = {a: list(ts) for a, ts in self.added.items()}
        removed = {a: list(ts) for a, ts in self.removed.items()}
        for agent, texts in remove.items():
            for text in texts:
                if not _drop(added, agent, text):  # a kept example is simply forgotten
                    _put(removed, agent, text)
        for agent, texts in add.items():
            for text in texts:
                if not _drop(removed, agent, text):  # a removed base example comes back
                    _put(added, agent, text)
        return ExampleOverlay(
            added={a: ts for a, ts in added.items() if ts},
            removed={a: ts for a, ts in removed.items() if ts},
        )

    def applied_to(self, examples: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
        """``examples`` (agent -> texts, the base router's) with this overlay's changes."""
        out = {}
        for agent, texts in examples.items():
            gone = {same_request(t) for t in self.removed.get(agent, [])}
            kept = [t for t in texts if same_request(t) not in gone]
            have = {same_request(t) for t in kept}
            kept += [t for t in self.added.get(agent, []) if same_request(t) not in have]
            out[agent] = kept
        return out

    def for_agents(self, names: Iterable[str]) -> ExampleOverlay:
        """The part of the overlay about ``names`` (e.g. one family's agents)."""
        keep = set(names)
        return ExampleOverlay(
            added={a: ts for a, ts in self.added.items() if a in keep},
            removed={a: ts for a, ts in self.removed.items() if a in keep},
        )


def _drop(table: dict[str, list[str]], agent: str, text: str) -> bool:
    """Remove ``text`` from ``table[agent]``; whether it was there."""
    key, texts = same_request(text), table.get(agent, [])
    table[agent] = [t for t in texts if same_request(t) != key]
    return len(table[agent]) < len(texts)


def _put(table: dict[str, list[str]], agent: str, text: str) -> None:
    """Append ``text`` to ``table[agent]`` unless it is there already."""
    texts = table.setdefault(agent, [])
    if same_request(text) not in {same_request(t) for t in texts}:
        texts.append(text.strip())


class OverlayRouter:
    """A base router with an :class:`ExampleOverlay` on top (build it with
    :func:`with_overlay`).

    A request is decided by the overlay when its nearest kept example (agent ``A``) lies within
    ``radius`` and is closer than every remaining example of the other agents and every
    out-of-scope example, and the base router ranks ``A`` first or second: the request goes to
    ``A`` (``method="overlay"``). A request whose nearest example is a removed one of the agent
    the base router ranks first goes to the base router's second agent when that agent owns the
    nearest remaining example. A split (multi-agent) decision stays the base router's. Every
    other decision is the base router's own, unchanged. Any other attribute (settings, example
    vectors, the model fallback) is read from the base router.
    """

    def __init__(
        self,
        base: Router,
        overlay: ExampleOverlay,
        *,
        vectors: npt.NDArray[np.float32],
        labels: Sequence[str | None],
        texts: Sequence[str | None],
        encode: Encode,
        radius: float | None = None,
    ) -> None:
        self.base = base
        self.overlay = overlay
        self._encode = encode
        pool = np.asarray(vectors, dtype=np.float32)
        self._labels = np.asarray([lab or "" for lab in labels], dtype=object)
        self.radius = float(calibrated_radius(pool, labels) if radius is None else radius)
        gone = {(a, same_request(t)) for a, ts in overlay.removed.items() for t in ts}
        self._removed = np.asarray(
            [
                lab is not None and t is not None and (lab, same_request(t)) in gone
                for lab, t in zip(labels, texts, strict=True)
            ],
            dtype=bool,
        )
        self._pool = pool
        added = [(a, t) for a, ts in overlay.added.items() for t in ts]
        self._added_labels = np.asarray([a for a, _ in added], dtype=object)
        self._added = (
            np.asarray(encode([t for _, t in added]), dtype=np.float32)
            if added
            else np.zeros((0, pool.shape[1]), dtype=np.float32)
        )

    def __getattr__(self, name: str) -> Any:
        """Everything else is the base router's (its settings, example vectors, model
        fallback): the graph's conversation layer and the loop see the router they built."""
        if name == "base":  # not set yet (during construction or unpickling)
            raise AttributeError(name)
        return getattr(self.base, name)

    # settings set through the overlay (NOVA_* thresholds) are the base router's

    @property
    def threshold(self) -> float:
        """The base router's out-of-scope threshold."""
        return float(getattr(self.base, "threshold"))  # noqa: B009

    @threshold.setter
    def threshold(self, value: float) -> None:
        setattr(self.base, "threshold", value)  # noqa: B010

    @property
    def ambiguity_margin(self) -> float:
        """The base router's ambiguity margin."""
        return float(getattr(self.base, "ambiguity_margin"))  # noqa: B009

    @ambiguity_margin.setter
    def ambiguity_margin(self, value: float) -> None:
        setattr(self.base, "ambiguity_margin", value)  # noqa: B010

    def route(self, text: str) -> RouteDecision:
        """Decide which agents should handle ``text``."""
        return self.route_batch([text])[0]

    def route_batch(self, texts: Sequence[str]) -> list[RouteDecision]:
        """The base router's decisions, with the overlay's where it decides."""
        decisions = route_all(self.base, texts)
        if self.overlay.empty or not decisions:
            return decisions
        queries = np.asarray(self._encode(list(texts)), dtype=np.float32)
        return [self._decide(t, q, d) for t, q, d in zip(texts, queries, decisions, strict=True)]

    def _decide(
        self, text: str, query: npt.NDArray[np.float32], base: RouteDecision
    ) -> RouteDecision:
        if len({c.agent for c in base.clauses if c.agent}) > 1 or len(base.scores) < 2:
            return base
        ranked = sorted(base.scores, key=lambda a: -base.scores[a])[:2]
        pool = self._pool @ query
        remaining = np.where(self._removed, -np.inf, pool)
        chosen = self._kept_agent(query, remaining, ranked)
        if chosen is None and self._removed.any():
            chosen = self._after_removal(query, pool, remaining, ranked)
        if chosen is None:
            return base
        if chosen == ranked[0] and base.agents == [chosen] and not base.ambiguous:
            return base
        return RouteDecision(
            agents=[chosen],
            scores=base.scores,
            clauses=[ClauseRoute(text=text, agent=chosen, score=base.confidence or 0.0)],
            method="overlay",
            model_calls=base.model_calls,
            confidence=base.confidence,
        )

    def _kept_agent(
        self, query: npt.NDArray[np.float32], remaining: npt.NDArray[np.float32], ranked: list[str]
    ) -> str | None:
        """The agent of the nearest kept example when the overlay decides the request."""
        if not len(self._added):
            return None
        sims = self._added @ query
        j = int(sims.argmax())
        agent = str(self._added_labels[j])
        others = remaining[self._labels != agent]
        if sims[j] < self.radius or agent not in ranked:
            return None
        if len(others) and sims[j] <= float(others.max()):
            return None
        return agent

    def _after_removal(
        self,
        query: npt.NDArray[np.float32],
        pool: npt.NDArray[np.float32],
        remaining: npt.NDArray[np.float32],
        ranked: list[str],
    ) -> str | None:
        """The base router's second agent, for a request whose nearest example was removed
        from its first agent and whose nearest remaining example is the second agent's."""
        kept = self._added @ query if len(self._added) else np.zeros(0, dtype=np.float32)
        i = int(pool.argmax())
        if not self._removed[i] or pool[i] < self.radius or (len(kept) and kept.max() >= pool[i]):
            return None
        if self._labels[i] != ranked[0] or len(ranked) < 2:
            return None
        r = int(remaining.argmax())
        nearest = str(self._labels[r])
        if len(kept) and kept.max() > remaining[r]:
            nearest = str(self._added_labels[int(kept.argmax())])
        return nearest if nearest == ranked[1] else None


def calibrated_radius(vectors: npt.NDArray[np.float32], labels: Sequence[str | None]) -> float:
    """How close a request must be to a kept example for an overlay to decide it.

    The larger of two similarities among the base router's examples (label: agent, ``None`` for
    an out-of-scope example): that of the out-of-scope example closest to any agent's example
    (no known out-of-scope request lies that close to an agent), and the median of the agents'
    examples' similarities to their nearest example of the same agent (a request that close is
    as near the kept example as an agent's examples typically are to each other; with one
    example per agent, to their nearest example of any other agent).
    """
    v = np.asarray(vectors, dtype=np.float32)
    names = np.asarray([lab or "" for lab in labels], dtype=object)
    inside = names != ""
    closest_outside = (
        float((v[~inside] @ v[inside].T).max()) if inside.any() and (~inside).any() else 0.0
    )
    mine = v[inside]
    _, own = np.unique(names[inside], return_inverse=True)
    counts = np.bincount(own) if len(own) else np.zeros(0, dtype=np.int64)
    same_max = np.full(len(own), -np.inf, dtype=np.float32)
    any_max = np.full(len(own), -np.inf, dtype=np.float32)
    # by blocks of rows: a roster's whole (examples x examples) matrix is 1.6 GB at 20,000
    for start in range(0, len(own), _RADIUS_BLOCK):
        rows = np.arange(start, min(start + _RADIUS_BLOCK, len(own)))
        sims = mine[rows] @ mine.T
        sims[np.arange(len(rows)), rows] = -np.inf  # not its own nearest example
        any_max[rows] = sims.max(axis=1)
        sims[own[rows][:, None] != own[None, :]] = -np.inf
        same_max[rows] = sims.max(axis=1)
    nearest_same = [float(x) for x, n in zip(same_max, counts[own], strict=True) if n > 1]
    if not nearest_same:  # one example per agent: as near as examples are to other agents'
        nearest_same = [float(x) for x in any_max] if len(own) > 1 else []
    typical = float(np.quantile(nearest_same, SAME_AGENT_QUANTILE)) if nearest_same else 1.0
    return max(closest_outside, typical)


def with_overlay(
    router: Router,
    overlay: ExampleOverlay | None,
    *,
    examples: Mapping[str, Sequence[str]] | None = None,
    out_of_scope: Sequence[str] = (),
    encode: Encode | None = None,
) -> Router:
    """``router`` with ``overlay`` on top (``router`` itself when the overlay is empty).

    A :class:`~nova_graph.routing.semantic.SemanticRouter` brings its examples' vectors and its
    encoder. Any other router needs ``examples`` (agent -> the example requests it was built
    from) and ``out_of_scope`` examples, encoded with ``encode`` (default: the default
    encoder's).
    """
    if overlay is None or overlay.empty:
        return router
    from nova_graph.routing.semantic import SemanticRouter

    if isinstance(router, SemanticRouter):
        model = router.route_model
        texts: list[str | None] = [t for ts in router.examples.values() for t in ts]
        labels: list[str | None] = [model.routes[int(i)] for i in model.labels]
        if len(texts) != len(labels):  # not the examples it was trained on: no removals
            texts = [None] * len(labels)
        vectors = (
            np.vstack([model.vectors, model.negatives]) if len(model.negatives) else model.vectors
        )
        labels += [None] * len(model.negatives)
        texts += [None] * len(model.negatives)
        return OverlayRouter(
            router,
            overlay,
            vectors=vectors,
            labels=labels,
            texts=texts,
            encode=router.encoder.encode,
        )
    if examples is None:
        raise RoutingError(
            f"an example overlay on a {type(router).__name__} needs the example requests it "
            "was built from: pass examples=roster.examples()"
        )
    if encode is None:
        from nova_graph.embeddings import default_encoder

        encode = default_encoder().encode
    pairs = [(a, t) for a, ts in examples.items() for t in ts] + [(None, t) for t in out_of_scope]
    return OverlayRouter(
        router,
        overlay,
        vectors=np.asarray(encode([t for _, t in pairs]), dtype=np.float32),
        labels=[a for a, _ in pairs],
        texts=[t for _, t in pairs],
        encode=encode,
    )
