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
from nova_graph.runlog import RunLog, RunRecord
from nova_graph.signals import ROUTING_KINDS, ImplicitSignal

ProposalKind = Literal[
    "add_examples", "split_scope", "recalibrate", "rewrite_description", "merge_scopes"
]


PLAUSIBLE_RANK = 3
"""A correction naming an agent the router ranks this high is plausible on its own."""


class Evidence(BaseModel):
    """One observed request: where it went and (when known) where it should have gone."""

    text: str
    predicted: str | None
    expected: str | None
    known: bool = Field(default=True, description="False when only 'this was wrong' is known.")
    source: str = Field(
        default="feedback",
        description="Where it came from: 'feedback' (a person's rating) or an implicit signal "
        "kind ('clarification', 'correction', 'rephrase').",
    )
    weight: float = Field(
        default=1.0, ge=0.0, le=1.0, description="How much it counts (a rephrase counts less)."
    )
    rank: int | None = Field(
        default=None,
        description="Where the current router ranks ``expected`` for this request (1: first), "
        "when it was re-routed; None: not known.",
    )

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
    plausible: bool = Field(
        default=True,
        description="The evidence behind it is corroborated (named more than once, or an "
        "answered clarification) or names an agent the router already ranks among its top "
        f"{PLAUSIBLE_RANK} for the request; only such a change is kept for honouring signals "
        "alone (AcceptancePolicy.keep_neutral).",
    )

    @property
    def beneficiaries(self) -> set[str]:
        """The agents the change is meant to give requests to: those it adds examples to or
        rewrites the description of, and (a scope split) the agents it makes room for; empty
        for router settings, which are for no agent in particular."""
        if self.kind == "split_scope":
            return {a for a in self.agents if a not in self.remove_examples}
        return set(self.add_examples) | set(self.descriptions)

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


def evidence_from_runs(
    runs: Iterable[RunRecord], signals: Iterable[ImplicitSignal] = ()
) -> list[Evidence]:
    """Evidence from logged runs: explicit feedback (the latest per run counts), and the
    implicit routing signals about them (answered clarifications, corrections in the next turn,
    rephrases after a refusal), each with its ``source`` and ``weight``.

    A run a person rated is judged by the rating alone; an implicit signal about it is ignored.
    """
    by_id = {run.run_id: run for run in runs}
    out: list[Evidence] = []
    rated: set[str] = set()
    for run in by_id.values():
        if not run.feedback:
            continue
        rated.add(run.run_id)
        last = run.feedback[-1]
        if last.verdict == "good":
            out.append(Evidence(text=run.request, predicted=run.top_agent, expected=run.top_agent))
        elif last.should_be:
            out.append(Evidence(text=run.request, predicted=run.top_agent, expected=last.should_be))
        else:
            out.append(
                Evidence(text=run.request, predicted=run.top_agent, expected=None, known=False)
            )
    seen: set[str] = set()
    labelled = list(signals)
    if not labelled:  # a log without stored signals: read answered clarifications off the runs
        labelled = [
            ImplicitSignal(
                run_id=r.run_id, kind="clarification", agent=r.clarified_agent, source_run=r.run_id
            )
            for r in by_id.values()
            if r.clarified_agent
        ]
    for sig in sorted(labelled, key=lambda s: -s.weight):
        target = by_id.get(sig.run_id)
        if sig.kind not in ROUTING_KINDS or target is None or not sig.agent:
            continue
        if target.run_id in rated or target.run_id in seen:
            continue
        seen.add(target.run_id)
        out.append(
            Evidence(
                text=target.request,
                predicted=target.top_agent,
                expected=sig.agent,
                source=sig.kind,
                weight=sig.weight,
            )
        )
    return out


def evidence_from_log(runlog: RunLog) -> list[Evidence]:
    """Every piece of evidence the run log holds (explicit feedback and implicit signals)."""
    return evidence_from_runs(runlog.runs(), runlog.signals(kinds=ROUTING_KINDS))


def evidence_as_labelled(evidence: Iterable[Evidence]) -> list[LabelledRequest]:
    """Evidence whose right answer is known, as labelled requests (for recalibration)."""
    return [
        LabelledRequest(text=e.text, agents=[e.expected] if e.expected else [])
        for e in evidence
        if e.known
    ]


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip().lower())


