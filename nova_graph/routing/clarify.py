"""When to ask the user which agent they meant: a calibrated decision over what the request
carries (words, an action, a number), the spread of the router's scores and the families of the
leading candidates. The top-two margin alone misses fragments ("side brushes", "the Kestrel one")
on which the router is confident, and flags clear requests between two close agents."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping

from nova_graph.routing.cues import has_digit, words
from nova_graph.routing.decision import RouteDecision

FEATURES: tuple[str, ...] = (
    "log_words",
    "opens_with_action",
    "has_digit",
    "confidence",
    "top_prob",
    "margin",
    "entropy",
    "top2_same_family",
    "top_family_mass",
)
MAX_OPTIONS = 3


def ranked(decision: RouteDecision) -> list[tuple[str, float]]:
    """The decision's agents and probabilities, best first."""
    return sorted(decision.scores.items(), key=lambda kv: -kv[1])


def features(
    text: str, decision: RouteDecision, starters: Collection[str], families: Mapping[str, str]
) -> list[float]:
    """The clarification features of one request, in :data:`FEATURES` order."""
    w = words(text)
    order = ranked(decision)
    probs = [p for _, p in order]
    total = sum(probs) or 1.0
    entropy = -sum((p / total) * math.log(p / total) for p in probs if p > 0)
    entropy /= math.log(len(probs)) if len(probs) > 1 else 1.0
    top2 = [a for a, _ in order[:2]]
    fam = families.get(top2[0], "") if top2 else ""
    same = len(top2) == 2 and families.get(top2[1]) == fam
    fam_mass = sum(p for a, p in order if families.get(a) == fam) / total
    return [
        math.log1p(len(w)),
        float(bool(w) and w[0] in starters),
        float(has_digit(text)),
        float(decision.confidence if decision.confidence is not None else probs[0] if probs else 0),
        probs[0] if probs else 0.0,
        probs[0] - probs[1] if len(probs) > 1 else 1.0,
        entropy,
        float(same),
        fam_mass,
    ]


def options(
    decision: RouteDecision, families: Mapping[str, str], *, limit: int = MAX_OPTIONS
) -> list[str]:
    """The agents to offer: the best two, then the best one's nearest family neighbour (a
    fragment's scores crowd on one agent; its neighbours are the likely alternatives)."""
    order = ranked(decision)
    if not order:
        return []
    fam = families.get(order[0][0])
    chosen = [a for a, _ in order[:2]]
    chosen += [a for a, _ in order[2:] if families.get(a) == fam][:1]
    chosen += [a for a, _ in order[2:] if a not in chosen]
    return chosen[:limit]
