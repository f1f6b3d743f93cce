"""The default router of a roster, built in one place: calibrated, cached, thresholds applied."""

from __future__ import annotations

import contextlib
import hashlib
import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.language_models import BaseChatModel

from nova_graph.errors import CalibrationWarning, ConfigurationError
from nova_graph.private import private_dir
from nova_graph.roster import Roster
from nova_graph.routing.decision import Router
from nova_graph.routing.overlay import ExampleOverlay, with_overlay
from nova_graph.settings import default_cache_dir

if TYPE_CHECKING:  # routing/__init__ imports this module's users: the class is loaded late
    from nova_graph.routing.semantic import SemanticRouter


def apply_thresholds(router: Router, thresholds: Mapping[str, Any]) -> None:
    """Set ``router``'s named settings (``threshold``, ``ambiguity_margin``, ...); ``None``
    values are skipped and a setting the router lacks is a :class:`ConfigurationError`."""
    for name, value in thresholds.items():
        if value is None:
            continue
        if not hasattr(router, name):
            raise ConfigurationError(
                f"the router ({type(router).__name__}) has no {name!r} setting; remove it "
                "(for NOVA_* settings: unset NOVA_ROUTE_THRESHOLD / NOVA_AMBIGUITY_MARGIN)"
            )
        setattr(router, name, value)


#: Bump when the way the default router is built or calibrated changes (invalidates caches).
ROUTER_CACHE_FORMAT = "semantic-router-13-split-rule"
#: Agents need this many examples for the default router to calibrate its thresholds.
MIN_CALIBRATION_EXAMPLES = 8
#: Calibrated thresholds refusing more than this share of the training examples are not used.
MAX_SELF_REFUSAL = 0.05
#: The self-refusal check routes at most about this many of the roster's examples (an even
#: sample: every example up to this size; at 1,000 agents x 20, every 5th, 4 per agent).
_SELF_CHECK_MAX = 4000
#: Every ``_CALIBRATION_FOLD``-th example of an agent is held out to calibrate the router.
_CALIBRATION_FOLD = 4


def default_router(
    roster: Roster,
    *,
    model: BaseChatModel | None = None,
    cache_dir: str | Path | Literal[False] | None = None,
    thresholds: Mapping[str, Any] | None = None,
    overlay: ExampleOverlay | None = None,
) -> Router:
    """The calibrated embedding router learned from the roster's example requests.

    This is the one router builder: the graph's default, improved versions (``nova improve``),
    the CLI and the Studio graphs all call it. ``thresholds`` (a router's ``thresholds``, as an
    improved version stores them) pins the settings instead of calibrating: the router is trained
    exactly as the default one and only the roster's examples differ. ``overlay`` (an improved
    version's kept examples) is put on top of the router, which stays the one the roster and
    thresholds give (:func:`~nova_graph.routing.overlay.with_overlay`): it decides only the
    requests next to its examples.

    A probe router trained on three quarters of each agent's examples and half the roster's
    out-of-scope requests (``Roster.out_of_scope``) is calibrated on the rest, with each agent
    family (``AgentSpec.family``) hidden in turn as a never-seen kind of request (open set);
    the router returned is trained on everything and uses the probe's thresholds. It is saved in
    ``cache_dir`` (default: ``default_cache_dir() / "routers"``; ``False`` for no cache) under
    a key of everything that shapes it, so later starts load it instead of re-training.
    ``model`` (a configured chat model, not the offline one) enables the language-model fallback.
    """
    from nova_graph.errors import RoutingError
    from nova_graph.models import is_offline
    from nova_graph.routing import SemanticRouter

    arbiter = model if model is not None and not is_offline(model) else None
    examples, negatives = roster.examples(), list(roster.out_of_scope)
    pinned = dict(thresholds) if thresholds else None
    families = {agent.name: agent.family for agent in roster}
    path = None if cache_dir is False else default_router_path(roster, cache_dir, pinned)
    router: SemanticRouter | None = None
    if path is not None and path.exists():
        # unreadable or from another version: rebuilt and overwritten below
        with contextlib.suppress(RoutingError):
            router = SemanticRouter.load(path, model=arbiter)
    if router is None:
        router = calibrated_router(
            examples, negatives, model=arbiter, thresholds=pinned, groups=families
        )
        if path is not None:
            private_dir(path.parent)
            router.save(path)
    return with_overlay(router, overlay)


def default_router_path(
    roster: Roster,
    cache_dir: str | Path | None = None,
    thresholds: Mapping[str, Any] | None = None,
) -> Path:
    """Where :func:`default_router` keeps the router of ``roster`` (keyed by what shapes it).

    ``cache_dir`` defaults to ``default_cache_dir() / "routers"``; ``thresholds`` are an improved
    version's pinned settings (part of the key, as they shape the router).
    """
    if cache_dir is None:
        cache_dir = default_cache_dir() / "routers"
    key: list[Any] = [
        ROUTER_CACHE_FORMAT,
        _CALIBRATION_FOLD,
        MIN_CALIBRATION_EXAMPLES,
        roster.examples(),
        list(roster.out_of_scope),
        {agent.name: agent.family for agent in roster},  # the groups calibration holds out
    ]
    if thresholds:
        key.append(dict(thresholds))
    blob = json.dumps(key, sort_keys=True)
    return Path(cache_dir) / f"router-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"


