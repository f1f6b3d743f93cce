"""The default router factory of the loop: a ``SemanticRouter`` over the roster's examples."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from nova_graph.errors import NovaError
from nova_graph.improve.labelled import LabelledRequest
from nova_graph.improve.setup import RouterFactory
from nova_graph.roster import Roster
from nova_graph.routing.decision import Router


def default_factory(encoder: Any = None) -> RouterFactory:
    """Routers built with ``SemanticRouter.from_examples`` (settings: its thresholds)."""

    def build(roster: Roster, settings: Mapping[str, Any]) -> Router:
        from nova_graph.routing import SemanticRouter
        from nova_graph.routing.default import apply_thresholds

        router = SemanticRouter.from_examples(roster.examples(), encoder=encoder)
        apply_thresholds(router, settings)
        return router

    def calibrate(router: Router, labelled: Sequence[LabelledRequest]) -> dict[str, Any]:
        in_scope = [(i.text, i.agents[0]) for i in labelled if len(i.agents) == 1]
        out_of_scope = [i.text for i in labelled if not i.agents]
        if len(in_scope) < 2 or not hasattr(router, "calibrate"):
            return {}
        try:
            router.calibrate(in_scope, out_of_scope)
        except NovaError:  # e.g. too few requests per route to calibrate on
            return {}
        return dict(getattr(router, "thresholds", {}) or {})

    return RouterFactory(build=build, calibrate=calibrate)
