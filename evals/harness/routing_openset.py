"""Open-set routing eval: requests of a kind no agent was built for (``--open-set``).

CLINC150 (public data: Larson et al. 2019, "An Evaluation Dataset for Intent Classification and
Out-of-Scope Prediction", github.com/clinc/oos-eval; pass its folder with ``--data``): in each of
``--splits`` seeded random splits, ``--novel-domains`` of the 10 domains are held out entirely
(never in the examples, never in calibration) and their test requests are out-of-scope requests
of a *new kind* at test time; ``oos_test`` are out-of-scope requests of the *known kind* (like
``oos_train``/``oos_val``). Examples come from ``train``, calibration from ``val``, every figure
from ``test``. The Nova roster: each agent family held out in turn, the roster's held-out set
(``evals/roster/heldout.yaml``; its tuning set ``dev.yaml`` with ``--dev``) as test requests.

Compared in the same run, on the same vectors: the router calibrated as before this protocol
("closed-set calibration"), the router with held-out-group calibration, a logistic regression's
maximum probability on the MiniLM vectors, and semantic-router (on a seeded sample).
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from evals.harness.routing_data import Clinc
from nova_graph.embeddings import Encoder
from nova_graph.routing import RouteDecision, SemanticRouter
from nova_graph.routing.calibration import in_scope_threshold


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``nova eval routing --open-set``."""
    parser.add_argument("--open-set", action="store_true", help="open-set protocol (see README)")
    parser.add_argument("--splits", type=int, default=3, help="open-set: random domain splits")
    parser.add_argument("--novel-domains", type=int, default=3, help="open-set: domains held out")
    parser.add_argument("--no-roster", action="store_true", help="open-set: skip the Nova roster")
    parser.add_argument(
        "--dev",
        action="store_true",
        help="open-set: development run, calibrate on half of val and report on the other half "
        "(test is never read); the roster is tested on evals/roster/dev.yaml, not heldout.yaml",
    )


@dataclass
class Outcome:
    """What a router did on a test set: confidence, refusal and chosen route per request."""

    confidence: list[float]
    refused: list[bool]
    chosen: list[str | None]
    top: list[str]

    @classmethod
    def of(cls, decisions: Sequence[RouteDecision]) -> Outcome:
        """From router decisions (a split request counts as routed to its first agent)."""
        return cls(
            confidence=[float(d.confidence or 0.0) for d in decisions],
            refused=[d.out_of_scope for d in decisions],
            chosen=[d.agents[0] if d.agents and not d.out_of_scope else None for d in decisions],
            top=[max(d.scores, key=d.scores.__getitem__) for d in decisions],
        )


def open_set_metrics(out: Outcome, gold: Sequence[str | None], kind: Sequence[str]) -> dict:
    """AUROC (in-scope vs new-kind OOS), OOS recall per kind, in-scope and domain accuracy.

    ``kind`` is ``"in"``, ``"known"`` (out of scope, a kind seen in calibration) or ``"new"``.
    """
    k = np.asarray(kind)
    conf, refused = np.asarray(out.confidence), np.asarray(out.refused)
    ins = k == "in"
    right = np.asarray([c == g for c, g in zip(out.chosen, gold, strict=True)])
    top = np.asarray([t == g for t, g in zip(out.top, gold, strict=True)])
    res: dict[str, Any] = {
        "in_scope_requests": int(ins.sum()),
        "in_scope_accuracy": float(right[ins].mean()),
        "domain_accuracy": float(top[ins].mean()),
    }
    for name in ("known", "new"):
        sel = k == name
        res[f"{name}_oos_requests"] = int(sel.sum())
        res[f"{name}_oos_recall"] = float(refused[sel].mean()) if sel.any() else None
        both = ins | sel
        res[f"auroc_{name}"] = float(roc_auc_score(ins[both], conf[both])) if sel.any() else None
    return res


class LogRegPeer:
    """Multinomial logistic regression on the MiniLM vectors; confidence = max probability,
    threshold chosen on the calibration split with our rule (in-scope accuracy at target, or
    at most 1 point below accepting everything)."""

    def __init__(self, examples: dict[str, list[str]], encoder: Encoder) -> None:
        self.routes = list(examples)
        texts = [t for r in self.routes for t in examples[r]]
        labels = [i for i, r in enumerate(self.routes) for _ in examples[r]]
        self.encoder = encoder
        self.model = LogisticRegression(max_iter=2000, C=10.0)
        self.model.fit(encoder.encode(texts), labels)
        self.threshold = 0.0

    def _probs(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.model.predict_proba(self.encoder.encode(list(texts))))

    def calibrate(self, items: Sequence[tuple[str, str]], target: float) -> None:
        """The strictest max-probability threshold keeping in-scope accuracy at ``target``."""
        p = self._probs([t for t, _ in items])
        gold = np.asarray([self.routes.index(a) for _, a in items])
        conf = p.max(axis=1).astype(np.float32)
        self.threshold = in_scope_threshold(conf, p.argmax(axis=1) == gold, target, 0.01)

    def outcome(self, texts: Sequence[str]) -> Outcome:
        """Confidence, refusal and route per request."""
        p = self._probs(texts)
        conf = p.max(axis=1)
        top = [self.routes[int(i)] for i in p.argmax(axis=1)]
        refused = [bool(c < self.threshold) for c in conf]
        return Outcome(
            [float(c) for c in conf],
            refused,
            [None if r else t for t, r in zip(top, refused, strict=True)],
            top,
        )


