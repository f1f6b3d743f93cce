"""Concrete changes the loop can propose, where they come from, and how they are applied."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from nova_graph.errors import ImprovementError
from nova_graph.improve.labelled import LabelledRequest
from nova_graph.improve.setup import RoutingSetup
from nova_graph.runlog import RunRecord

ProposalKind = Literal[
    "add_examples", "split_scope", "recalibrate", "rewrite_description", "merge_scopes"
]


class Evidence(BaseModel):
    """One observed request: where it went and (when known) where it should have gone."""

    text: str
    predicted: str | None
    expected: str | None
    known: bool = Field(default=True, description="False when only 'this was wrong' is known.")
    source: str = "feedback"

    @property
    def missed(self) -> bool:
        """The request went to the wrong agent and the right one is known."""
        return self.known and self.expected is not None and self.predicted != self.expected


class Proposal(BaseModel):
    """One concrete change to a :class:`RoutingSetup`, with the evidence behind it."""

    id: str
    kind: ProposalKind
    agents: list[str]
    rationale: str
    add_examples: dict[str, list[str]] = Field(default_factory=dict)
    remove_examples: dict[str, list[str]] = Field(default_factory=dict)
    descriptions: dict[str, str] = Field(default_factory=dict)
    settings: dict[str, Any] | None = None
    flagged: bool = Field(
        default=False,
        description="Made only from corrections a person flagged (`nova feedback RUN "
        "--should-be AGENT`): kept unless it costs held-out accuracy beyond the policy's "
        "correction margin.",
    )
    advisory: bool = Field(
        default=False,
        description="Shown to people but never applied automatically (it changes the agent set).",
    )

    def summary(self) -> str:
        """One line describing the change."""
        parts = []
        for a, ex in self.add_examples.items():
            parts.append(f"+{len(ex)} examples -> {a}")
        for a, ex in self.remove_examples.items():
            parts.append(f"-{len(ex)} examples from {a}")
        for a in self.descriptions:
            parts.append(f"new description for {a}")
        if self.settings is not None:
            parts.append(
                "router settings " + ", ".join(f"{k}={v}" for k, v in self.settings.items())
            )
        return f"[{self.kind}] " + ("; ".join(parts) or self.rationale)


def evidence_from_runs(runs: Iterable[RunRecord]) -> list[Evidence]:
    """Evidence from logged runs that received feedback (the latest feedback per run counts)
    or whose clarifying question the user answered."""
    out: list[Evidence] = []
    for run in runs:
        if not run.feedback:
            if run.clarified_agent:  # the user's answer to a clarifying question
                out.append(
                    Evidence(
                        text=run.request, predicted=run.top_agent, expected=run.clarified_agent
                    )
                )
            continue
        last = run.feedback[-1]
        if last.verdict == "good":
            out.append(Evidence(text=run.request, predicted=run.top_agent, expected=run.top_agent))
        elif last.should_be:
            out.append(Evidence(text=run.request, predicted=run.top_agent, expected=last.should_be))
        else:
            out.append(
                Evidence(text=run.request, predicted=run.top_agent, expected=None, known=False)
            )
    return out


def evidence_as_labelled(evidence: Iterable[Evidence]) -> list[LabelledRequest]:
    """Evidence whose right answer is known, as labelled requests (for recalibration)."""
    return [
        LabelledRequest(text=e.text, agents=[e.expected] if e.expected else [])
        for e in evidence
        if e.known
    ]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


def propose_examples(
    setup: RoutingSetup, evidence: Sequence[Evidence], *, max_per_agent: int = 10
) -> list[Proposal]:
    """Per agent: add the requests that should have gone to it but did not, as examples."""
    existing = {_norm(x) for spec in setup.roster for x in spec.examples}
    by_agent: dict[str, list[str]] = defaultdict(list)
    sources: dict[str, set[str]] = defaultdict(set)
    seen: set[str] = set()
    for e in evidence:
        if not e.missed or e.expected not in setup.roster:
            continue
        key = _norm(e.text)
        if key in existing or key in seen:
            continue
        seen.add(key)
        by_agent[e.expected].append(e.text)  # type: ignore[index]
        sources[e.expected].add(e.source)  # type: ignore[index]
    proposals = []
    for agent, texts in sorted(by_agent.items(), key=lambda kv: -len(kv[1])):
        picked = texts[:max_per_agent]
        wrong = Counter(
            e.predicted or "(out of scope)" for e in evidence if e.missed and e.expected == agent
        )
        proposals.append(
            Proposal(
                id=f"add_examples:{agent}",
                kind="add_examples",
                agents=[agent],
                rationale=(
                    f"{len(texts)} request(s) for {agent} were routed elsewhere "
                    f"({', '.join(f'{k} x{n}' for k, n in wrong.most_common(3))}); "
                    f"add {len(picked)} of them as example requests"
                ),
                add_examples={agent: picked},
                flagged=sources[agent] == {"feedback"},
            )
        )
    return proposals


def propose_scope_splits(
    setup: RoutingSetup,
    evidence: Sequence[Evidence],
    encode: Any,
    *,
    min_confusions: int = 2,
    keep_at_least: int = 2,
) -> list[Proposal]:
    """Sharpen the boundary of confusable pairs: drop the examples of the agent that wrongly
    attracts another agent's requests when those examples are their nearest neighbours.

    ``encode(texts) -> unit vectors`` (an :class:`~nova_graph.embeddings.Encoder`'s ``encode``).
    """
    pairs: dict[tuple[str, str], list[str]] = defaultdict(list)
    for e in evidence:
        pred, exp = e.predicted, e.expected
        if (
            e.missed
            and pred is not None
            and exp is not None
            and pred in setup.roster
            and exp in setup.roster
        ):
            pairs[(pred, exp)].append(e.text)
    proposals = []
    for (wrong, right), texts in sorted(pairs.items(), key=lambda kv: -len(kv[1])):
        if len(texts) < min_confusions:
            continue
        own = list(setup.roster[wrong].examples)
        if len(own) <= keep_at_least:
            continue
        sims = np.asarray(encode(texts)) @ np.asarray(encode(own)).T
        culprits = Counter(int(i) for i in sims.argmax(axis=1))
        drop_idx = [i for i, _ in culprits.most_common(len(own) - keep_at_least)]
        drop = [own[i] for i in sorted(drop_idx)]
        proposals.append(
            Proposal(
                id=f"split_scope:{wrong}/{right}",
                kind="split_scope",
                agents=[wrong, right],
                rationale=(
                    f"{len(texts)} request(s) for {right} went to {wrong}; {len(drop)} of "
                    f"{wrong}'s examples are their nearest neighbours — drop them to separate "
                    "the scopes"
                ),
                remove_examples={wrong: drop},
            )
        )
    return proposals


def propose_merges(
    confusion: dict[str, dict[str, int]], *, min_rate: float = 0.3, min_count: int = 3
) -> list[Proposal]:
    """Advisory: pairs confused heavily both ways may be one scope split in two."""
    support = {a: sum(row.values()) for a, row in confusion.items()}
    out = []
    names = sorted(support)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            ab = confusion.get(a, {}).get(b, 0)
            ba = confusion.get(b, {}).get(a, 0)
            if min(ab, ba) == 0 or ab + ba < min_count:
                continue
            rate = (ab + ba) / max(1, support[a] + support[b])
            if rate >= min_rate:
                out.append(
                    Proposal(
                        id=f"merge_scopes:{a}+{b}",
                        kind="merge_scopes",
                        agents=[a, b],
                        rationale=(
                            f"{a} and {b} are confused both ways ({ab} + {ba} of "
                            f"{support[a] + support[b]} requests); consider merging their scopes "
                            "into one agent or rewriting both descriptions. Not applied "
                            "automatically: it changes the agent set."
                        ),
                        advisory=True,
                    )
                )
    return out


def propose_recalibration(settings: dict[str, Any], current: dict[str, Any]) -> list[Proposal]:
    """Router settings refitted on feedback, when they differ from the current ones."""
    if not settings or settings == current:
        return []
    return [
        Proposal(
            id="recalibrate",
            kind="recalibrate",
            agents=[],
            rationale="thresholds refitted on the requests users gave feedback on",
            settings=settings,
        )
    ]


DESCRIPTION_PROMPT = (
    "You maintain the routing table of a multi-agent assistant. Rewrite the one-line scope "
    "description of the agent below so that a router sends it the requests it missed and not "
    "the others. Answer with the new description only, one line, at most 200 characters.\n\n"
    "Agent: {agent}\nCurrent description: {description}\n"
    "Requests it should have received but did not:\n{missed}\n"
)


def propose_descriptions(
    setup: RoutingSetup, evidence: Sequence[Evidence], model: Any, *, max_agents: int = 3
) -> list[Proposal]:
    """With a configured language model: rewritten descriptions for the most-missed agents."""
    misses: dict[str, list[str]] = defaultdict(list)
    for e in evidence:
        if e.missed and e.expected in setup.roster:
            misses[e.expected].append(e.text)  # type: ignore[index]
    out = []
    for agent, texts in sorted(misses.items(), key=lambda kv: -len(kv[1]))[:max_agents]:
        prompt = DESCRIPTION_PROMPT.format(
            agent=agent,
            description=setup.roster[agent].description,
            missed="\n".join(f"- {t}" for t in texts[:10]),
        )
        reply = model.invoke(prompt)
        text = str(getattr(reply, "content", reply)).strip().splitlines()
        new = text[0].strip().strip('"') if text else ""
        if 3 <= len(new) <= 300 and new != setup.roster[agent].description:
            out.append(
                Proposal(
                    id=f"rewrite_description:{agent}",
                    kind="rewrite_description",
                    agents=[agent],
                    rationale=f"{len(texts)} missed request(s); description rewritten by the model",
                    descriptions={agent: new},
                )
            )
    return out


def apply_proposal(setup: RoutingSetup, proposal: Proposal) -> RoutingSetup:
    """The setup with ``proposal`` applied (the input is left unchanged)."""
    if proposal.advisory:
        raise ImprovementError(
            f"proposal {proposal.id} is advisory (it changes the agent set); apply it by "
            "editing the roster by hand"
        )
    touched = (
        set(proposal.add_examples) | set(proposal.remove_examples) | set(proposal.descriptions)
    )
    unknown = sorted(a for a in touched if a not in setup.roster)
    if unknown:
        raise ImprovementError(
            f"proposal {proposal.id} names agents not in the roster: {unknown}; regenerate "
            "proposals for the current roster"
        )
    specs = []
    for spec in setup.roster:
        update: dict[str, Any] = {}
        if spec.name in proposal.add_examples or spec.name in proposal.remove_examples:
            drop = {_norm(x) for x in proposal.remove_examples.get(spec.name, [])}
            kept = [x for x in spec.examples if _norm(x) not in drop]
            have = {_norm(x) for x in kept}
            for x in proposal.add_examples.get(spec.name, []):
                if _norm(x) not in have:
                    kept.append(x.strip())
                    have.add(_norm(x))
            if not kept:
                raise ImprovementError(
                    f"proposal {proposal.id} would leave {spec.name} without example requests"
                )
            update["examples"] = kept
        if spec.name in proposal.descriptions:
            update["description"] = proposal.descriptions[spec.name]
        specs.append(spec.model_validate({**spec.model_dump(), **update}) if update else spec)
    new = setup.with_agents(specs)
    if proposal.settings is not None:
        new = new.with_settings(proposal.settings)
    return new
