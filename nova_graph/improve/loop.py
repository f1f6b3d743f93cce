"""The self-improvement loop: propose changes, keep only those the held-out split confirms."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from pydantic import BaseModel, Field

from nova_graph.errors import ImprovementError
from nova_graph.improve.labelled import LabelledRequest
from nova_graph.improve.metrics import RoutingScore, score_router
from nova_graph.improve.proposals import (
    Evidence,
    Proposal,
    apply_proposal,
    captured_requests,
    evidence_as_labelled,
    one_per_example,
    propose_descriptions,
    propose_examples,
    propose_merges,
    propose_recalibration,
    propose_scope_splits,
    replay_set,
)
from nova_graph.improve.reach import Taken, neighbourhood, taken_requests
from nova_graph.improve.setup import RouterFactory, RoutingSetup
from nova_graph.improve.store import VersionStore


class AcceptancePolicy(BaseModel):
    """When a change is kept.

    Held-out accuracy must rise by more than ``min_gain`` (a flagged correction: must not fall
    by more than ``correction_margin``), no agent's recall may drop by more than
    ``max_agent_drop``, out-of-scope refusals and clarifying questions may not fall by more
    than ``max_behaviour_drop``, and at most ``max_regressions`` requests that were right may
    become wrong. Every figure but the last is a fraction (0.01 = 1 point).
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
    max_regressions: int | None = Field(
        default=None,
        ge=0,
        description="Most requests routed right before the change (on the held-out split and "
        "in the replayed history of labelled signals) that may be routed wrong after it; "
        "0: a change may fix requests but never break one; None: not checked.",
    )
    protect_others: bool = Field(
        default=False,
        description="A change may not take requests from the agents it is not for: no request "
        "of another agent (or out-of-scope request) on the held-out split, in the replayed "
        "history or among the roster's examples nearest the change that was routed right may "
        "be routed wrong after it, fall below the router's calibrated ambiguity margin over "
        "the next agent, or lose more than that margin over the change's own agents "
        "(see nova_graph.improve.reach).",
    )
    keep_neutral: bool = Field(
        default=False,
        description="With max_regressions set: a change that breaks no more than that, leaves "
        "held-out accuracy where it was and fixes at least one replayed request (one users' "
        "behaviour labelled) is kept: an implicit correction is honoured when it costs nothing.",
    )

    @classmethod
    def strict(cls, **overrides: Any) -> AcceptancePolicy:
        """The gate for changes kept without a person: no request that was right may become
        wrong, no agent's requests may be taken by a change not made for it, and a change that
        leaves held-out accuracy where it is is kept only for fixing requests users' behaviour
        labelled (use with :meth:`ImprovementLoop.strict`). ``overrides``: other fields."""
        fields: dict[str, Any] = {
            "max_regressions": 0,
            "keep_neutral": True,
            "protect_others": True,
        }
        return cls(**{**fields, **overrides})


class Verdict(BaseModel):
    """The held-out check of one proposal."""

    accepted: bool
    reason: str
    before: float
    after: float
    agent_deltas: dict[str, float] = Field(
        default_factory=dict, description="Per-agent recall change (only agents that changed)."
    )
    regressions: int = Field(
        default=0,
        description="Requests routed right before and wrong after (held-out split and replayed "
        "history).",
    )
    taken: int = Field(
        default=0,
        description="Requests of agents the change is not for that it takes (policy "
        "protect_others).",
    )

    @property
    def gain(self) -> float:
        """Held-out accuracy change."""
        return self.after - self.before


