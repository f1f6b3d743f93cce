"""The conversation eval sets (``evals/conversation/{dev,heldout}.yaml``) and fitting the
conversation model's two rules on the dev set."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from nova_graph.conversation import ConversationModel, ConversationRouter
from nova_graph.errors import NovaError
from nova_graph.routing import clarify, followup
from nova_graph.routing.cues import is_social
from nova_graph.routing.logistic import LogisticRule

DEFAULT_DIR = Path("evals") / "conversation"


@dataclass(frozen=True)
class Turn:
    """One turn of a conversation: its text, gold agents and kind (first, f, s)."""

    text: str
    gold: frozenset[str]
    kind: str


@dataclass
class ConversationSet:
    """Everything one eval file holds."""

    name: str
    conversations: list[list[Turn]] = field(default_factory=list)
    ambiguous: list[tuple[str, frozenset[str]]] = field(default_factory=list)
    clear: list[tuple[str, str]] = field(default_factory=list)
    payload: list[tuple[str, str, str]] = field(default_factory=list)  # instruction, text, agent
    multipart: list[tuple[str, list[str]]] = field(default_factory=list)
    single_and: list[tuple[str, str]] = field(default_factory=list)


def _fields(item: object, n: int, where: str) -> list[str]:
    parts = [p.strip() for p in str(item).split(" | ")]
    if len(parts) < n:
        raise NovaError(f"{where}: {item!r} needs {n} fields separated by ' | '")
    return parts


def _agents(field_: str) -> frozenset[str]:
    return frozenset() if field_ == "none" else frozenset(field_.split("+"))


def load_set(path: Path) -> ConversationSet:
    """Parse one eval file; raises ``NovaError`` naming a malformed item."""
    try:
        raw = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise NovaError(f"cannot read the conversation eval set {path}: {exc}") from None
    out = ConversationSet(path.stem)
    for conv in raw.get("conversations", []):
        turns = []
        for i, item in enumerate(conv):
            f = _fields(item, 2 if i == 0 else 3, str(path))
            turns.append(Turn(f[0], _agents(f[1]), "first" if i == 0 else f[2]))
        out.conversations.append(turns)
    out.ambiguous = [
        (f[0], _agents(f[1])) for f in (_fields(i, 2, str(path)) for i in raw["ambiguous"])
    ]
    out.clear = [tuple(_fields(i, 2, str(path))[:2]) for i in raw["clear"]]  # type: ignore[misc]
    payloads = raw["payloads"]
    for item in raw["payload"]:
        instr, key, agent, sep, repeat = _fields(item, 5, str(path))
        body = " ".join([payloads[key]] * int(repeat))
        joiner = ": " if sep == "colon" else "\n"
        out.payload.append((instr, f"{instr}{joiner}{body}", agent))
    out.multipart = [
        (f[0], f[1].split("+")) for f in (_fields(i, 2, str(path)) for i in raw["multipart"])
    ]
    out.single_and = [tuple(_fields(i, 2, str(path))[:2]) for i in raw["single_and"]]  # type: ignore[misc]
    return out


def fit_model(conv: ConversationRouter, data: ConversationSet) -> ConversationModel:
    """Fit the follow-up and clarification rules on ``data`` (the dev set) with gold history;
    the follow-up rule on the turns that do not simply borrow the previous verb."""
    stay: list[list[float]] = []
    move: list[list[float]] = []
    for turns in data.conversations:
        for prev, turn in itertools.pairwise(turns):
            d = conv.router.route(turn.text)
            row = followup.features(
                turn.text, d, sorted(prev.gold), conv.starters, conv.families, prev.text
            )
            (stay if turn.gold == prev.gold and turn.gold else move).append(row)
    asked = [_clarify_row(conv, t) for t, _ in data.ambiguous]
    clear_texts = [t for t, _ in data.clear] + [
        t.text for turns in data.conversations for t in turns if t.kind in ("first", "s")
    ]
    # greetings and thanks are never asked back whatever the rule says (cues.is_social)
    not_asked = [_clarify_row(conv, t) for t in clear_texts if not is_social(t)]
    return ConversationModel(
        followup=LogisticRule.fit(
            followup.FEATURES, np.asarray(stay), np.asarray(move), threshold=0.5
        ),
        clarify=LogisticRule.fit(
            clarify.FEATURES, np.asarray(asked), np.asarray(not_asked), max_false_positive=0.02
        ),
    )


def _clarify_row(conv: ConversationRouter, text: str) -> list[float]:
    return clarify.features(text, conv.router.route(text), conv.starters, conv.families)