def semantic_router_outcome(
    examples: dict[str, list[str]],
    encoder: Encoder,
    calibration: Sequence[tuple[str, str]],
    oos: Sequence[str],
    texts: Sequence[str],
    target: float,
) -> Outcome:
    """semantic-router (peer code in ``routing_peers``), calibrated like ours."""
    from semantic_router.routers.base import run

    from evals.harness.routing_peers import SemanticRouterPeer

    peer = SemanticRouterPeer(examples, encoder)
    peer.calibrate(calibration, oos, target)
    conf, refused, chosen, top = [], [], [], []
    for s in run(peer.router._scores_many(list(texts))):
        best = max(s, key=s.__getitem__)
        c = float(peer.router._probs(s)[best])
        conf.append(c)
        refused.append(c < float(peer.router.confidence_threshold or 0.0))
        chosen.append(None if refused[-1] else best)
        top.append(best)
    return Outcome(conf, refused, chosen, top)


def _sample(items: list, n: int, seed: int) -> list:
    return random.Random(seed).sample(items, n) if n < len(items) else list(items)


def clinc_split(
    data: Clinc, encoder: Encoder, novel: set[str], args: argparse.Namespace, seed: int
) -> dict[str, Any]:
    """One split: routers built on the known domains, tested on known, OOS and novel domains."""
    examples = {d: ts for d, ts in data.examples().items() if d not in novel}
    val = [(t, d) for t, d in data.val if d not in novel]
    texts = [t for t, _ in data.test] + list(data.oos_test)
    gold: list[str | None] = [None if d in novel else d for _, d in data.test]
    gold += [None] * len(data.oos_test)
    kind = ["new" if d in novel else "in" for _, d in data.test] + ["known"] * len(data.oos_test)
    res: dict[str, Any] = {"novel_domains": sorted(novel)}

    start = time.perf_counter()
    router = SemanticRouter.from_examples(
        examples, encoder=encoder, out_of_scope_examples=data.oos_train
    )
    res["build_s"] = time.perf_counter() - start
    for name, hold_out in (("closed_set_calibration", False), ("nova", True)):
        start = time.perf_counter()
        report = router.calibrate(
            val, data.oos_val, min_in_scope_accuracy=args.min_in_scope, hold_out_groups=hold_out
        )
        cal_s = time.perf_counter() - start
        out = Outcome.of(router.route_batch(texts))
        res[name] = {
            **open_set_metrics(out, gold, kind),
            "calibrate_s": cal_s,
            "calibration": report,
        }
    if seed == 0 and args.latency_n:
        from evals.harness.routing import timing

        base = getattr(encoder, "base", encoder)
        res["nova"]["timing"] = timing(
            router, base, [t for t, _ in data.test[: args.latency_n]], texts[: args.batch_n]
        )

    lr = LogRegPeer(examples, encoder)
    lr.calibrate(val, args.min_in_scope)
    res["logreg"] = open_set_metrics(lr.outcome(texts), gold, kind)

    if not args.no_peers and args.peer_n > 0:
        idx = sorted(_sample(list(range(len(texts))), args.peer_n, seed))
        cal = _sample(val, args.peer_n, seed)
        oos_cal = list(data.oos_val)
        try:
            out = semantic_router_outcome(
                examples, encoder, cal, oos_cal, [texts[i] for i in idx], args.min_in_scope
            )
        except ImportError as exc:  # semantic-router not installed
            res["semantic_router"] = {"error": str(exc)}
        else:
            res["semantic_router"] = open_set_metrics(
                out, [gold[i] for i in idx], [kind[i] for i in idx]
            )
    return res


#: The roster's test requests: the held-out set, or with ``--dev`` the tuning set.
ROSTER_SETS = {False: "evals/roster/heldout.yaml", True: "evals/roster/dev.yaml"}


