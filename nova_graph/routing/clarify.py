"""When to ask the user which agent they meant: a calibrated decision over what the request
carries (words, an action, a number), the spread of the router's scores and the families of the
leading candidates. The top-two margin alone misses fragments ("side brushes", "the Kestrel one")
on which the router is confident, and flags clear requests between two close agents."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence

import numpy as np

from nova_graph.routing.cues import has_digit, stem, words
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
MAX_OPTIONS = 4
#: Words that name nothing an agent does ("the invoice stuff", "the Kestrel one").
_VAGUE = frozenset(
    "the a an of to for in on at by and or is are be was it this that these those with from my "
    "our me what about thing things stuff one ones".split()
)
#: Weight of a candidate sharing the best agent's family, against score and word support (each
#: scaled to 0..1); 0.3 chosen on the dev fragments (0, 0.2, 0.3, 0.5 tried).
FAMILY_WEIGHT = 0.3
#: Weight of a candidate's nearness to the best agent in the router's example space (scaled to
#: 0..1 over the other agents); 0.5 chosen on the 36 dev fragments (0, 0.5, 1, 1.5, 2 tried:
#: 30, 32, 30, 31, 30 asked with every gold candidate among four options).
NEIGHBOUR_WEIGHT = 0.5
#: Agent -> other agent -> cosine of their example centroids.
Neighbours = Mapping[str, Mapping[str, float]]


class WordSupport:
    """How often each agent's roster examples use a request's words ("backups" appears in
    backup_manager's and pipeline_scheduler's examples): the agents a fragment may mean even
    when the router's scores crowd on one."""

    def __init__(self, examples: Mapping[str, Iterable[str]]):
        self.counts = {
            agent: Counter(stem(w) for t in texts for w in set(_pieces(words(t))))
            for agent, texts in examples.items()
        }

    def __call__(self, text: str) -> dict[str, float]:
        """Each agent's support for ``text``: example uses of its content words, summed."""
        content = [stem(w) for w in _pieces(words(text)) if w not in _VAGUE]
        return {a: float(sum(c[w] for w in content)) for a, c in self.counts.items()}


def _pieces(ws: Iterable[str]) -> list[str]:
    """Words with names like ``sweeper_parts_import`` cut into their parts ("import")."""
    return [p for w in ws for p in w.split("_") if p]


def agent_neighbours(router: object) -> Neighbours | None:
    """How near each agent is to each other in ``router``'s example space (the cosine of their
    example centroids): "the website" scores on site_deployer; its near agents are the other
    things the user may mean. ``None`` for a router that keeps no example vectors."""
    model = getattr(router, "route_model", None)
    vectors, labels = getattr(model, "vectors", None), getattr(model, "labels", None)
    routes = list(getattr(model, "routes", []))
    if vectors is None or labels is None or not routes:
        return None
    vecs, labs = np.asarray(vectors, dtype=np.float32), np.asarray(labels)
    centroids = np.zeros((len(routes), vecs.shape[1]), dtype=np.float32)
    for i in range(len(routes)):
        if (labs == i).any():
            centroids[i] = vecs[labs == i].mean(axis=0)
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-9)
    sims = centroids @ centroids.T
    return {a: {b: float(sims[i, j]) for j, b in enumerate(routes)} for i, a in enumerate(routes)}


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
    decision: RouteDecision,
    families: Mapping[str, str],
    *,
    text: str = "",
    support: WordSupport | None = None,
    previous: Sequence[str] = (),
    neighbours: Neighbours | None = None,
    limit: int = MAX_OPTIONS,
) -> list[str]:
    """The agents to offer: the router's best, the previous turn's agents, then the rest by
    score (relative to the best) plus word support (relative to the most supported) plus
    :data:`FAMILY_WEIGHT` for the best one's family plus :data:`NEIGHBOUR_WEIGHT` for nearness
    to the best one (``neighbours``, see :func:`agent_neighbours`). A fragment's scores crowd on
    one agent; the agents whose examples use its words, and its neighbours, are the likely
    others.
    """
    order = ranked(decision)
    if not order:
        return []
    top, best = order[0]
    probs = dict(order)
    backing = support(text) if support is not None and text else {}
    most = max(backing.values(), default=0.0) or 1.0
    fam = families.get(top)
    near = dict((neighbours or {}).get(top, {}))
    others = [v for a, v in near.items() if a != top]
    low, span = min(others, default=0.0), (max(others, default=0.0) - min(others, default=0.0))

    def merit(agent: str) -> float:
        return (
            probs[agent] / (best or 1.0)
            + backing.get(agent, 0.0) / most
            + FAMILY_WEIGHT * (families.get(agent) == fam)
            + NEIGHBOUR_WEIGHT * ((near.get(agent, low) - low) / span if span else 0.0)
        )

    chosen = [top] + [a for a in previous if a in probs and a != top]
    chosen += sorted((a for a in probs if a not in chosen), key=lambda a: -merit(a))
    return chosen[:limit]
