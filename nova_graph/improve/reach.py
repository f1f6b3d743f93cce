"""What a change takes from the agents it is not for.

A change is made for some agents (its ``beneficiaries``: the agent an example is added to, the
agent a scope split makes room for). Any other agent's labelled request it moves is taken
without evidence. :func:`taken_requests` finds them, comparing the router's scores before and
after the change on the held-out split, the replayed signals and the change's neighbourhood
(:func:`neighbourhood`: the roster's own example requests nearest the change, labelled by the
roster's author, and every example the change removes, still a request of its agent).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from nova_graph.improve.labelled import LabelledRequest
from nova_graph.improve.metrics import RoutingScore
from nova_graph.improve.setup import RoutingSetup

NEIGHBOURS = 8
"""Roster examples of other agents (and out-of-scope examples) checked per changed example."""


class Taken(BaseModel):
    """A request of an agent a change is not for, moved by the change beyond what is allowed."""

    text: str
    agent: str | None = Field(description="The request's agent (None: out of scope).")
    how: Literal["flipped", "below the margin", "moved too far"] = Field(
        description="'flipped': routed right before, wrong after; 'below the margin': its "
        "margin over the next agent fell below the limit; 'moved too far': its margin over "
        "the change's agents fell by more than the limit."
    )
    before: float | None = None
    after: float | None = None

    def describe(self) -> str:
        """One short line: agent, request, margins."""
        figures = ""
        if self.before is not None and self.after is not None:
            figures = f" (margin {self.before:.3f} -> {self.after:.3f})"
        return f"{self.agent or '(out of scope)'} {self.text[:60]!r} {self.how}{figures}"


def _margin(scores: dict[str, float], agent: str, against: Sequence[str]) -> float | None:
    others = [scores.get(a, 0.0) for a in against if a != agent]
    if agent not in scores or not others:
        return None
    return scores[agent] - max(others)


def taken_requests(
    items: Sequence[LabelledRequest],
    before: RoutingScore,
    after: RoutingScore,
    beneficiaries: set[str],
    limit: float,
) -> list[Taken]:
    """The requests of ``items`` (scored ``before`` and ``after`` a change) that belong to
    none of ``beneficiaries``, were routed right before, and are now routed wrong, or whose
    margin over the next agent fell from at least ``limit`` to below it, or whose margin over
    the beneficiaries fell by more than ``limit``. Ambiguous requests count by their flip only.
    """
    out: list[Taken] = []
    rows = zip(items, before.hits, after.hits, before.route_scores, after.route_scores, strict=True)
    for item, was, now, sb, sa in rows:
        if not was or beneficiaries & set(item.agents):
            continue
        if not now:
            out.append(Taken(text=item.text, agent=item.label, how="flipped"))
            continue
        if item.ambiguous or len(item.agents) != 1 or not sb or not sa:
            continue
        agent = item.agents[0]
        mb, ma = _margin(sb, agent, list(sb)), _margin(sa, agent, list(sa))
        if mb is not None and ma is not None and mb >= limit > ma:
            out.append(
                Taken(text=item.text, agent=agent, how="below the margin", before=mb, after=ma)
            )
            continue
        towards = sorted(beneficiaries)
        db, da = _margin(sb, agent, towards), _margin(sa, agent, towards)
        if db is not None and da is not None and db - da > limit:
            out.append(Taken(text=item.text, agent=agent, how="moved too far", before=db, after=da))
    return out


def neighbourhood(
    setup: RoutingSetup,
    added: Sequence[tuple[str, str]],
    removed: Sequence[tuple[str, str]],
    beneficiaries: set[str],
    encode: Callable[[Sequence[str]], Any],
    *,
    k: int = NEIGHBOURS,
) -> list[LabelledRequest]:
    """The roster's labelled requests a change of ``setup``'s examples may take.

    ``added`` / ``removed``: ``(agent, text)`` examples the change adds / removes. Per changed
    example: the ``k`` example requests of agents other than ``beneficiaries``, and the ``k``
    out-of-scope examples, most similar to it (``encode(texts) -> unit vectors``); and each
    removed example itself, as a request of the agent it is removed from.
    """
    texts = [t for _, t in [*added, *removed]]
    if not texts:
        return []
    gone = {t for _, t in removed}
    pool = [
        LabelledRequest(text=x, agents=[name])
        for name, examples in setup.examples().items()
        if name not in beneficiaries
        for x in examples
        if x not in gone
    ]
    pool += [LabelledRequest(text=x, agents=[]) for x in setup.roster.out_of_scope]
    picked: dict[str, LabelledRequest] = {}
    if pool:
        sims = np.asarray(encode(texts)) @ np.asarray(encode([p.text for p in pool])).T
        groups = [
            np.asarray([i for i, p in enumerate(pool) if bool(p.agents) == inside], dtype=int)
            for inside in (True, False)
        ]
        for row in sims:
            for group in groups:
                if len(group):
                    for i in group[np.argsort(-row[group])[:k]]:
                        picked.setdefault(pool[int(i)].text, pool[int(i)])
    for agent, text in removed:
        picked.setdefault(text, LabelledRequest(text=text, agents=[agent]))
    return list(picked.values())
