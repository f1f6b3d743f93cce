"""Score a router on a labelled set: accuracy, per-agent precision/recall, confusions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, Field

from nova_graph.improve.labelled import LabelledRequest
from nova_graph.routing.decision import RouteDecision, Router, route_all

OUT_OF_SCOPE = "(out of scope)"


class AgentScore(BaseModel):
    """Routing quality of one agent on a labelled set's single-answer requests (in scope and
    out of scope), counted on the top agent: precision = correct / predicted, recall =
    correct / support, F1 their harmonic mean; each between 0 and 1."""

    support: int = Field(description="Labelled requests that belong to this agent.")
    predicted: int = Field(description="Requests the router sent to this agent.")
    correct: int
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


class RoutingScore(BaseModel):
    """How well a router did on a labelled set.

    ``accuracy`` is the share of the set's non-ambiguous requests (in scope, multi-domain and
    out of scope) routed right: the one accuracy figure every command reports for a set.
    """

    n: int
    accuracy: float
    oos_recall: float | None = Field(
        default=None, description="Out-of-scope requests refused (None: the set has none)."
    )
    clarify_rate: float | None = Field(
        default=None,
        description="Ambiguous requests answered with a question among their candidates "
        "(None: the set has none).",
    )
    per_agent: dict[str, AgentScore]
    confusion: dict[str, dict[str, int]] = Field(
        description="expected label -> predicted label -> count ('(out of scope)' for none)."
    )
    predictions: list[str | None] = Field(default_factory=list, exclude=True)
    hits: list[bool] = Field(
        default_factory=list,
        exclude=True,
        description="Per request of the set, in order: routed right (ambiguous requests: met "
        "with a clarifying question among their candidates).",
    )
    route_scores: list[dict[str, float]] = Field(
        default_factory=list,
        exclude=True,
        description="Per request of the set, in order: the router's score of every agent (empty "
        "for a router that gives none).",
    )

    def regressions(self, after: RoutingScore) -> list[int]:
        """Positions of the requests this score got right and ``after`` (the same set) gets
        wrong."""
        return [
            i for i, (b, a) in enumerate(zip(self.hits, after.hits, strict=True)) if b and not a
        ]

    def agent_recall(self) -> dict[str, float]:
        """Per-agent recall (the per-agent score the acceptance margin is checked on)."""
        return {a: s.recall for a, s in self.per_agent.items() if s.support}

    def confused_with(self, agent: str, k: int = 3) -> list[tuple[str, int]]:
        """The labels most often confused with ``agent`` in either direction."""
        counts: Counter[str] = Counter()
        for pred, n in self.confusion.get(agent, {}).items():
            if pred != agent:
                counts[pred] += n
        for exp, row in self.confusion.items():
            if exp != agent and row.get(agent):
                counts[exp] += row[agent]
        return counts.most_common(k)


def top_agent(decision: RouteDecision) -> str | None:
    """The single best agent of a decision (``None`` when it is out of scope)."""
    if decision.out_of_scope or not decision.agents:
        return None
    if decision.scores:
        return max(decision.agents, key=lambda a: decision.scores.get(a, float("-inf")))
    return decision.agents[0]


def asks_to_clarify(item: LabelledRequest, decision: RouteDecision) -> bool:
    """An ambiguous request is met with a question whose choices include a candidate."""
    return decision.ambiguous and bool(set(decision.agents) & set(item.agents))


def is_correct(item: LabelledRequest, decision: RouteDecision) -> bool:
    """Single-label items: the top agent matches; multi-label items: the routed set matches."""
    if len(item.agents) > 1:
        return not decision.out_of_scope and set(decision.agents) == set(item.agents)
    return top_agent(decision) == item.label


def score_decisions(
    items: Sequence[LabelledRequest],
    decisions: Sequence[RouteDecision],
    agents: Sequence[str] | None = None,
) -> RoutingScore:
    """Score already-made decisions against their labels."""
    names = set(agents or [])
    for item in items:
        names.update(item.agents)
    support: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    correct: Counter[str] = Counter()
    confusion: dict[str, dict[str, int]] = {}
    preds: list[str | None] = []
    flags: list[bool] = []
    route_scores: list[dict[str, float]] = []
    hits = scored = oos = refused = unclear = asked = 0
    for item, decision in zip(items, decisions, strict=True):
        top = top_agent(decision)
        preds.append(top)
        route_scores.append(dict(decision.scores))
        if item.ambiguous:
            unclear += 1
            asked += (clarified := asks_to_clarify(item, decision))
            flags.append(clarified)
            continue
        scored += 1
        ok = is_correct(item, decision)
        flags.append(ok)
        if not item.agents:
            oos += 1
            refused += ok
        hits += ok
        exp_key = item.label or OUT_OF_SCOPE
        pred_key = top or OUT_OF_SCOPE
        row = confusion.setdefault(exp_key, {})
        row[pred_key] = row.get(pred_key, 0) + 1
        if len(item.agents) > 1:
            continue  # multi-domain requests count in accuracy, not in per-agent figures
        # Per-agent figures share one unit, the top agent of single-answer requests:
        # correct <= predicted and correct <= support, so no figure exceeds 100 %.
        if item.label is not None:
            support[item.label] += 1
            correct[item.label] += top == item.label
        if top is not None:
            names.add(top)
            predicted[top] += 1
    per_agent = {
        a: AgentScore(
            support=support[a],
            predicted=predicted[a],
            correct=correct[a],
            precision=correct[a] / predicted[a] if predicted[a] else 0.0,
            recall=correct[a] / support[a] if support[a] else 0.0,
        )
        for a in sorted(names)
    }
    return RoutingScore(
        n=scored,
        accuracy=hits / scored if scored else 0.0,
        oos_recall=refused / oos if oos else None,
        clarify_rate=asked / unclear if unclear else None,
        per_agent=per_agent,
        confusion=confusion,
        predictions=preds,
        hits=flags,
        route_scores=route_scores,
    )


def score_router(
    router: Router, items: Sequence[LabelledRequest], agents: Sequence[str] | None = None
) -> RoutingScore:
    """Route every labelled request and score the decisions."""
    return score_decisions(items, route_all(router, [i.text for i in items]), agents)
