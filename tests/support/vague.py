"""Vague requests, and picking one the current router is unsure about (to hit a clarification).

The router is calibrated from the roster, so which vague request it finds ambiguous can change
when the roster does; tests pick from this list instead of hard-coding one phrase.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from nova_app import nova_roster
from nova_graph.conversation import ConversationRouter
from nova_graph.routing.decision import Router

VAGUE_REQUESTS = (
    "side brushes",
    "the delivery thing",
    "check the warehouse",
    "check the warehouse address",
    "check it",
    "how are things going",
    "how are things going at the warehouse",
    "check the warehouse text",
    "update the numbers",
    "the numbers thing",
    "fix this",
    "what about the orders",
)


def first_ambiguous(router: Router, candidates: Sequence[str] = VAGUE_REQUESTS) -> str:
    """The first candidate the supervisor answers with a clarifying question (two or more
    options), deciding as it does: through the conversation router over ``router`` on the
    packaged roster (a router without scores is taken as it is)."""
    conversation = ConversationRouter(router, nova_roster())
    for text in candidates:
        decision = conversation.decide(text).decision
        if decision.ambiguous and len(decision.agents) > 1:
            return text
    pytest.fail(f"the router finds none of {list(candidates)} ambiguous; add a vaguer request")