def roster_family_holdout(args: argparse.Namespace) -> dict[str, Any]:
    """The roster (``args.default_roster``: the app's, Nova's for ``nova eval``) with each agent
    family held out in turn (test requests: ``heldout.yaml``, or ``dev.yaml`` with ``--dev``)."""
    from evals.harness.roster import load_heldout
    from nova_graph.roster import load_roster
    from nova_graph.routing.default import calibrated_router

    roster = load_roster(args.default_roster)
    held = load_heldout(ROSTER_SETS[bool(args.dev)], roster=roster).singles()
    family = {a.name: a.family for a in roster}
    negatives = list(roster.out_of_scope)
    out: dict[str, Any] = {}
    for fam in sorted(set(family.values())):
        examples = {a: ts for a, ts in roster.examples().items() if family[a] != fam}
        texts = [t for t, _ in held]
        gold = [None if family[a] == fam else a for _, a in held]
        kind = ["new" if family[a] == fam else "in" for _, a in held]
        res: dict[str, Any] = {}
        for name, hold_out in (("closed_set_calibration", False), ("nova", True)):
            router = calibrated_router(examples, negatives, groups=family, hold_out_groups=hold_out)
            res[name] = open_set_metrics(Outcome.of(router.route_batch(texts)), gold, kind)
        # like the router's probe: trained on three quarters, calibrated on every fourth example
        lr = LogRegPeer(
            {a: [t for i, t in enumerate(ts) if i % 4 != 1] for a, ts in examples.items()},
            router.encoder,
        )
        lr.calibrate(_roster_calibration(examples), args.min_in_scope)
        res["logreg"] = open_set_metrics(lr.outcome(texts), gold, kind)
        out[fam] = res
    return out


def _roster_calibration(examples: dict[str, list[str]]) -> list[tuple[str, str]]:
    """The roster's calibration requests: every fourth example (as ``calibrated_router``)."""
    return [(t, a) for a, ts in examples.items() for t in ts[1::4]]


def summarise(splits: Sequence[dict[str, Any]], systems: Sequence[str]) -> dict[str, Any]:
    """Mean of every numeric metric over splits, per system."""
    out: dict[str, Any] = {}
    for system in systems:
        rows = [s[system] for s in splits if system in s and "error" not in s[system]]
        if not rows:
            continue
        keys = [k for k, v in rows[0].items() if isinstance(v, int | float)]
        out[system] = {
            k: float(np.mean([r[k] for r in rows if r.get(k) is not None])) for k in keys
        }
    return out


SYSTEMS = ("nova", "closed_set_calibration", "logreg", "semantic_router")


def run_open_set(
    data: Clinc, encoder: Encoder, args: argparse.Namespace, results: dict[str, Any]
) -> dict[str, Any]:
    """Every CLINC150 split, then the roster family hold-out; fills ``results``."""
    if args.dev:
        data = dataclasses.replace(
            data,
            val=data.val[::2],
            test=data.val[1::2],
            oos_val=data.oos_val[::2],
            oos_test=data.oos_val[1::2],
        )
        results["dev"] = (
            "CLINC150: calibrated on val[::2], reported on val[1::2], test not read; roster: "
            f"{ROSTER_SETS[True]}"
        )
    domains = sorted({d for _, d in data.train})
    splits = []
    for seed in range(args.splits):
        novel = set(random.Random(100 + seed).sample(domains, args.novel_domains))
        splits.append(clinc_split(data, encoder, novel, args, seed))
        print(f"split {seed}: novel {sorted(novel)}", flush=True)
    results["clinc150"] = {"splits": splits, "mean": summarise(splits, SYSTEMS)}
    if not args.no_roster:
        families = roster_family_holdout(args)
        results["roster"] = {
            "families": families,
            "mean": summarise(list(families.values()), SYSTEMS),
        }
    return results


def format_open_set(results: dict[str, Any]) -> str:
    """The table printed by ``nova eval routing --open-set``."""
    cols = (
        ("auroc_new", "AUROC new"),
        ("new_oos_recall", "new OOS rec."),
        ("known_oos_recall", "known OOS rec."),
        ("in_scope_accuracy", "in-scope acc."),
        ("domain_accuracy", "domain acc."),
    )
    lines = []
    for part in ("clinc150", "roster"):
        if part not in results:
            continue
        lines.append(f"\n{part} (mean over held-out splits)")
        lines.append(f"{'system':24s}" + "".join(f"{h:>16s}" for _, h in cols))
        for system, m in results[part]["mean"].items():
            cells = [m.get(k) for k, _ in cols]
            lines.append(
                f"{system:24s}"
                + "".join(f"{'—' if v is None or v != v else f'{v:.4f}':>16s}" for v in cells)
            )
    splits = results.get("clinc150", {}).get("splits") or [{}]
    t = splits[0].get("nova", {}).get("timing")
    if t:
        lines.append(
            f"\ndecision p50 {t['single']['p50_ms']:.1f} ms vs encoder alone p50 "
            f"{t['encode_only']['p50_ms']:.1f} ms "
            f"({t['single']['p50_ms'] / t['encode_only']['p50_ms']:.2f}x; median per-request "
            f"ratio {t['ratio']:.2f}x), interleaved, same run"
        )
    return "\n".join(lines)
