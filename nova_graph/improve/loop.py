"""The self-improvement loop: propose changes, keep only those the held-out split confirms."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, Field

from nova_graph.errors import ImprovementError
from nova_graph.improve.labelled import LabelledRequest
from nova_graph.improve.metrics import RoutingScore, score_router
from nova_graph.improve.proposals import (
    Evidence,
    Proposal,
    apply_proposal,
    evidence_as_labelled,
    propose_descriptions,
    propose_examples,
    propose_merges,
    propose_recalibration,
    propose_scope_splits,
)
from nova_graph.improve.setup import RouterFactory, RoutingSetup
from nova_graph.improve.store import VersionStore


class AcceptancePolicy(BaseModel):
    """When a change is kept.

    Held-out accuracy must rise by more than ``min_gain`` (a flagged correction: must not fall
    by more than ``correction_margin``), no agent's recall may drop by more than
    ``max_agent_drop``, and out-of-scope refusals and clarifying questions may not fall by more
    than ``max_behaviour_drop``. Every figure is a fraction (0.01 = 1 point).
    """

    min_gain: float = Field(default=0.0, ge=0.0, le=1.0, description="Accuracy must rise by more.")
    max_agent_drop: float = Field(
        default=0.02, ge=0.0, le=1.0, description="Largest per-agent recall drop allowed."
    )
    max_behaviour_drop: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="Largest drop allowed in out-of-scope recall and in the clarification rate.",
    )
    correction_margin: float = Field(
        default=0.005,
        ge=0.0,
        le=1.0,
        description="Held-out accuracy a flagged correction may cost and still be kept.",
    )


class Verdict(BaseModel):
    """The held-out check of one proposal."""

    accepted: bool
    reason: str
    before: float
    after: float
    agent_deltas: dict[str, float] = Field(
        default_factory=dict, description="Per-agent recall change (only agents that changed)."
    )

    @property
    def gain(self) -> float:
        """Held-out accuracy change."""
        return self.after - self.before


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def judge(
    before: RoutingScore, after: RoutingScore, policy: AcceptancePolicy, *, flagged: bool = False
) -> Verdict:
    """Accept ``after`` over ``before`` under ``policy`` (``flagged``: a person's correction)."""
    b, a = before.agent_recall(), after.agent_recall()
    deltas = {k: a.get(k, 0.0) - v for k, v in b.items() if abs(a.get(k, 0.0) - v) > 1e-12}
    worst = min(deltas.items(), key=lambda kv: kv[1], default=(None, 0.0))
    gain = after.accuracy - before.accuracy
    moved = f"held-out accuracy {_pct(before.accuracy)} -> {_pct(after.accuracy)}"
    moved += f" ({gain * 100:+.1f} points)"
    behaviour = [
        (name, x, y)
        for name, x, y in (
            ("out-of-scope recall", before.oos_recall, after.oos_recall),
            ("clarification rate", before.clarify_rate, after.clarify_rate),
        )
        if x is not None and y is not None and x - y > policy.max_behaviour_drop + 1e-12
    ]
    accepted = False
    if behaviour:
        name, x, y = behaviour[0]
        reason = (
            f"{name} fell {_pct(x)} -> {_pct(y)} "
            f"(limit {policy.max_behaviour_drop * 100:.1f} points); {moved}"
        )
    elif worst[0] is not None and -worst[1] > policy.max_agent_drop + 1e-12:
        reason = (
            f"{worst[0]} dropped {-worst[1] * 100:.1f} points "
            f"(limit {policy.max_agent_drop * 100:.1f}); {moved}"
        )
    elif flagged and gain < -policy.correction_margin - 1e-12:
        reason = (
            f"flagged correction costs too much: {moved}, "
            f"margin {policy.correction_margin * 100:.1f} points"
        )
    elif not flagged and gain <= policy.min_gain + 1e-12:
        reason = f"{moved}: not above the required gain of {policy.min_gain * 100:+.1f} points"
    else:
        accepted = True
        reason = moved + (
            f" (flagged correction, margin {policy.correction_margin * 100:.1f} points)"
            if flagged
            else ""
        )
    return Verdict(
        accepted=accepted,
        reason=reason,
        before=before.accuracy,
        after=after.accuracy,
        agent_deltas=deltas,
    )


class ProposalOutcome(BaseModel):
    """A proposal and what happened to it."""

    proposal: Proposal
    verdict: Verdict | None = Field(default=None, description="None for advisory proposals.")
    version: str | None = Field(default=None, description="The version storing it, if kept.")


class RoundReport(BaseModel):
    """One round of the loop."""

    round: int
    accuracy_before: float
    accuracy_after: float
    agent_recall_before: dict[str, float]
    agent_recall_after: dict[str, float]
    outcomes: list[ProposalOutcome]
    dry_run: bool = False

    @property
    def accepted(self) -> list[ProposalOutcome]:
        """The outcomes that were kept."""
        return [o for o in self.outcomes if o.verdict is not None and o.verdict.accepted]


ProgressFn = Callable[[str], None]
MAX_TRIM_STEPS = 4


class ImprovementLoop:
    """Finds weak routes from evidence, proposes changes, keeps those the held-out split confirms.

    Args:
        factory: builds a router from a setup (and optionally recalibrates one).
        heldout: the labelled acceptance split; never used to generate proposals.
        policy: the acceptance rule.
        store: where accepted versions are stored (``None``: keep nothing on disk).
        encode: ``encode(texts) -> unit vectors``, enables scope-split proposals.
        model: a configured chat model, enables rewritten descriptions (skip the offline one).
        max_examples_per_agent: cap on examples one proposal adds to one agent.
        progress: called with a line of text at each step.
        bars: show a progress bar (stderr) over the proposals being checked.
        trim: when an example proposal raises accuracy but makes an agent drop too far, try it
            again without the examples responsible (one at a time).
    """

    def __init__(
        self,
        factory: RouterFactory,
        heldout: Sequence[LabelledRequest],
        *,
        policy: AcceptancePolicy | None = None,
        store: VersionStore | None = None,
        encode: Callable[[Sequence[str]], Any] | None = None,
        model: Any = None,
        max_examples_per_agent: int = 10,
        trim: bool = True,
        progress: ProgressFn | None = None,
        bars: bool = False,
    ) -> None:
        if not heldout:
            raise ImprovementError(
                "the held-out split is empty; give a labelled set to check changes on"
            )
        self.factory = factory
        self.heldout = list(heldout)
        self.policy = policy or AcceptancePolicy()
        self.store = store
        self.encode = encode
        self.model = model
        self.max_examples_per_agent = max_examples_per_agent
        self.trim = trim
        self.progress = progress
        self.bars = bars

    def score(self, setup: RoutingSetup) -> RoutingScore:
        """Held-out score of ``setup``."""
        return score_router(self.factory.router(setup), self.heldout, setup.roster.names)

    def pinned(self, setup: RoutingSetup) -> RoutingSetup:
        """``setup`` with its router's settings written down, so a change built on it differs
        from it only by what the change says (not by a new calibration)."""
        if setup.settings:
            return setup
        thresholds = getattr(self.factory.router(setup), "thresholds", None) or {}
        plain = json.loads(json.dumps(thresholds, default=_plain))
        return setup.with_settings(plain)

    def propose(self, setup: RoutingSetup, evidence: Sequence[Evidence]) -> list[Proposal]:
        """Every proposal the evidence supports (advisory ones included, last)."""
        out = propose_examples(setup, evidence, max_per_agent=self.max_examples_per_agent)
        if self.encode is not None:
            out += propose_scope_splits(setup, evidence, self.encode)
        if self.factory.calibrate is not None:
            labelled = evidence_as_labelled(evidence)
            if labelled:
                fitted = self.factory.calibrate(self.factory.router(setup), labelled)
                out += propose_recalibration(fitted, setup.settings)
        if self.model is not None:
            from nova_graph.models import is_offline

            if not is_offline(self.model):
                out += propose_descriptions(setup, evidence, self.model)
        out += propose_merges(_evidence_confusion(evidence))
        return out

    def run_round(
        self,
        setup: RoutingSetup,
        evidence: Sequence[Evidence],
        *,
        round_no: int = 1,
        dry_run: bool = False,
    ) -> tuple[RoutingSetup, RoundReport]:
        """One round: propose, check each on the held-out split, keep the ones that pass.

        Proposals are tried best-first (by their gain alone) and each is re-checked on top of
        the changes already kept this round. ``dry_run`` checks but keeps nothing.
        """
        baseline = self.score(setup)
        pinned = self.pinned(setup)
        evidence = refresh_evidence(self.factory.router(setup), evidence)
        proposals = self.propose(setup, evidence)
        self._say(
            f"round {round_no}: {len(proposals)} proposal(s), held-out "
            f"{baseline.accuracy * 100:.1f}%"
        )
        outcomes: dict[str, ProposalOutcome] = {}
        first: list[tuple[Proposal, RoutingSetup, RoutingScore, Verdict]] = []
        for p in self._bar(proposals, "checking proposals"):
            if p.advisory:
                outcomes[p.id] = ProposalOutcome(proposal=p)
                continue
            candidate = apply_proposal(pinned, p)
            after = self.score(candidate)
            verdict = judge(baseline, after, self.policy, flagged=p.flagged)
            first.append((p, candidate, after, verdict))
            outcomes[p.id] = ProposalOutcome(proposal=p, verdict=verdict)
        current, current_score = setup, baseline
        if not dry_run:
            first.sort(key=lambda t: (-t[3].gain, t[0].id))
            for p, candidate, after, verdict in first:
                if not verdict.accepted and verdict.gain <= 0:
                    continue
                key = p.id  # a trimmed proposal reports under the proposal it came from
                if current is not setup:  # re-check on top of what was already kept
                    candidate = apply_proposal(current, p)
                    after = self.score(candidate)
                    verdict = judge(current_score, after, self.policy, flagged=p.flagged)
                if not verdict.accepted and verdict.gain > 0 and self.trim:
                    base = pinned if current is setup else current
                    trimmed = self._trim(base, current_score, p)
                    if trimmed is not None:
                        p, candidate, after, verdict = trimmed
                outcome = ProposalOutcome(proposal=p, verdict=verdict)
                if verdict.accepted:
                    if self.store is not None:
                        self.store.ensure_base(current)
                        outcome.version = self.store.commit(
                            candidate,
                            change=p.summary(),
                            proposal=p.model_dump(mode="json"),
                            score_before=current_score.accuracy,
                            score_after=after.accuracy,
                            agent_scores_before=current_score.agent_recall(),
                            agent_scores_after=after.agent_recall(),
                        ).version
                    current, current_score = candidate, after
                    self._say(f"  kept {p.id}: {verdict.reason}")
                outcomes[key] = outcome
        report = RoundReport(
            round=round_no,
            accuracy_before=baseline.accuracy,
            accuracy_after=current_score.accuracy,
            agent_recall_before=baseline.agent_recall(),
            agent_recall_after=current_score.agent_recall(),
            outcomes=[outcomes[p.id] for p in proposals],
            dry_run=dry_run,
        )
        return current, report

    def _trim(
        self, setup: RoutingSetup, before: RoutingScore, proposal: Proposal
    ) -> tuple[Proposal, RoutingSetup, RoutingScore, Verdict] | None:
        """Drop added examples one at a time (the drop that helps the worst-hit agent most
        first, at most :data:`MAX_TRIM_STEPS` times) until the rest passes the check."""
        current = proposal
        for _ in range(MAX_TRIM_STEPS):
            if sum(len(v) for v in current.add_examples.values()) <= 1:
                break
            tried = []
            for agent, texts in current.add_examples.items():
                for text in texts:
                    rest = {
                        a: [x for x in xs if not (a == agent and x == text)]
                        for a, xs in current.add_examples.items()
                    }
                    q = current.model_copy(
                        update={
                            "id": proposal.id + "~trimmed",
                            "add_examples": {a: xs for a, xs in rest.items() if xs},
                            "rationale": proposal.rationale + " (trimmed: examples that made "
                            "another agent drop were left out)",
                        }
                    )
                    cand = apply_proposal(setup, q)
                    after = self.score(cand)
                    tried.append(
                        (q, cand, after, judge(before, after, self.policy, flagged=q.flagged))
                    )
            passing = [t for t in tried if t[3].accepted]
            if passing:
                return max(passing, key=lambda t: t[3].gain)
            current = max(
                tried, key=lambda t: (min(t[3].agent_deltas.values(), default=0.0), t[3].gain)
            )[0]
            if all(t[3].gain <= 0 for t in tried):
                return None
        return None

    def _bar(self, items: Sequence[Any], desc: str) -> Any:
        from tqdm import tqdm

        return tqdm(items, desc=desc, unit="change", disable=not self.bars, file=sys.stderr)

    def _say(self, text: str) -> None:
        if self.progress is not None:
            self.progress(text)


def _plain(value: Any) -> Any:
    """JSON form of numpy numbers and arrays in router settings."""
    return value.tolist() if hasattr(value, "tolist") else float(value)


def _evidence_confusion(evidence: Sequence[Evidence]) -> dict[str, dict[str, int]]:
    confusion: dict[str, dict[str, int]] = {}
    for e in evidence:
        if not e.known or e.expected is None:
            continue
        row = confusion.setdefault(e.expected, {})
        pred = e.predicted or "(out of scope)"
        row[pred] = row.get(pred, 0) + 1
    return confusion


def refresh_evidence(router: Any, evidence: Sequence[Evidence]) -> list[Evidence]:
    """Re-route evidence whose right agent is known, so proposals target today's misroutes."""
    from nova_graph.improve.metrics import route_all, top_agent

    known = [e for e in evidence if e.known]
    decisions = route_all(router, [e.text for e in known])
    fresh = iter(decisions)
    return [
        e.model_copy(update={"predicted": top_agent(next(fresh))}) if e.known else e
        for e in evidence
    ]