def calibrated_router(
    examples: Mapping[str, Sequence[str]],
    out_of_scope: Sequence[str] = (),
    *,
    model: BaseChatModel | None = None,
    thresholds: Mapping[str, Any] | None = None,
    groups: Mapping[str, str] | None = None,
    hold_out_groups: bool = True,
) -> SemanticRouter:
    """A :class:`SemanticRouter` trained on every example (agent -> example requests) and the
    ``out_of_scope`` requests, with thresholds calibrated on a probe that did not see some (or
    set to ``thresholds``, an improved version's settings). With ``hold_out_groups``, each group
    of agents (``groups``: agent -> group, by default one per agent) is also hidden in turn from
    the probe, so the thresholds are chosen on never-seen kinds of request. ``model`` is the
    language-model fallback (``None``: embeddings only). :func:`default_router` builds a roster's
    router with it (and caches it); evaluations call it on parts of a roster.

    A roster with an agent of fewer than ``MIN_CALIBRATION_EXAMPLES`` examples keeps the
    router's default thresholds, and so does one whose calibrated router would refuse more than
    ``MAX_SELF_REFUSAL`` of its own training examples (at most about ``_SELF_CHECK_MAX`` of
    them, evenly sampled, are routed to check); both with a :class:`CalibrationWarning`.
    """
    from nova_graph.embeddings import default_encoder
    from nova_graph.routing import SemanticRouter

    encoder = default_encoder()
    once = _EncodeOnce(encoder)
    lists = {a: list(ts) for a, ts in examples.items()}
    negatives = list(out_of_scope)
    pinned = dict(thresholds) if thresholds else None
    router = SemanticRouter.from_examples(
        lists, out_of_scope_examples=negatives, model=model, encoder=once
    )
    try:
        return _calibrate(
            router, lists, negatives, pinned, once, dict(groups or {}) or None, hold_out_groups
        )
    finally:
        router.encoder = encoder  # the build's vectors are not kept


def _calibrate(
    router: Any,
    examples: dict[str, list[str]],
    negatives: list[str],
    pinned: dict[str, Any] | None,
    once: _EncodeOnce,
    groups: dict[str, str] | None,
    hold_out_groups: bool,
) -> Any:
    """The body of :func:`calibrated_router` (thresholds chosen on a probe)."""
    from nova_graph.routing import SemanticRouter

    if pinned:
        apply_thresholds(router, pinned)
        return router
    few = {a: len(ts) for a, ts in examples.items() if len(ts) < MIN_CALIBRATION_EXAMPLES}
    if few:
        shown = ", ".join(f"{a}: {n}" for a, n in list(few.items())[:5])
        warnings.warn(
            CalibrationWarning(
                f"{len(few)} agent(s) have fewer than {MIN_CALIBRATION_EXAMPLES} example requests "
                f"({shown}); the router uses its default thresholds, not calibrated ones. Add "
                "examples per agent (and out_of_scope examples to the roster) to calibrate."
            ),
            stacklevel=4,
        )
        return router
    fold = _CALIBRATION_FOLD
    train = {a: [t for i, t in enumerate(ts) if i % fold != 1] or ts for a, ts in examples.items()}
    held = [(t, a) for a, ts in examples.items() if len(ts) >= 2 for t in ts[1::fold]]
    defaults = router.thresholds
    probe = SemanticRouter.from_examples(train, out_of_scope_examples=negatives[0::2], encoder=once)
    report = probe.calibrate(held, negatives[1::2], groups=groups, hold_out_groups=hold_out_groups)
    apply_thresholds(router, probe.thresholds)
    texts = [t for ts in examples.values() for t in ts]
    refused = router.refused_share(texts[:: -(-len(texts) // _SELF_CHECK_MAX)])
    if refused > MAX_SELF_REFUSAL:
        apply_thresholds(router, defaults)
        warnings.warn(
            CalibrationWarning(
                f"calibrated thresholds refused {refused:.0%} of the roster's own example "
                "requests; the router keeps its default thresholds. Add examples per agent."
            ),
            stacklevel=4,
        )
        return router
    router.calibration_report = report
    return router


class _EncodeOnce:
    """The encoder for one router build: the probe and its calibration reuse the vectors of the
    examples (a bounded LRU cache re-encodes them on large rosters: 20,000 texts at 1,000 agents).
    """

    def __init__(self, encoder: Any) -> None:
        self.encoder = encoder
        self.dimension = int(encoder.dimension)
        self._vectors: dict[str, Any] = {}

    def encode(self, texts: Sequence[str]) -> Any:
        import numpy as np

        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            fresh = np.asarray(self.encoder.encode(missing), dtype=np.float32)
            self._vectors.update(zip(missing, fresh, strict=True))
        rows = [self._vectors[t] for t in texts]
        return np.stack(rows) if rows else np.zeros((0, self.dimension), dtype=np.float32)