class Consensus(BaseModel):
    """What all the evidence about one request text says, aggregated across runs and rounds."""

    text: str
    expected: str = Field(description="The agent most of the evidence's weight names.")
    weight: float = Field(description="Total weight of the evidence naming ``expected``.")
    support: int = Field(description="Pieces of evidence naming ``expected``.")
    against: float = Field(description="Total weight of the evidence naming another agent.")


def consensus(evidence: Iterable[Evidence]) -> dict[str, Consensus]:
    """Per request text (normalised): the agent the labelled evidence agrees on.

    The same request seen in several runs (or rounds) adds up: a label named again becomes
    stronger, and a text whose evidence disagrees (no agent holds more than half the weight)
    is left out, so a single wrong correction cannot outvote repeated right ones.
    """
    weights: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    texts: dict[str, str] = {}
    for e in evidence:
        if not e.known or e.expected is None:
            continue
        key = _norm(e.text)
        texts.setdefault(key, e.text)
        weights[key][e.expected] += e.weight
        counts[key][e.expected] += 1
    out: dict[str, Consensus] = {}
    for key, by_agent in weights.items():
        agent, w = max(by_agent.items(), key=lambda kv: (kv[1], kv[0]))
        total = sum(by_agent.values())
        if w * 2 <= total:
            continue
        out[key] = Consensus(
            text=texts[key],
            expected=agent,
            weight=w,
            support=counts[key][agent],
            against=total - w,
        )
    return out


def replay_set(evidence: Iterable[Evidence], agents: Iterable[str]) -> list[LabelledRequest]:
    """The requests users' behaviour labelled (one per text, by :func:`consensus`), for
    agents of the roster: a change must not break the ones the router already gets right."""
    names = set(agents)
    return [
        LabelledRequest(text=c.text, agents=[c.expected])
        for c in consensus(evidence).values()
        if c.expected in names
    ]


def propose_examples(
    setup: RoutingSetup,
    evidence: Sequence[Evidence],
    *,
    max_per_agent: int = 10,
    each: bool = False,
) -> list[Proposal]:
    """Per agent: add the requests that should have gone to it but did not, as examples.

    The evidence about one text is aggregated first (:func:`consensus`): a request the
    evidence disagrees about is not added, and requests named more often come first.
    ``each``: one proposal per request instead (strongest evidence first), each marked
    ``plausible`` on its own evidence.
    """
    existing = {_norm(x) for xs in setup.examples().values() for x in xs}
    agreed = consensus(evidence)
    missed: dict[str, Evidence] = {}
    sources: dict[str, set[str]] = defaultdict(set)
    plausible: set[str] = set()
    for e in evidence:
        key = _norm(e.text)
        c = agreed.get(key)
        if not e.missed or c is None or c.expected != e.expected:
            continue
        missed.setdefault(key, e)
        sources[key].add(e.source)
        if (
            c.support > 1
            or e.source in ("feedback", "clarification")
            or (e.rank is not None and e.rank <= PLAUSIBLE_RANK)
        ):
            plausible.add(key)
    by_agent: dict[str, list[str]] = defaultdict(list)
    agent_sources: dict[str, set[str]] = defaultdict(set)
    doubtful: set[str] = set()
    ordered: list[tuple[str, str, int]] = []  # (agent, text, its position for the agent)
    for key in sorted(missed, key=lambda k: (-agreed[k].weight, -agreed[k].support)):
        c = agreed[key]
        if key in existing or c.expected not in setup.roster:
            continue
        by_agent[c.expected].append(c.text)
        ordered.append((c.expected, c.text, len(by_agent[c.expected])))
        agent_sources[c.expected] |= sources[key]
        if key not in plausible:
            doubtful.add(c.expected)
    if each:
        return [
            Proposal(
                id=f"add_examples:{agent}#{i}",
                kind="add_examples",
                agents=[agent],
                rationale=f"{text!r} should have gone to {agent} ("
                + ", ".join(sorted(sources[_norm(text)]))
                + f", {agreed[_norm(text)].support}x); add it as an example request",
                add_examples={agent: [text]},
                flagged=sources[_norm(text)] == {"feedback"},
                plausible=_norm(text) in plausible,
            )
            for agent, text, i in ordered
            if i <= max_per_agent
        ]
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
                flagged=agent_sources[agent] == {"feedback"},
                plausible=agent not in doubtful,
            )
        )
    return proposals


