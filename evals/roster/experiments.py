"""Router experiments on the roster that never read the held-out set (dev set + example folds).

Run from the repository root::

    .venv/bin/python -m evals.roster.experiments lexical     # 5-fold CV and dev, with/without
    .venv/bin/python -m evals.roster.experiments uncalibrated  # weights without calibration
    .venv/bin/python -m evals.roster.experiments ambiguity   # same-family ambiguity margins
    .venv/bin/python -m evals.roster.experiments split       # slack on the bare-"and" split rule

Figures quoted in ``evals/roster/README.md`` come from these commands.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evals.harness.roster import HeldoutSet, load_heldout, score_multi
from nova_app import nova_roster
from nova_graph.roster import Roster
from nova_graph.routing import SemanticRouter
from nova_graph.routing.default import default_router

DEV = Path("evals/roster/dev.yaml")
FOLDS = 5


def _accuracy(router: SemanticRouter, items: Sequence[tuple[str, str]]) -> float:
    """Best-route accuracy, refusals ignored (what ``calibrate`` optimises; uncalibrated routers
    refuse too often for ``score_singles``, which counts a refusal as a miss, to compare them)."""
    decisions = router.route_batch([t for t, _ in items])
    best = [max(d.scores, key=lambda a: d.scores[a]) for d in decisions]
    return float(np.mean([b == a for b, (_, a) in zip(best, items, strict=True)]))


def _default(roster: Roster, **kwargs: Any) -> SemanticRouter:
    router = default_router(roster, **kwargs)
    if not isinstance(router, SemanticRouter):
        raise TypeError("the default router is expected to be a SemanticRouter")
    return router


def _fold(texts: list[str], k: int, f: int, *, keep: bool) -> list[str]:
    """The texts whose position is ``f`` modulo ``k`` (``keep``), or all the others."""
    return [t for i, t in enumerate(texts) if (i % k == f) == keep]


def lexical(roster: Roster, dev: HeldoutSet) -> None:
    """Top-1 accuracy with and without the lexical channel: example folds, then dev."""
    examples, negatives = roster.examples(), list(roster.out_of_scope)
    for use in (False, True):
        scores = []
        for f in range(FOLDS):
            train = {a: _fold(ts, FOLDS, f, keep=False) for a, ts in examples.items()}
            calib = [(t, a) for a, ts in train.items() for t in ts[1::4]]
            fit = {a: _fold(ts, 4, 1, keep=False) for a, ts in train.items()}
            test = [(t, a) for a, ts in examples.items() for t in _fold(ts, FOLDS, f, keep=True)]
            router = SemanticRouter.from_examples(
                fit, out_of_scope_examples=negatives[0::2], lexical=use
            )
            router.calibrate(calib, negatives[1::2])
            scores.append(_accuracy(router, test))
        print(f"lexical={use}: {FOLDS}-fold over examples {np.mean(scores):.1%}")
    router = _default(roster, cache_dir=False)
    chosen = router.lexical_weight
    print(f"default router: calibrated lexical weight {chosen}, mix {router.mix}")
    for weight in sorted({0.0, chosen}):
        router.lexical_weight = weight
        print(f"dev, lexical weight {weight}: {_accuracy(router, dev.singles()):.1%}")


def uncalibrated(roster: Roster, dev: HeldoutSet) -> None:
    """Dev accuracy of uncalibrated routers from the first n examples per agent, by weights."""
    for n in (3, 6, 10, 20):
        examples = {a: ts[:n] for a, ts in roster.examples().items()}
        router = SemanticRouter.from_examples(examples)
        cells = []
        for mix in (0.0, 0.5, 1.0):
            for weight in (0.0, 0.3, 0.5, 0.7):
                router.mix, router.lexical_weight = mix, weight
                cells.append(f"mix {mix}/lexical {weight}: {_accuracy(router, dev.singles()):.1%}")
        print(f"{n} examples per agent: " + ", ".join(cells))


def ambiguity(roster: Roster, dev: HeldoutSet) -> None:
    """Ask back when the top two share a family within a wider margin: costs and gains on dev."""
    router = _default(roster)
    family = {spec.name: spec.family for spec in roster}
    singles = dev.singles()

    def top_two(texts: list[str]) -> list[tuple[str, str, float]]:
        out = []
        for d in router.route_batch(texts):
            (a, pa), (b, pb) = sorted(d.scores.items(), key=lambda kv: -kv[1])[:2]
            out.append((a, b, pa - pb))
        return out

    s_top = top_two([t for t, _ in singles])
    a_top = top_two([item.text for item in dev.ambiguous])
    base = router.ambiguity_margin
    print(f"calibrated global margin {base:.4f}")
    for same_family in (0.0, 0.1, 0.2, 0.3, 0.4):

        def asks(x: tuple[str, str, float], m: float = same_family) -> bool:
            return x[2] < base or (family[x[0]] == family[x[1]] and x[2] < m)

        flagged = [(asks(x), x[0] == gold) for x, (_, gold) in zip(s_top, singles, strict=True)]
        right = sum(f and ok for f, ok in flagged)
        wrong = sum(f and not ok for f, ok in flagged)
        print(
            f"same-family margin {same_family}: ambiguous items asked "
            f"{np.mean([asks(x) for x in a_top]):.0%}; single requests asked "
            f"{(right + wrong) / len(singles):.1%} ({right} the router had right, {wrong} wrong)"
        )


def split(roster: Roster, dev: HeldoutSet) -> None:
    """A slack on the bare-"and" rule (split if whole < halves' mean + slack) on dev."""
    router = _default(roster)
    singles = [t for t, _ in dev.singles()]
    with_and = [t for t in singles if " and " in t]
    original = SemanticRouter._whole_is_weaker
    try:
        for slack in (0.0, 0.03, 0.05, 0.1, 0.15):

            def weaker(whole, halves, scored, index, s=slack):  # type: ignore[no-untyped-def]
                sims = scored[0].features[:, 0]
                mean = (sims[index[halves[0]]] + sims[index[halves[1]]]) / 2
                return bool(sims[index[whole]] < mean + s)

            SemanticRouter._whole_is_weaker = staticmethod(weaker)  # type: ignore[method-assign]
            multi = score_multi(router, dev.multi_domain)
            false = [len(d.clauses) > 1 for d in router.route_batch(singles)]
            false_and = [len(d.clauses) > 1 for d in router.route_batch(with_and)]
            print(
                f"slack {slack}: multi-domain agents found {multi['agent_recall']:.1%}, exact "
                f"{multi['exact']:.1%}; single requests split {np.mean(false):.1%}, of those "
                f"with ' and ' ({len(with_and)}) {np.mean(false_and):.1%}"
            )
    finally:
        SemanticRouter._whole_is_weaker = original  # type: ignore[method-assign]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one experiment."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("experiment", choices=["lexical", "uncalibrated", "ambiguity", "split"])
    args = p.parse_args(argv)
    roster = nova_roster()
    dev = load_heldout(DEV, roster)
    run = {"lexical": lexical, "uncalibrated": uncalibrated, "ambiguity": ambiguity, "split": split}
    run[args.experiment](roster, dev)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
