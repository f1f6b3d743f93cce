"""Does a turn continue the previous one or start a new topic? The features of that decision:
how the turn opens, whether it refers back, how much it says on its own, and how the router's
scores for the turn alone sit with the previous turn's agents."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence

from nova_graph.routing.clarify import ranked
from nova_graph.routing.cues import (
    confirms,
    corrects,
    has_anaphor,
    has_digit,
    is_ellipsis,
    is_followup_cue,
    is_repeat,
    narrows,
    own_verb,
    referent_kinds,
    words,
)
from nova_graph.routing.decision import RouteDecision

FEATURES: tuple[str, ...] = (
    "followup_cue",
    "anaphor",
    "log_words",
    "opens_with_action",
    "has_digit",
    "confidence",
    "margin",
    "previous_prob",
    "top_is_previous",
    "previous_family_mass",
    "swaps_referent",
    "repeats",
    "narrows",
    "own_verb",
    "inherits_verb",
    "previous_rank",
)
#: A turn that swaps a referent says little else: a cue ("what about", "and") and the new name.
_SWAP_WORDS = 6


def inherits_verb(text: str, starters: Collection[str]) -> bool:
    """Whether ``text`` carries no verb of its own and so borrows the previous request's (and
    its agent): a verbless continuation ("and 1022?", "what about Bright Facilities?"), a
    repeat with a change ("do the same for filter bags") or a narrowing ("only the ones from
    Brushworks") that does not open, past its joining words, with a request's own verb."""
    if confirms(text) or corrects(text, starters):
        return True  # "yes, go ahead", "sorry, I meant 1189", "make it 60"
    cued = is_repeat(text) or is_ellipsis(text) or narrows(text)
    return cued and not own_verb(text, starters)


def features(
    text: str,
    decision: RouteDecision,
    previous_agents: Sequence[str],
    starters: Collection[str],
    families: Mapping[str, str],
    previous_request: str = "",
) -> list[float]:
    """The follow-up features of ``text`` after ``previous_request``, routed to
    ``previous_agents``. ``swaps_referent``: a short turn opening with no verb that names
    a thing of a kind the previous request named ("what about Bright Facilities?" after "how
    much does Acme Cleaning owe us"): the same question about another customer, part or order,
    which the previous agent covers even when the name alone scores elsewhere. ``repeats``:
    the previous request again with a change ("do that again for last week"); ``narrows``: a
    narrowing of its answer ("just the overdue ones"); ``own_verb``: past its joining words the
    turn opens with a verb of its own ("and email it to Acme"), which may name another agent;
    ``previous_rank``: how far down the turn's own ranking the previous agents sit (log of the
    best one's rank: 0 when one of them is first), which still tells "run the import one" after
    a pipeline list (the runner second) from "retry it" after a log (the log agent far down)
    when another agent takes most of the probability."""
    w = words(text)
    order = ranked(decision)
    probs = dict(order)
    top = order[0][0] if order else None
    prev_fams = {families.get(a) for a in previous_agents}
    total = sum(probs.values()) or 1.0
    return [
        float(is_followup_cue(text)),
        float(has_anaphor(text)),
        math.log1p(len(w)),
        float(bool(w) and w[0] in starters),
        float(has_digit(text)),
        float(decision.confidence if decision.confidence is not None else 0.0),
        order[0][1] - order[1][1] if len(order) > 1 else 1.0,
        max((probs.get(a, 0.0) for a in previous_agents), default=0.0),
        float(top in previous_agents),
        sum(p for a, p in probs.items() if families.get(a) in prev_fams) / total,
        float(
            is_ellipsis(text)
            and len(w) <= _SWAP_WORDS
            and bool(referent_kinds(text) & referent_kinds(previous_request))
        ),
        float(is_repeat(text)),
        float(narrows(text)),
        float(own_verb(text, starters)),
        float(inherits_verb(text, starters)),
        math.log1p(
            min((i for i, (a, _) in enumerate(order) if a in previous_agents), default=len(order))
        ),
    ]