def one_per_example(proposal: Proposal) -> list[Proposal]:
    """A proposal that adds or removes several examples as one proposal per example added or
    removed (others unchanged), so each is checked, and kept or rejected, on its own."""
    if proposal.kind not in ("add_examples", "split_scope") or proposal.descriptions:
        return [proposal]
    changes = [
        (verb, agent, text)
        for verb, table in (("add", proposal.add_examples), ("remove", proposal.remove_examples))
        for agent, texts in table.items()
        for text in texts
    ]
    if len(changes) < 2:
        return [proposal]
    return [
        proposal.model_copy(
            update={
                "id": f"{proposal.id}#{i}",
                # a removal keeps the agents it makes room for (its beneficiaries)
                "agents": [agent] if verb == "add" else list(proposal.agents),
                "add_examples": {agent: [text]} if verb == "add" else {},
                "remove_examples": {agent: [text]} if verb == "remove" else {},
                "rationale": f"{verb} {text!r} as an example of {agent} (one change of: "
                f"{proposal.rationale})",
            }
        )
        for i, (verb, agent, text) in enumerate(changes, start=1)
    ]


def captured_requests(
    setup: RoutingSetup,
    additions: Sequence[tuple[str, str]],
    reference: Sequence[LabelledRequest],
    encode: Any,
) -> list[list[int]]:
    """Per ``(agent, text)`` example addition: the positions of the ``reference`` requests it
    would capture, i.e. requests that do not belong to ``agent`` (another agent's, or out of
    scope) and are closer to ``text`` than to every example of their own agent (out of scope:
    every out-of-scope example of the roster). A change is local when it captures none.

    ``encode(texts) -> unit vectors``. Multi-domain reference requests are skipped; an
    ambiguous one belongs to each of its candidates.
    """
    single = [(i, r) for i, r in enumerate(reference) if len(r.agents) <= 1 or r.ambiguous]
    if not additions or not single:
        return [[] for _ in additions]
    owners: dict[str | None, list[str]] = {a: xs for a, xs in setup.examples().items()}
    owners[None] = list(setup.roster.out_of_scope)
    texts = [r.text for _, r in single]
    ref = np.asarray(encode(texts))
    own = np.full(len(single), -1.0)
    for name, examples in owners.items():
        if not examples:
            continue
        best = (ref @ np.asarray(encode(examples)).T).max(axis=1)
        for k, (_, r) in enumerate(single):
            mine = r.agents if r.agents else [None]
            if name in mine:
                own[k] = max(own[k], best[k])
    sims = np.asarray(encode([t for _, t in additions])) @ ref.T
    out = []
    for row, (agent, _) in zip(sims, additions, strict=True):
        out.append(
            [
                i
                for k, (i, r) in enumerate(single)
                if agent not in r.agents and row[k] > own[k] + 1e-6
            ]
        )
    return out


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
        own = setup.examples()[wrong]
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


def apply_proposal(setup: RoutingSetup, proposal: Proposal, *, local: bool = False) -> RoutingSetup:
    """The setup with ``proposal`` applied (the input is left unchanged).

    ``local``: added and removed examples go to the setup's overlay (the router stays the one
    its roster and settings give, with the change on top) instead of into the roster (a router
    retrained on them)."""
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
    if local and (proposal.add_examples or proposal.remove_examples):
        overlay = setup.overlay.changed(proposal.add_examples, proposal.remove_examples)
        left = overlay.applied_to(setup.roster.examples())
        empty = sorted(a for a in touched if not left.get(a))
        if empty:
            raise ImprovementError(
                f"proposal {proposal.id} would leave {empty[0]} without example requests"
            )
        setup = setup.with_overlay(overlay)
        proposal = proposal.model_copy(update={"add_examples": {}, "remove_examples": {}})
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