def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def judge(
    before: RoutingScore,
    after: RoutingScore,
    policy: AcceptancePolicy,
    *,
    flagged: bool = False,
    history: tuple[RoutingScore, RoutingScore] | None = None,
    plausible: bool = True,
    taken: Sequence[Taken] = (),
) -> Verdict:
    """Accept ``after`` over ``before`` under ``policy`` (``flagged``: a person's correction).

    ``history``: the scores before and after on replayed labelled signals (requests whose
    right agent users' behaviour showed); a request there that flips from right to wrong counts
    as a regression like one on the held-out split. ``plausible``: the change's evidence is
    corroborated or names an agent the router ranks high (see ``Proposal.plausible``); only
    then may ``policy.keep_neutral`` keep it for fixing replayed requests alone. ``taken``:
    the requests of other agents the change takes
    (:func:`~nova_graph.improve.reach.taken_requests`); any rejects it.
    """
    regressions = len(before.regressions(after))
    fixed = 0
    if history is not None:
        regressions += len(history[0].regressions(history[1]))
        fixed = len(history[1].regressions(history[0]))  # wrong before, right after
    if not plausible:
        fixed = 0  # a doubtful signal alone does not justify a change
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
    elif policy.max_regressions is not None and regressions > policy.max_regressions:
        reason = (
            f"{regressions} request(s) routed right before are routed wrong after "
            f"(limit {policy.max_regressions}); {moved}"
        )
    elif taken:
        reason = (
            f"takes {len(taken)} request(s) from agents it is not for: "
            + "; ".join(t.describe() for t in taken[:3])
            + f"; {moved}"
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
    elif (
        not flagged
        and policy.keep_neutral
        and policy.max_regressions is not None
        and abs(gain) <= 1e-12
        and fixed > 0
    ):
        accepted = True
        reason = (
            f"{moved}; fixes {fixed} request(s) users' behaviour labelled and breaks "
            f"{regressions} (limit {policy.max_regressions})"
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
        regressions=regressions,
        taken=len(taken),
    )


class Checked(NamedTuple):
    """A candidate's scores: on the held-out split (what accuracy figures report) and on the
    replayed history of labelled signals (checked for regressions only)."""

    heldout: RoutingScore
    history: RoutingScore | None = None
    router: Any = None

    @property
    def accuracy(self) -> float:
        """Held-out accuracy."""
        return self.heldout.accuracy

    def agent_recall(self) -> dict[str, float]:
        """Held-out per-agent recall."""
        return self.heldout.agent_recall()


class _Round(NamedTuple):
    """What one round checks its proposals against (``outcomes`` is filled in)."""

    setup: RoutingSetup
    pinned: RoutingSetup
    baseline: Checked
    proposals: Sequence[Proposal]
    outcomes: dict[str, ProposalOutcome]
    dry_run: bool


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
DEFAULT_MARGIN = 0.05
"""The margin ``protect_others`` keeps for a router without a calibrated ambiguity margin."""


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
        batch: check every agent's example additions as one change (one router build), and
            when it fails the gate, its two halves (by agent) in turn, down to ``batch_depth``
            splits: few builds per round, for routers that take long to build.
        per_example: check every added (or, with ``encode``, removed) example as its own
            change (one router build each), so a helpful example is kept even when another one
            of the same agent would break a request (instead of ``batch``); a single confusion
            is then enough to propose removing the wrong agent's nearest example.
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
        batch: bool = False,
        batch_depth: int = 2,
        per_example: bool = False,
        local: bool = False,
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
        self.batch = batch
        self.batch_depth = batch_depth
        self.per_example = per_example
        self.local = local
        self.progress = progress
        self.bars = bars
        self._history: list[LabelledRequest] = []

    @classmethod
    def strict(
        cls,
        factory: RouterFactory,
        heldout: Sequence[LabelledRequest],
        *,
        policy: AcceptancePolicy | None = None,
        encode: Callable[[Sequence[str]], Any] | None = None,
        **options: Any,
    ) -> ImprovementLoop:
        """The loop for changes kept without a person: every added or removed example checked
        as its own change (``per_example``, no trimming) and kept as a local overlay
        (``local``) under ``policy`` (default :meth:`AcceptancePolicy.strict`), with ``encode``
        (default: the default encoder's) for removals and the neighbourhood checks.
        ``options``: the other constructor arguments."""
        if encode is None:
            from nova_graph.embeddings import default_encoder

            encode = default_encoder().encode
        options.setdefault("local", True)
        return cls(
            factory,
            heldout,
            policy=policy or AcceptancePolicy.strict(),
            encode=encode,
            trim=False,
            per_example=True,
            **options,
        )

    def score(self, setup: RoutingSetup) -> RoutingScore:
        """Held-out score of ``setup``."""
        return score_router(self.factory.router(setup), self.heldout, setup.roster.names)

    def _check(self, setup: RoutingSetup) -> Checked:
        """Scores of ``setup`` on the held-out split and on this round's replayed history (and
        its router, which only ``protect_others`` reads again: a round holds every candidate's
        check, ~15 MB per 34-agent router)."""
        router = self.factory.router(setup)
        history = None
        if self._history:
            history = score_router(router, self._history, setup.roster.names)
        kept = router if self.policy.protect_others else None
        return Checked(score_router(router, self.heldout, setup.roster.names), history, kept)

    def _judge(
        self, base: RoutingSetup, before: Checked, after: Checked, proposal: Proposal
    ) -> Verdict:
        """``proposal`` applied to ``base`` (scored ``before``) gave ``after``: the verdict."""
        both = None
        if before.history is not None and after.history is not None:
            both = (before.history, after.history)
        return judge(
            before.heldout,
            after.heldout,
            self.policy,
            flagged=proposal.flagged,
            history=both,
            plausible=proposal.plausible,
            taken=self._taken(base, before, after, proposal),
        )

    def _taken(
        self, base: RoutingSetup, before: Checked, after: Checked, proposal: Proposal
    ) -> list[Taken]:
        """The requests of agents ``proposal`` is not for that it takes (policy
        ``protect_others``; without it: none)."""
        if not self.policy.protect_others or before.router is None or after.router is None:
            return []
        limit = float(getattr(after.router, "ambiguity_margin", DEFAULT_MARGIN))
        towards = proposal.beneficiaries
        out = taken_requests(self.heldout, before.heldout, after.heldout, towards, limit)
        if before.history is not None and after.history is not None:
            out += taken_requests(self._history, before.history, after.history, towards, limit)
        added = [(a, t) for a, ts in proposal.add_examples.items() for t in ts]
        removed = [(a, t) for a, ts in proposal.remove_examples.items() for t in ts]
        if self.encode is not None and (added or removed):
            near = neighbourhood(base, added, removed, towards, self.encode)
            names = base.roster.names
            scored = [score_router(c.router, near, names) for c in (before, after)]
            out += taken_requests(near, scored[0], scored[1], towards, limit)
        return out

    def pinned(self, setup: RoutingSetup) -> RoutingSetup:
        """``setup`` with its router's settings written down, so a change built on it differs
        from it only by what the change says (not by a new calibration). A local loop's changes
        leave the router as it is: ``setup`` itself."""
        if setup.settings or self.local:
            return setup
        thresholds = getattr(self.factory.router(setup), "thresholds", None) or {}
        plain = json.loads(json.dumps(thresholds, default=_plain))
        return setup.with_settings(plain)

    def propose(self, setup: RoutingSetup, evidence: Sequence[Evidence]) -> list[Proposal]:
        """Every proposal the evidence supports (advisory ones included, last)."""
        out = propose_examples(
            setup, evidence, max_per_agent=self.max_examples_per_agent, each=self.per_example
        )
        if self.encode is not None:
            # one confusion is enough when every removal is checked on its own
            least = 1 if self.per_example else 2
            out += propose_scope_splits(setup, evidence, self.encode, min_confusions=least)
        if self.factory.calibrate is not None and not self.local:
            labelled = evidence_as_labelled(evidence)
            if labelled:
                fitted = self.factory.calibrate(self.factory.router(setup), labelled)
                out += propose_recalibration(fitted, setup.settings)
        if self.model is not None:
            from nova_graph.models import is_offline

            if not is_offline(self.model):
                out += propose_descriptions(setup, evidence, self.model)
        out += propose_merges(_evidence_confusion(evidence))
        if self.per_example:
            return [q for p in out for q in one_per_example(p)]
        return merge_examples(out) if self.batch else out

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
        evidence = refresh_evidence(self.factory.router(setup), evidence)
        self._history = replay_set(evidence, setup.roster.names)
        baseline = self._check(setup)
        pinned = self.pinned(setup)
        proposals = self.propose(setup, evidence)
        self._say(
            f"round {round_no}: {len(proposals)} proposal(s), held-out "
            f"{baseline.accuracy * 100:.1f}%"
        )
        outcomes: dict[str, ProposalOutcome] = {}
        check = self._in_turn if self.per_example else self._best_first
        current, current_score = check(
            _Round(setup, pinned, baseline, proposals, outcomes, dry_run)
        )
        report = RoundReport(
            round=round_no,
            accuracy_before=baseline.accuracy,
            accuracy_after=current_score.accuracy,
            agent_recall_before=baseline.agent_recall(),
            agent_recall_after=current_score.agent_recall(),
            outcomes=[outcomes[p.id] for p in proposals]
            + [o for k, o in outcomes.items() if k not in {p.id for p in proposals}],
            dry_run=dry_run,
        )
        return current, report

    def _best_first(self, r: _Round) -> tuple[RoutingSetup, Checked]:
        """Check every proposal on ``setup``, then keep them best-first, each re-checked on
        top of those already kept; fills ``outcomes``."""
        setup, pinned, baseline, proposals, outcomes, dry_run = r
        first: list[tuple[Proposal, RoutingSetup, Checked, Verdict]] = []
        for p in self._bar(proposals, "checking proposals"):
            if p.advisory:
                outcomes[p.id] = ProposalOutcome(proposal=p)
                continue
            candidate = apply_proposal(pinned, p, local=self.local)
            after = self._check(candidate)
            verdict = self._judge(pinned, baseline, after, p)
            first.append((p, candidate, after, verdict))
            outcomes[p.id] = ProposalOutcome(proposal=p, verdict=verdict)
        current, current_score = setup, baseline
        if not dry_run:
            first.sort(key=lambda t: (-t[3].gain, t[0].id))
            for p, candidate, after, verdict in first:
                splittable = self.batch and len(p.add_examples) > 1
                if not verdict.accepted and verdict.gain <= 0 and not splittable:
                    continue
                key = p.id  # a trimmed proposal reports under the proposal it came from
                if current is not setup:  # re-check on top of what was already kept
                    candidate = apply_proposal(current, p, local=self.local)
                    after = self._check(candidate)
                    verdict = self._judge(current, current_score, after, p)
                if not verdict.accepted and splittable:
                    base = pinned if current is setup else current
                    for half in self._bisect(base, current_score, p, self.batch_depth):
                        q, cand, q_after, q_verdict = half
                        version = self._keep(current, current_score, q, cand, q_after)
                        outcomes[q.id] = ProposalOutcome(
                            proposal=q, verdict=q_verdict, version=version
                        )
                        current, current_score = cand, q_after
                        self._say(f"  kept {q.id}: {q_verdict.reason}")
                    outcomes[key] = ProposalOutcome(proposal=p, verdict=verdict)
                    continue
                if not verdict.accepted and verdict.gain > 0 and self.trim:
                    base = pinned if current is setup else current
                    trimmed = self._trim(base, current_score, p)
                    if trimmed is not None:
                        p, candidate, after, verdict = trimmed
                outcome = ProposalOutcome(proposal=p, verdict=verdict)
                if verdict.accepted:
                    outcome.version = self._keep(current, current_score, p, candidate, after)
                    current, current_score = candidate, after
                    self._say(f"  kept {p.id}: {verdict.reason}")
                outcomes[key] = outcome
        return current, current_score

    def _in_turn(self, r: _Round) -> tuple[RoutingSetup, Checked]:
        """Check each proposal once, in order (strongest evidence first), on top of those
        already kept, skipping without a router build an example addition that is not local
        (it would capture a held-out or replayed request of another agent); fills
        ``outcomes``."""
        setup, pinned, baseline, proposals, outcomes, dry_run = r
        current, current_score = setup, baseline
        for p in self._bar(proposals, "checking proposals"):
            if p.advisory:
                outcomes[p.id] = ProposalOutcome(proposal=p)
                continue
            base = pinned if current is setup else current
            reason = self._not_local(base, p)
            if reason is not None:
                outcomes[p.id] = ProposalOutcome(
                    proposal=p,
                    verdict=Verdict(
                        accepted=False,
                        reason=reason,
                        before=current_score.accuracy,
                        after=current_score.accuracy,
                    ),
                )
                continue
            candidate = apply_proposal(base, p, local=self.local)
            after = self._check(candidate)
            verdict = self._judge(base, current_score, after, p)
            outcome = ProposalOutcome(proposal=p, verdict=verdict)
            if verdict.accepted and not dry_run:
                outcome.version = self._keep(current, current_score, p, candidate, after)
                current, current_score = candidate, after
                self._say(f"  kept {p.id}: {verdict.reason}")
            outcomes[p.id] = outcome
        return current, current_score

    def _not_local(self, setup: RoutingSetup, proposal: Proposal) -> str | None:
        """Why an example addition is not local (``None``: it is, or it cannot be told
        without ``encode``)."""
        additions = [(a, t) for a, ts in proposal.add_examples.items() for t in ts]
        if self.encode is None or not additions:
            return None
        reference = [*self.heldout, *self._history]
        hits = sorted(
            {i for row in captured_requests(setup, additions, reference, self.encode) for i in row}
        )
        if not hits:
            return None
        names = Counter(reference[i].label or "(out of scope)" for i in hits)
        return (
            f"not local: the added example(s) would be the nearest example of {len(hits)} "
            "held-out or replayed request(s) of other agents ("
            + ", ".join(f"{k} x{n}" for k, n in names.most_common(3))
            + ")"
        )

    def _keep(
        self,
        base: RoutingSetup,
        before: Checked,
        proposal: Proposal,
        candidate: RoutingSetup,
        after: Checked,
    ) -> str | None:
        """Store a kept change as a new version (no store: nothing); returns its id."""
        if self.store is None:
            return None
        self.store.ensure_base(base)
        return self.store.commit(
            candidate,
            change=proposal.summary(),
            proposal=proposal.model_dump(mode="json"),
            score_before=before.accuracy,
            score_after=after.accuracy,
            agent_scores_before=before.agent_recall(),
            agent_scores_after=after.agent_recall(),
        ).version

    def _bisect(
        self, setup: RoutingSetup, before: Checked, proposal: Proposal, depth: int
    ) -> list[tuple[Proposal, RoutingSetup, Checked, Verdict]]:
        """The halves (by agent) of a rejected batched change that pass the gate in turn,
        splitting a failing half again while ``depth`` allows."""
        kept: list[tuple[Proposal, RoutingSetup, Checked, Verdict]] = []
        if depth <= 0 or len(proposal.add_examples) < 2:
            return kept
        for half in split_examples(proposal):
            candidate = apply_proposal(setup, half, local=self.local)
            after = self._check(candidate)
            verdict = self._judge(setup, before, after, half)
            if verdict.accepted:
                kept.append((half, candidate, after, verdict))
                setup, before = candidate, after
                continue
            deeper = self._bisect(setup, before, half, depth - 1)
            if deeper:
                kept += deeper
                setup, before = deeper[-1][1], deeper[-1][2]
        return kept

    def _trim(
        self, setup: RoutingSetup, before: Checked, proposal: Proposal
    ) -> tuple[Proposal, RoutingSetup, Checked, Verdict] | None:
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
                    cand = apply_proposal(setup, q, local=self.local)
                    after = self._check(cand)
                    tried.append((q, cand, after, self._judge(setup, before, after, q)))
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


def merge_examples(proposals: Sequence[Proposal]) -> list[Proposal]:
    """Every ``add_examples`` proposal merged into one (first), the others unchanged."""
    adds = [p for p in proposals if p.kind == "add_examples"]
    if len(adds) < 2:
        return list(proposals)
    merged = Proposal(
        id=f"add_examples:batch({len(adds)} agents)",
        kind="add_examples",
        agents=[a for p in adds for a in p.agents],
        rationale="; ".join(p.rationale for p in adds),
        add_examples={a: xs for p in adds for a, xs in p.add_examples.items()},
        flagged=all(p.flagged for p in adds),
    )
    return [merged, *(p for p in proposals if p.kind != "add_examples")]


def split_examples(proposal: Proposal) -> list[Proposal]:
    """A batched example proposal cut in two halves by agent (most examples first)."""
    agents = sorted(proposal.add_examples, key=lambda a: -len(proposal.add_examples[a]))
    halves = [agents[0::2], agents[1::2]]
    return [
        proposal.model_copy(
            update={
                "id": f"add_examples:{'+'.join(h) if len(h) <= 3 else f'{len(h)} agents'}"
                f"({proposal.id.count('/') + 1}.{i})",
                "agents": h,
                "add_examples": {a: proposal.add_examples[a] for a in h},
            }
        )
        for i, h in enumerate(halves, start=1)
        if h
    ]


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
    """Re-route evidence whose right agent is known, so proposals target today's misroutes
    (and know where the router ranks the right agent)."""
    from nova_graph.improve.metrics import top_agent
    from nova_graph.routing.decision import route_all

    known = [e for e in evidence if e.known]
    decisions = route_all(router, [e.text for e in known])
    fresh = iter(decisions)
    out = []
    for e in evidence:
        if not e.known:
            out.append(e)
            continue
        d = next(fresh)
        ranked = sorted(d.scores, key=lambda a: -d.scores[a])
        rank = ranked.index(e.expected) + 1 if e.expected in ranked else None
        out.append(e.model_copy(update={"predicted": top_agent(d), "rank": rank}))
    return out
