"""Plans: turn a routed request into steps with dependencies, read off the request's words.

A clause that refers back ("them", "those", "it", "the result", "each of", "any that", "based on
it") or follows an order word ("then", "after that", "once it's done") depends on the steps
before it; every other clause is independent. The planner is *unsure* only when a singular
reference ("it", "that") could point at several earlier steps; then, and only then, a configured
language model may choose the dependencies (counted as model calls).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field

from nova_graph.errors import PlanError
from nova_graph.routing.clauses import segment
from nova_graph.routing.decision import ClauseRoute, RouteDecision, Router, route_all
from nova_graph.routing.payload import InstructionVerbs
from nova_graph.state import PlanStep

_REFERENCE = re.compile(
    r"\b(?:them|those|these|their|(?<!\bis\s)(?<!\bwas\s)(?<!\bdoes\s)it|its|"
    r"the\s+results?|the\s+output|the\s+findings|the\s+answer|the\s+summary|the\s+draft|"
    r"each\s+of|any\s+that|any\s+which|all\s+that|the\s+ones|"
    r"based\s+on\s+(?:it|that|this|them)|(?:on|of|from|about|for|with|into|using|use)\s+that|"
    r"that\s+(?:list|report|result|summary|email|draft|one|ones)|this\s+list)\b",
    re.IGNORECASE,
)
_SINGULAR = re.compile(
    r"\b(?:(?<!\bis\s)(?<!\bwas\s)(?<!\bdoes\s)it|its|that\s+(?:list|report|result|summary|one)|"
    r"(?:on|of|from|about|for|with|into|using|use)\s+that)\b",
    re.IGNORECASE,
)
_ORDER = re.compile(
    r"\b(?:then|after\s+that|afterwards|once\s+(?:it'?s|that'?s|this\s+is|they'?re|it\s+is)\s+"
    r"(?:done|finished|ready|complete)|when\s+(?:it'?s|that'?s)\s+done|and\s+use)\b",
    re.IGNORECASE,
)


_SENTENCE = re.compile(r"[.?!;]\s")
# Explicit joints between two asks of one agent: ", then", "; also", "and then", ". After that".
_JOINT = re.compile(
    r"(?:[,;.!?]\s*|\s+and\s+)(?:and\s+)?(?:then|also|after\s+that)\b[,:]?\s*", re.IGNORECASE
)
_FORWARD = frozenset({"these", "this", "those", "them", "it", "its"})
# Words too common in requests to tie a step to an earlier one.
_COMMON = frozenset(
    "then them they that this those these what with from into about after also each list show "
    "draft email write make give tell find check based their there where which".split()
)


class PlanPolicy(BaseModel):
    """Plan limits (see ``NovaSettings.max_plan_steps`` / ``max_plan_depth``) and the planner."""

    max_steps: int = Field(default=6, ge=1, le=32)
    max_depth: int = Field(default=4, ge=1, le=32)
    enabled: bool = Field(
        default=True, description="False: every routed agent runs at once (the fan-out ablation)."
    )


@dataclass
class Plan:
    """The steps of one request, and how they were chosen."""

    steps: list[PlanStep]
    unsure: bool = False
    model_calls: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def dependent(self) -> bool:
        """True when some step waits for another."""
        return any(s["depends_on"] for s in self.steps)


def has_reference(text: str) -> bool:
    """True when ``text`` refers back to an earlier result or starts with an order word."""
    return bool(_REFERENCE.search(text) or _ORDER.match(text.strip()))


def split_dependent(
    text: str, router: Router, verbs: InstructionVerbs | None = None
) -> RouteDecision | None:
    """Cut a single-clause request at a bare "and" whose right side refers back to the left.

    "check stock of brush heads and raise a purchase order for any that are low" is one clause to
    the router (and an ambiguous one); cut there, the left side routes confidently and the right
    side (which works on the left's result) to its best agent, another one.
    The right side's object is the left's result, so its verb carries it: with ``verbs``, the
    agent its opening words name in the roster examples ("order more ...") takes it.
    Returns a decision with the two clauses, or None when no such cut routes cleanly.
    """
    segs = segment(text)
    if len(segs) != 1:
        return None
    for left, right in segs[0].weak_splits:
        if not has_reference(right):
            continue
        first, second = router.route(left), router.route(right)
        if first.ambiguous or first.out_of_scope or len(first.agents) != 1:
            continue
        # The right side works on the left's result ("write marketing copy based on it"): alone
        # it may look ambiguous, but its best agent takes it once the left side is clear.
        if second.out_of_scope or not second.agents or len(second.clauses) > 1:
            continue
        best = (verbs.agent(right) if verbs is not None else None) or max(
            second.agents, key=lambda a: second.scores.get(a, 0.0)
        )
        if first.agents[0] == best:
            continue
        clauses = [
            *first.clauses[:1],
            ClauseRoute(text=right, agent=best, score=second.scores.get(best, 0.0)),
        ]
        return RouteDecision(
            agents=[first.agents[0], best],
            scores={first.agents[0]: clauses[0].score, best: clauses[1].score},
            clauses=clauses,
            method="plan-split",
            model_calls=first.model_calls + second.model_calls,
            confidence=min(first.confidence or 1.0, second.confidence or 1.0),
        )
    return None


def split_repeated(text: str, decision: RouteDecision, router: Router) -> RouteDecision | None:
    """Cut a one-agent request into that agent's separate asks at explicit joints.

    "translate 'good morning' into French, then translate the result into German" routes as one
    clause (both halves go to the translator); cut at ", then" / "; also" / "and then", it
    becomes two steps of the same agent, the second given the first's result. Only when every
    piece routes clearly (not ambiguous, in scope) to that same agent; a bare sentence break
    ("My order is late. Can you check it?") is not a joint.
    Returns a decision with one clause per piece, or None.
    """
    if len(decision.agents) != 1 or decision.ambiguous or decision.out_of_scope:
        return None
    pieces = [p for p in (_clean_piece(p) for p in _JOINT.split(text)) if len(p) >= 3]
    if len(pieces) < 2:
        return None
    agent = decision.agents[0]
    routed = route_all(router, pieces)
    if any(r.ambiguous or r.out_of_scope or r.agents != [agent] for r in routed):
        return None
    return decision.model_copy(
        update={
            "clauses": [
                ClauseRoute(text=p, agent=agent, score=r.scores.get(agent, r.confidence or 1.0))
                for p, r in zip(pieces, routed, strict=True)
            ],
            "method": "plan-split",
            "model_calls": decision.model_calls + sum(r.model_calls for r in routed),
        }
    )


def _clean_piece(piece: str) -> str:
    return piece.strip(" \t\n,.;:")


def plan_request(
    text: str,
    decision: RouteDecision,
    routes: list[str],
    policy: PlanPolicy,
    *,
    model: BaseChatModel | None = None,
) -> Plan:
    """The plan for ``text``: one step per routed clause (an agent may have several), with
    dependencies read from its words.

    ``model`` (a configured model, not the offline one) is asked only when the rules are unsure.
    Raises :class:`PlanError` when the plan exceeds ``policy``'s limits.
    """
    parts = [(c.agent, c.text) for c in decision.clauses if c.agent in routes]
    covered = {agent for agent, _ in parts}
    parts += [(agent, text) for agent in routes if agent not in covered]
    if len(parts) == 1:
        parts = [(parts[0][0], text)]
    steps = [
        PlanStep(id=f"s{i}", agent=agent, request=request, depends_on=[])
        for i, (agent, request) in enumerate(parts, start=1)
    ]
    plan = Plan(steps)
    if policy.enabled and len(steps) > 1:
        _read_dependencies(text, plan)
        if plan.unsure and model is not None:
            _model_dependencies(text, plan, model)
    validate_plan(plan.steps, policy)
    return plan


def _read_dependencies(text: str, plan: Plan) -> None:
    """Fill ``depends_on`` from reference and order words; mark the plan unsure when vague.

    A dependent step waits for the steps since the last dependent one (its *frontier*); a new
    sentence without a cue starts a new frontier. When the step names something only some of
    the frontier's clauses mention ("translate the report"), it waits for those only.
    """
    lowered, cursor = text.lower(), 0
    frontier: list[PlanStep] = []
    for step in plan.steps:
        at = lowered.find(step["request"].lower(), cursor)
        gap = lowered[cursor:at] if at >= 0 else ""
        if at >= 0:
            cursor = at + len(step["request"])
        if frontier and _is_dependent(step["request"], gap):
            waits = frontier if len(frontier) == 1 else _sharing(step["request"], frontier)
            waits = waits or frontier
            step["depends_on"] = [s["id"] for s in waits]
            if len(waits) > 1 and _SINGULAR.search(step["request"]):
                plan.unsure = True
                plan.notes.append(f"{step['id']}: 'it' could mean any of {step['depends_on']}")
            frontier = [step]
        elif _SENTENCE.search(gap):
            frontier = [step]
        else:
            frontier.append(step)


def _is_dependent(request: str, gap: str) -> bool:
    """A reference back, or an order word before or at the start of the clause."""
    head, colon, _ = request.partition(": ")
    # "turn these requirements into tasks: ..." points forward at its own payload.
    if _ORDER.search(gap) or _ORDER.match(request.strip()):  # the cheaper test first
        return True
    words = _REFERENCE.findall(head)
    return any(not (colon and w.lower() in _FORWARD) for w in words)


def _sharing(request: str, frontier: list[PlanStep]) -> list[PlanStep]:
    """The frontier steps whose clause shares a content word with ``request`` (maybe none)."""
    mine = _content_words(request)
    return [s for s in frontier if mine & _content_words(s["request"])]


def _content_words(text: str) -> set[str]:
    return {w.rstrip("s") for w in re.findall(r"[a-z]{4,}", text.lower()) if w not in _COMMON}


def _model_dependencies(text: str, plan: Plan, model: BaseChatModel) -> None:
    """Ask a configured model which earlier steps each step needs; keep the rules' on failure."""
    listing = "\n".join(f"{s['id']}: {s['agent']}: {json.dumps(s['request'])}" for s in plan.steps)
    prompt = (
        "Steps of a user's request follow as quoted data. For each step, list the ids of the "
        "EARLIER steps whose results it needs. Reply with JSON only, e.g. "
        '{"s2": ["s1"], "s3": []}.\n'
        f"Request: {json.dumps(text)}\n{listing}"
    )
    plan.model_calls += 1
    try:
        reply = model.invoke(prompt)
        content = reply.content if isinstance(reply.content, str) else json.dumps(reply.content)
        found = json.loads(content[content.index("{") : content.rindex("}") + 1])
    except (ValueError, TypeError):
        plan.notes.append("model plan unreadable; kept the rule-based plan")
        return
    earlier: set[str] = set()
    for step in plan.steps:
        deps = found.get(step["id"]) if isinstance(found, dict) else None
        if isinstance(deps, list) and all(isinstance(d, str) and d in earlier for d in deps):
            step["depends_on"] = list(deps)
        earlier.add(step["id"])
    plan.unsure = False


def validate_plan(steps: list[PlanStep], policy: PlanPolicy) -> None:
    """Reject plans that are too long, too deep, cyclic or that wait for unknown steps."""
    if len(steps) > policy.max_steps:
        raise PlanError(
            f"this request has {len(steps)} parts but a plan may have at most {policy.max_steps} "
            "steps (NOVA_MAX_PLAN_STEPS); send it as several smaller requests"
        )
    ids = {s["id"] for s in steps}
    if len(ids) != len(steps):
        raise PlanError("two plan steps share an id; give every step its own id")
    deps = {s["id"]: list(s["depends_on"]) for s in steps}
    for sid, wanted in deps.items():
        unknown = [d for d in wanted if d not in ids]
        if unknown:
            raise PlanError(f"step {sid} waits for unknown step(s) {unknown}; name existing steps")
    depth: dict[str, int] = {}
    for sid, wanted in deps.items():  # steps usually wait only for earlier ones: one pass
        if any(d not in depth for d in wanted):
            break
        depth[sid] = 1 + max((depth[d] for d in wanted), default=0)

    def chain(sid: str, seen: tuple[str, ...]) -> int:
        if sid in seen:
            cycle = " -> ".join([*seen[seen.index(sid) :], sid])
            raise PlanError(f"the plan has a cycle ({cycle}); a step cannot wait for itself")
        if sid not in depth:
            depth[sid] = 1 + max((chain(d, (*seen, sid)) for d in deps[sid]), default=0)
        return depth[sid]

    longest = max((chain(s, ()) for s in deps), default=0)
    if longest > policy.max_depth:
        raise PlanError(
            f"the plan chains {longest} dependent steps but at most {policy.max_depth} are "
            "allowed (NOVA_MAX_PLAN_DEPTH); split the request into smaller ones"
        )


def plan_edges(steps: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """The plan's dependencies as ``(upstream agent, dependent agent)`` pairs."""
    agent = {s["id"]: s["agent"] for s in steps}
    return {(agent[d], s["agent"]) for s in steps for d in s["depends_on"] if d in agent}
