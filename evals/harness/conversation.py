"""Conversation eval: follow-ups, topic switches, clarifications, payloads and request parts,
the conversation-aware supervisor against today's single-message router in the same run.

``nova eval conversation --fit`` first refits the follow-up and clarification rules on the dev
set (never on the held-out set) and writes them to the packaged ``conversation_model.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import replace
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from evals.harness.conversation_data import (
    DEFAULT_DIR,
    ConversationSet,
    fit_model,
    load_set,
)
from nova_graph.conversation import (
    MODEL_FILE,
    ConversationModel,
    ConversationRouter,
    PreviousTurn,
    TurnDecision,
)
from nova_graph.errors import InvalidRequestError
from nova_graph.routing.decision import RouteDecision

DEFAULT_OUT = Path("evals") / "results" / "conversation.json"
Decide = Callable[[str, PreviousTurn | None], RouteDecision]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``nova eval conversation``."""
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="folder of the eval sets")
    parser.add_argument("--sets", default="dev,heldout", help="comma-separated set names to report")
    parser.add_argument("--fit", action="store_true", help="refit the rules on dev.yaml first")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="results JSON")
    parser.add_argument(
        "--cv",
        type=int,
        default=0,
        help="also report K-fold cross-fitted follow-up/switch accuracy on dev.yaml (K >= 2)",
    )


def _agents(d: RouteDecision) -> frozenset[str]:
    return frozenset() if d.ambiguous else frozenset(d.agents)


def _thread_agents(d: RouteDecision, gold: frozenset[str]) -> list[str]:
    """The agents the thread records for a turn: its route, or, when it was asked back, the
    option the user picks (the gold agent, when offered), as a resumed clarification does."""
    if d.ambiguous and gold and gold <= set(d.agents):
        return sorted(gold)
    return sorted(_agents(d))


Call = tuple[str, PreviousTurn | None]
"""One decision's arguments: the turn's text and the previous turn (``None`` for a first turn)."""


def evaluate(
    decide: Decide,
    data: ConversationSet,
    cold: Callable[[], None] | None = None,
    record: list[Call] | None = None,
) -> dict[str, Any]:
    """Every metric of one system (``decide``) on one eval set; ``cold`` (if given) runs before
    each decision, untimed, so every decision encodes its texts afresh; ``record`` (if given)
    receives every call made, for :func:`paired_times`."""
    follow = switch = follow_n = switch_n = 0
    times: list[float] = []
    calls = 0

    def timed(text: str, prev: PreviousTurn | None) -> RouteDecision:
        nonlocal calls
        if record is not None:
            record.append((text, prev))
        if cold is not None:
            cold()
        start = time.perf_counter()
        d = decide(text, prev)
        times.append(time.perf_counter() - start)
        calls += d.model_calls
        return d

    for turns in data.conversations:
        prev: PreviousTurn | None = None
        for turn in turns:
            d = timed(turn.text, prev)
            right = _agents(d) == turn.gold
            if turn.kind == "f":
                follow, follow_n = follow + right, follow_n + 1
            elif turn.kind == "s":
                switch, switch_n = switch + right, switch_n + 1
            prev = PreviousTurn(request=turn.text, agents=_thread_agents(d, turn.gold))
    asked_right = asked_amb = 0
    for text, gold in data.ambiguous:
        d = timed(text, None)
        asked_amb += d.ambiguous
        asked_right += d.ambiguous and gold <= set(d.agents)
    clear = [timed(text, None) for text, _ in data.clear]
    asked_clear = sum(d.ambiguous for d in clear)
    payload_right = 0
    for _, text, agent in data.payload:
        try:
            d = timed(text, None)
        except InvalidRequestError:  # the single-message router rejects long requests
            continue
        payload_right += _agents(d) == {agent}
    found = dropped = 0
    for text, parts in data.multipart:
        d = timed(text, None)
        routed = {c.agent for c in d.clauses if c.agent}
        found += set(parts) <= routed
        dropped += max(0, len(parts) - len(d.clauses))
    false_split = 0
    for text, _ in data.single_and:
        d = timed(text, None)
        false_split += len({c.agent for c in d.clauses}) > 1
    asked = asked_amb + asked_clear
    ms = np.asarray(times) * 1000
    return {
        "followup_accuracy": follow / max(follow_n, 1),
        "followup_turns": follow_n,
        "topic_switch_accuracy": switch / max(switch_n, 1),
        "topic_switch_turns": switch_n,
        "clarify_recall": asked_right / max(len(data.ambiguous), 1),
        "clarify_precision": asked_amb / asked if asked else 0.0,
        "clear_asked_rate": asked_clear / max(len(data.clear), 1),
        "payload_accuracy": payload_right / max(len(data.payload), 1),
        "multipart_all_found": found / max(len(data.multipart), 1),
        "dropped_parts": dropped,
        "single_and_false_split": false_split / max(len(data.single_and), 1),
        "decision_p50_ms": float(np.percentile(ms, 50)),
        "decision_p95_ms": float(np.percentile(ms, 95)),
        "model_calls": calls,
        "decisions": len(times),
    }


