"""Route the roster's held-out set: accuracy, per-agent precision/recall, flat vs hierarchical."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nova_graph.errors import InvalidRequestError
from nova_graph.roster import Roster, load_roster
from nova_graph.routing.decision import RouteDecision, Router

DEFAULT_SET = Path("evals/roster/heldout.yaml")

RouterBuilder = Callable[[Mapping[str, list[str]]], Router]


class MultiDomainItem(BaseModel):
    """A request made of several tasks (usually for several agents; all expected agents)."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1)
    agents: list[str] = Field(min_length=1)


class AmbiguousItem(BaseModel):
    """A request several agents could defensibly take."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1)
    candidates: list[str] = Field(min_length=2)


class HeldoutSet(BaseModel):
    """A labelled routing set (held-out or dev): single-agent, multi-domain, ambiguous requests."""

    model_config = ConfigDict(extra="forbid")
    agents: dict[str, list[str]]
    multi_domain: list[MultiDomainItem] = Field(default_factory=list)
    ambiguous: list[AmbiguousItem] = Field(default_factory=list)

    def singles(self) -> list[tuple[str, str]]:
        """(request, expected agent) pairs."""
        return [(t, a) for a, texts in self.agents.items() for t in texts]


def load_heldout(path: str | Path = DEFAULT_SET, roster: Roster | None = None) -> HeldoutSet:
    """Load the held-out set and check every label names an agent of ``roster``."""
    try:
        data = yaml.safe_load(Path(path).read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidRequestError(f"cannot read the held-out set {path}: {exc}") from None
    try:
        held = HeldoutSet.model_validate(data)
    except ValidationError as exc:
        raise InvalidRequestError(f"the held-out set {path} is malformed: {exc}") from None
    if roster is not None:
        labels = set(held.agents)
        labels |= {a for m in held.multi_domain for a in m.agents}
        labels |= {a for m in held.ambiguous for a in m.candidates}
        unknown = sorted(labels - set(roster.names))
        if unknown:
            raise InvalidRequestError(f"the held-out set names unknown agents {unknown}")
    return held


class NearestExampleRouter:
    """Baseline router: the agent whose closest examples are most similar (mean of top 3)."""

    def __init__(self, examples: Mapping[str, list[str]], *, top: int = 3) -> None:
        from nova_graph.embeddings import default_encoder

        self._encoder = default_encoder()
        self._names = list(examples)
        self._vectors = [self._encoder.encode(list(examples[n])) for n in self._names]
        self._top = top

    def route(self, text: str) -> RouteDecision:
        """The best-matching agent for ``text``."""
        q = self._encoder.encode([text])[0]
        scores = {}
        for name, vecs in zip(self._names, self._vectors, strict=True):
            sims = np.sort(vecs @ q)[::-1][: self._top]
            scores[name] = float(sims.mean())
        best = max(scores, key=lambda k: scores[k])
        return RouteDecision(agents=[best], scores=scores, method="embedding")


def default_factory() -> tuple[str, RouterBuilder]:
    """The graph's default router (``nova_graph.routing.default.default_router``), per roster.

    The factory builds a roster from the example dict so that the hierarchical routers (one per
    family, one over families) are trained and calibrated exactly like the flat default.
    """
    from nova_graph.roster import AgentSpec
    from nova_graph.routing.default import default_router

    def factory(examples: Mapping[str, list[str]]) -> Router:
        specs = [
            AgentSpec(
                name=name,
                family="general",
                description=name,
                examples=list(texts),
                system_prompt=name,
            )
            for name, texts in examples.items()
        ]
        return default_router(Roster(specs))

    return "nova_graph.routing.default.default_router (calibrated SemanticRouter)", factory


class HierarchicalRouter:
    """Route to a family first (over the family's pooled examples), then to an agent in it."""

    def __init__(self, roster: Roster, factory: RouterBuilder) -> None:
        fam_examples: dict[str, list[str]] = {}
        self._family_of: dict[str, str] = {}
        for spec in roster:
            fam_examples.setdefault(spec.family, []).extend(spec.examples)
            self._family_of[spec.name] = spec.family
        self._families = factory(fam_examples)
        self._agents = {
            fam: factory({a.name: list(a.examples) for a in roster.by_family(fam)})
            for fam in fam_examples
        }

    def route(self, text: str) -> RouteDecision:
        """Family first, then the best agent of that family."""
        fam = top_agent(self._families.route(text))
        if fam is None:
            return RouteDecision(out_of_scope=True, method="hierarchical")
        inner = self._agents[fam]
        if len(self._agents) == 1:
            return inner.route(text)
        decision = inner.route(text)
        agent = top_agent(decision)
        return RouteDecision(
            agents=[agent] if agent else [],
            scores=decision.scores,
            out_of_scope=agent is None,
            method="hierarchical",
        )


def top_agent(decision: RouteDecision) -> str | None:
    """The highest-scoring agent the decision names (None when it names none)."""
    if not decision.agents:
        return None
    return max(decision.agents, key=lambda a: decision.scores.get(a, float("-inf")))


def score_singles(router: Router, items: list[tuple[str, str]]) -> dict[str, Any]:
    """Top-1 accuracy and per-agent precision/recall on single-agent requests."""
    predicted: list[str | None] = [top_agent(router.route(text)) for text, _ in items]
    gold = [a for _, a in items]
    correct = sum(p == g for p, g in zip(predicted, gold, strict=True))
    tp: Counter[str] = Counter()
    pred_n: Counter[str] = Counter(p for p in predicted if p)
    gold_n: Counter[str] = Counter(gold)
    misses = []
    for (text, g), p in zip(items, predicted, strict=True):
        if p == g:
            tp[g] += 1
        else:
            misses.append({"text": text, "expected": g, "got": p})
    per_agent = {
        a: {
            "precision": tp[a] / pred_n[a] if pred_n[a] else 0.0,
            "recall": tp[a] / gold_n[a],
            "support": gold_n[a],
        }
        for a in sorted(gold_n)
    }
    return {
        "accuracy": correct / len(items),
        "n": len(items),
        "per_agent": per_agent,
        "misses": misses,
    }


def score_multi(router: Router, items: list[MultiDomainItem]) -> dict[str, Any]:
    """Multi-domain requests: share of expected agents found, and exact-set matches."""
    found = total = exact = 0
    for item in items:
        got = set(router.route(item.text).agents)
        want = set(item.agents)
        found += len(got & want)
        total += len(want)
        exact += got == want
    n = max(len(items), 1)
    return {"agent_recall": found / max(total, 1), "exact": exact / n, "n": len(items)}


def score_ambiguous(router: Router, items: list[AmbiguousItem]) -> dict[str, Any]:
    """Ambiguous requests: flagged as ambiguous, and top agent within the candidate set."""
    flagged = within = 0
    for item in items:
        d = router.route(item.text)
        flagged += d.ambiguous
        within += top_agent(d) in set(item.candidates)
    n = max(len(items), 1)
    return {"flagged_ambiguous": flagged / n, "top_in_candidates": within / n, "n": len(items)}


def evaluate(
    roster: Roster, held: HeldoutSet, factory: RouterBuilder | None = None
) -> dict[str, Any]:
    """Flat and hierarchical routing of the held-out set; the full result as a dict."""
    label, default = default_factory()
    factory = factory or default
    flat = factory(roster.examples())
    hier = HierarchicalRouter(roster, factory)
    singles = held.singles()
    result: dict[str, Any] = {
        "router": label if factory is default else getattr(factory, "__qualname__", "custom"),
        "flat": {
            "single": score_singles(flat, singles),
            "multi_domain": score_multi(flat, held.multi_domain),
            "ambiguous": score_ambiguous(flat, held.ambiguous),
        },
        "hierarchical": {"single": score_singles(hier, singles)},
    }
    f, h = result["flat"]["single"]["accuracy"], result["hierarchical"]["single"]["accuracy"]
    result["better"] = "flat" if f >= h else "hierarchical"
    return result


def format_report(result: dict[str, Any], *, show_misses: bool = False) -> str:
    """A plain-text table of the result."""
    flat, hier = result["flat"], result["hierarchical"]
    s, md, amb = flat["single"], flat["multi_domain"], flat["ambiguous"]
    lines = [
        f"router: {result['router']}",
        f"single-agent requests: {s['n']}",
        f"flat accuracy:         {s['accuracy']:.1%}",
        f"hierarchical accuracy: {hier['single']['accuracy']:.1%}  -> better: {result['better']}",
        f"multi-domain (n={md['n']}): expected agents found {md['agent_recall']:.1%}, "
        f"exact set {md['exact']:.1%}",
        f"ambiguous (n={amb['n']}): flagged {amb['flagged_ambiguous']:.1%}, "
        f"top agent in candidates {amb['top_in_candidates']:.1%}",
        "",
        f"{'agent':22} {'precision':>9} {'recall':>7} {'n':>3}   (flat)",
    ]
    for agent, m in s["per_agent"].items():
        flag = "  <85%" if m["recall"] < 0.85 else ""
        lines.append(f"{agent:22} {m['precision']:9.1%} {m['recall']:7.1%} {m['support']:3d}{flag}")
    worst = min(m["recall"] for m in s["per_agent"].values())
    lines.append(f"lowest per-agent recall: {worst:.1%}")
    if show_misses:
        lines.append("")
        lines += [f"MISS {m['expected']} -> {m['got']}: {m['text']}" for m in s["misses"]]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``nova eval roster``."""
    parser.add_argument("--set", default=str(DEFAULT_SET), help="held-out YAML file")
    parser.add_argument("--roster", default=None, help="roster YAML (default: the app's roster)")
    parser.add_argument("--output", default=None, help="write the full result as JSON here")
    parser.add_argument("--misses", action="store_true", help="list misrouted requests")


def run(args: argparse.Namespace) -> int:
    """Run the roster routing evaluation and print its table."""
    roster = load_roster(args.roster or args.default_roster)
    held = load_heldout(args.set, roster)
    result = evaluate(roster, held)
    print(format_report(result, show_misses=args.misses))
    if args.output:
        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0
