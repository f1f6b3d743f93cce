"""Synthetic large rosters for scale benchmarks, composed from CLINC150 intents.

Route ``i`` is one CLINC150 intent in one office (``intent i % 150``, office ``i // 150``): its
examples are that intent's training requests with the office named in them ("... for the Lisbon
office"). Routes of one intent share their verbs and differ by a place name, routes of one
office share the name and differ by intent: a crowded roster where both the embedding and the
lexical channel have work to do. Held-out requests come from the intent's ``val`` split.
"""

from __future__ import annotations

import json
from pathlib import Path

from nova_graph.errors import InvalidRequestError
from nova_graph.roster import AgentSpec, Roster

#: Offices named in the requests (1,000 routes need 7; 150 intents each).
OFFICES: tuple[str, ...] = (
    "Lisbon", "Nairobi", "Osaka", "Denver", "Krakow", "Santiago", "Brisbane", "Toronto",
    "Mumbai", "Oslo", "Cairo", "Seoul", "Lima", "Dublin",
)  # fmt: skip
_TEMPLATES = ("{u} for the {o} office", "{o} office: {u}", "{u} ({o} team)", "in {o}, {u}")


def _intents(data_dir: Path) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    path = Path(data_dir) / "data_full.json"
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidRequestError(
            f"cannot read CLINC150 from {path}: {exc}; pass the folder holding data_full.json"
        ) from None
    train: dict[str, list[str]] = {}
    val: dict[str, list[str]] = {}
    for split, out in (("train", train), ("val", val)):
        for text, intent in data[split]:
            out.setdefault(str(intent), []).append(str(text))
    return train, val


def synthetic_examples(
    n_routes: int, per_route: int, data_dir: Path
) -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """``n_routes`` routes of ``per_route`` examples each, and held-out (request, route) pairs."""
    train, val = _intents(data_dir)
    intents = sorted(train)
    if n_routes > len(intents) * len(OFFICES):
        raise InvalidRequestError(
            f"at most {len(intents) * len(OFFICES)} synthetic routes; asked for {n_routes}"
        )
    examples: dict[str, list[str]] = {}
    held: list[tuple[str, str]] = []
    for i in range(n_routes):
        intent, office = intents[i % len(intents)], OFFICES[i // len(intents)]
        name = f"{intent}_{office.lower()}"[:48]
        pool = train[intent]
        start = (i // len(intents)) * per_route
        picked = [pool[(start + j) % len(pool)] for j in range(per_route)]
        examples[name] = [
            _TEMPLATES[j % len(_TEMPLATES)].format(u=u, o=office) for j, u in enumerate(picked)
        ]
        for j, u in enumerate(val[intent][:3]):
            held.append((_TEMPLATES[(j + i) % len(_TEMPLATES)].format(u=u, o=office), name))
    return examples, held


def synthetic_roster(examples: dict[str, list[str]], data_dir: Path) -> Roster:
    """A roster with one general agent per route of ``examples``; its out-of-scope requests are
    CLINC150's ``oos_train``."""
    data = json.loads((Path(data_dir) / "data_full.json").read_text("utf-8"))
    return Roster(
        [
            AgentSpec(
                name=name,
                family="general",
                description=f"handles {name.replace('_', ' ')}",
                examples=texts,
                system_prompt=name,
            )
            for name, texts in examples.items()
        ],
        out_of_scope=[str(t) for t, _ in data["oos_train"]],
    )