def paired_times(
    decides: dict[str, Decide], calls: dict[str, list[Call]], cold: Callable[[], None] | None
) -> dict[str, dict[str, float]]:
    """Each system's decision p50/p95 (ms) from replaying its recorded ``calls`` interleaved with
    the other systems' (call i of each in turn, the order alternating), so a change in the
    machine's load between two passes does not show up as a difference between the systems."""
    times: dict[str, list[float]] = {k: [] for k in decides}
    names = list(decides)
    for i in range(max((len(c) for c in calls.values()), default=0)):
        for name in names if i % 2 == 0 else names[::-1]:
            if i >= len(calls[name]):
                continue
            if cold is not None:
                cold()
            start = time.perf_counter()
            try:
                decides[name](*calls[name][i])
            except InvalidRequestError:  # the single-message router rejects long requests
                continue
            times[name].append(time.perf_counter() - start)
    out = {}
    for name, t in times.items():
        ms = np.asarray(t) * 1000
        out[name] = {
            "decision_p50_ms": float(np.percentile(ms, 50)),
            "decision_p95_ms": float(np.percentile(ms, 95)),
        }
    return out


def cross_validate(conv: ConversationRouter, data: ConversationSet, k: int) -> dict[str, Any]:
    """Follow-up and switch accuracy when the rules that route each fold's conversations were
    fitted without them (conversations dealt to ``k`` folds in turn); fragments and clear
    requests stay in every fit, as they hold no conversation turn."""
    right = {"followup": 0, "topic_switch": 0}
    total = {"followup": 0, "topic_switch": 0}
    for fold in range(k):
        convs = data.conversations
        train = replace(data, conversations=[c for i, c in enumerate(convs) if i % k != fold])
        test = ConversationSet(
            data.name, conversations=[c for i, c in enumerate(convs) if i % k == fold]
        )
        fold_conv = ConversationRouter(conv.router, conv.roster, fit_model(conv, train))
        scores = evaluate(systems(fold_conv)["conversation"], test)
        for key in right:
            right[key] += round(scores[f"{key}_accuracy"] * scores[f"{key}_turns"])
            total[key] += scores[f"{key}_turns"]
    return {
        "folds": k,
        "followup_accuracy": right["followup"] / max(total["followup"], 1),
        "topic_switch_accuracy": right["topic_switch"] / max(total["topic_switch"], 1),
    }


def systems(conv: ConversationRouter) -> dict[str, Decide]:
    """The supervisor under test and its ablation (today's router, one message at a time)."""

    def with_conversation(text: str, prev: PreviousTurn | None) -> RouteDecision:
        turn: TurnDecision = conv.decide(text, prev)
        return turn.decision

    def single_message(text: str, prev: PreviousTurn | None) -> RouteDecision:
        return conv.router.route(text)

    return {"conversation": with_conversation, "single_message": single_message}


def run(args: argparse.Namespace) -> int:
    """Optionally refit on dev, then report every set for both systems; write JSON."""
    from nova_graph.roster import load_roster
    from nova_graph.routing.default import default_router

    roster = load_roster(args.default_roster)
    router = default_router(roster)
    results: dict[str, Any] = {}
    if args.fit:
        conv = ConversationRouter(router, roster, ConversationModel.untrained())
        model = fit_model(conv, load_set(args.dir / "dev.yaml"))
        target = Path(str(resources.files("nova_graph.data").joinpath(MODEL_FILE)))
        target.write_text(json.dumps(model.model_dump(), indent=2) + "\n")
        print(f"fitted on dev.yaml, wrote {target}")
        results["fit"] = {"followup": model.followup.report, "clarify": model.clarify.report}
    if args.cv > 1:
        untrained = ConversationRouter(router, roster, ConversationModel.untrained())
        results["cv"] = cross_validate(untrained, load_set(args.dir / "dev.yaml"), args.cv)
        print(f"{args.cv}-fold cross-fitting by conversation on dev.yaml: {results['cv']}")
    conv = ConversationRouter(router, roster)
    for name in [s.strip() for s in args.sets.split(",") if s.strip()]:
        data = load_set(args.dir / f"{name}.yaml")
        conv.decide("warm up the encoder", None)
        cold = getattr(getattr(router, "encoder", None), "clear_cache", None)
        decides = systems(conv)
        calls: dict[str, list[Call]] = {k: [] for k in decides}
        results[name] = {k: evaluate(fn, data, cold, calls[k]) for k, fn in decides.items()}
        for k, timing in paired_times(decides, calls, cold).items():
            results[name][k].update(timing)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(format_table(results))
    print(f"\nwrote {args.out}")
    return 0


def format_table(results: dict[str, Any]) -> str:
    """A plain-text table: one row per metric, one column per set and system."""
    cols = [(s, k) for s, v in results.items() if s not in ("fit", "cv") for k in v]
    if not cols:
        return ""
    metrics = list(results[cols[0][0]][cols[0][1]])
    head = f"{'metric':28}" + "".join(f"{s + '/' + k:>26}" for s, k in cols)
    lines = [head]
    for m in metrics:
        row = f"{m:28}"
        for s, k in cols:
            v = results[s][k][m]
            row += f"{v:>26.3f}" if isinstance(v, float) else f"{v:>26}"
        lines.append(row)
    return "\n".join(lines)
