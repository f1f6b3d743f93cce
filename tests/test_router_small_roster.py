"""A roster too small to calibrate gets a warning and a router that takes its own examples."""

from __future__ import annotations

import pytest

from nova_graph import AgentSpec
from nova_graph.errors import CalibrationWarning
from nova_graph.roster import Roster
from nova_graph.routing.default import default_router

EXAMPLES = {
    "budget": [
        "I spent 12 pounds on groceries",
        "log 30 for the electricity bill",
        "how much did we spend on food this month",
    ],
    "recipes": [
        "how do I make pancakes",
        "scale the lasagne recipe for six people",
        "what can I cook with eggs and spinach",
    ],
    "fitness": [
        "log my 5k run this morning",
        "I did 30 push-ups today",
        "how many workouts did I do this week",
    ],
}
OUT_OF_SCOPE = [
    "what's the weather going to be like this weekend",
    "who won the football last night",
    "translate good morning into Spanish",
    "book me a flight to Lisbon",
    "what is the capital of Peru",
    "play some jazz",
]


@pytest.fixture(scope="module")
def household() -> Roster:
    agents = [
        AgentSpec(
            name=n, family="home", description=f"The {n} helper.", examples=e, system_prompt=n
        )
        for n, e in EXAMPLES.items()
    ]
    return Roster(agents, out_of_scope=OUT_OF_SCOPE)


def test_too_few_examples_warn_and_the_router_takes_its_own_examples(household: Roster) -> None:
    with pytest.warns(CalibrationWarning, match=r"fewer than 8 example requests \(budget: 3"):
        router = default_router(household, cache_dir=False)
    for agent, texts in EXAMPLES.items():
        for text in texts:
            assert router.route(text).agents == [agent], text


def test_the_small_roster_router_still_refuses_its_out_of_scope_examples(household: Roster) -> None:
    with pytest.warns(CalibrationWarning):
        router = default_router(household, cache_dir=False)
    assert all(router.route(t).out_of_scope for t in OUT_OF_SCOPE)
