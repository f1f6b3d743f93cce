"""The router factory of the loop: the graph's own router builder, versioned settings pinned."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from nova_graph.errors import NovaError
from nova_graph.improve.labelled import LabelledRequest
from nova_graph.improve.setup import RouterFactory
from nova_graph.roster import Roster
from nova_graph.routing.decision import Router


def default_factory(
    *, model: Any = None, cache_dir: str | Path | Literal[False] | None = None
) -> RouterFactory:
    """Routers built by :func:`~nova_graph.routing.default.default_router`, as the graph's.

    A setup without settings gets the calibrated default router (the packaged roster gives the
    packaged router, from the same cache); a setup with settings gets the same router trained
    on its roster with those settings pinned. ``model`` enables the router's model arbiter
    exactly as in the graph; ``cache_dir`` is the router cache (``False``: none).
    """

    def build(roster: Roster, settings: Mapping[str, Any]) -> Router:
        from nova_graph.routing.default import default_router

        return default_router(
            roster, model=model, cache_dir=cache_dir, thresholds=dict(settings) or None
        )

    def calibrate(router: Router, labelled: Sequence[LabelledRequest]) -> dict[str, Any]:
        in_scope = [(i.text, i.agents[0]) for i in labelled if len(i.agents) == 1]
        out_of_scope = [i.text for i in labelled if not i.agents and not i.ambiguous]
        if len(in_scope) < 2 or not hasattr(router, "calibrate"):
            return {}
        try:
            router.calibrate(in_scope, out_of_scope)
        except NovaError:  # e.g. too few requests per route to calibrate on
            return {}
        return dict(getattr(router, "thresholds", {}) or {})

    return RouterFactory(build=build, calibrate=calibrate)
