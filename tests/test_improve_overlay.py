"""Kept examples as a local overlay: they decide only the requests next to them, among the
base router's two best agents; every other decision is the base router's own, and the stored
version keeps the packaged roster with the overlay beside it.

A bag-of-words nearest-example router and encoder make every similarity checkable by hand
(cosine of token sets).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nova_graph.improve import Proposal, RoutingSetup, VersionStore, apply_proposal
from nova_graph.improve.store import improved_setup
from nova_graph.roster import Roster
from nova_graph.routing.overlay import ExampleOverlay, OverlayRouter, calibrated_radius
from tests.support.bow import NearestExampleRouter, bow_encode


def one_example(agent: str, text: str) -> Proposal:
    """A change adding ``text`` as an example request of ``agent``."""
    return Proposal(
        id=f"add_examples:{agent}",
        kind="add_examples",
        agents=[agent],
        rationale="a correction in the next turn",
        add_examples={agent: [text]},
    )


FAR = ["how many filters are in stock", "count the words", "calculate 2 + 2", "what time is it"]


def _router(roster: Roster, overlay: ExampleOverlay, radius: float = 0.5) -> OverlayRouter:
    pairs = [(a, t) for a, ts in roster.examples().items() for t in ts]
    return OverlayRouter(
        NearestExampleRouter(roster.examples()),
        overlay,
        vectors=bow_encode([t for _, t in pairs]),
        labels=[a for a, _ in pairs],
        texts=[t for _, t in pairs],
        encode=bow_encode,
        radius=radius,
    )


def test_a_kept_example_decides_the_requests_next_to_it_and_nothing_else(
    small_roster: Roster,
) -> None:
    base = NearestExampleRouter(small_roster.examples())
    near = "what is 3 hours from now"  # clock 0.41 ("what time is it"), math 0.37: clock
    assert base.route(near).agents == ["clock"]
    router = _router(small_roster, ExampleOverlay(added={"math": ["what is 5 hours from now"]}))
    decision = router.route(near)  # 0.83 from the kept example, 0.41 from any clock example
    assert decision.agents == ["math"] and decision.method == "overlay"
    assert decision.scores == base.route(near).scores  # the base router's scores, unchanged
    assert [router.route(t) for t in FAR] == [base.route(t) for t in FAR]


def test_a_kept_example_cannot_give_a_request_to_an_agent_the_base_router_ranks_low(
    small_roster: Roster,
) -> None:
    base = NearestExampleRouter(small_roster.examples())
    near = "what is 3 hours from now"  # stock ranks third: a wrong correction stays inert
    router = _router(small_roster, ExampleOverlay(added={"stock": ["what is 5 hours from now"]}))
    assert router.route(near) == base.route(near)


def test_outside_the_radius_a_kept_example_decides_nothing(small_roster: Roster) -> None:
    base = NearestExampleRouter(small_roster.examples())
    near = "what is 3 hours from now"
    router = _router(
        small_roster, ExampleOverlay(added={"math": ["what is 5 hours from now"]}), radius=0.9
    )
    assert router.route(near) == base.route(near)


def test_a_removed_example_hands_its_requests_to_the_base_routers_second_agent(
    small_roster: Roster,
) -> None:
    base = NearestExampleRouter(small_roster.examples())
    text = "what is it in total"  # clock 0.67 ("what time is it"), math 0.40
    assert base.route(text).agents == ["clock"]
    router = _router(small_roster, ExampleOverlay(removed={"clock": ["what time is it"]}))
    decision = router.route(text)  # nearest left: math's "what is 17 times 23"
    assert decision.agents == ["math"] and decision.method == "overlay"
    assert [router.route(t) for t in FAR[:3]] == [base.route(t) for t in FAR[:3]]


def test_an_overlay_forgets_kept_examples_it_removes_and_restores_removed_ones() -> None:
    overlay = ExampleOverlay().changed({"math": ["add 2 and 2"]}, {"clock": ["what time is it"]})
    assert overlay.added == {"math": ["add 2 and 2"]}
    assert overlay.removed == {"clock": ["what time is it"]}
    again = overlay.changed({"clock": ["What time  is it"]}, {"math": ["ADD 2 and 2"]})
    assert again.empty
    base = {"clock": ["what time is it", "date?"], "math": ["sum"]}
    assert overlay.applied_to(base) == {"clock": ["date?"], "math": ["sum", "add 2 and 2"]}


def test_the_radius_keeps_known_out_of_scope_requests_outside_and_own_examples_inside() -> None:
    texts = ["what time is it", "what is the time", "book a flight", "what time is it now please"]
    labels: list[str | None] = ["clock", "clock", None, None]
    vectors = bow_encode(texts)
    # clock's two examples share 3 of 4 tokens: 0.75; the second out-of-scope request shares 4
    # tokens with "what time is it": 4 / sqrt(4 x 6) = 0.82
    assert calibrated_radius(vectors[:3], labels[:3]) == pytest.approx(0.75)
    assert calibrated_radius(vectors, labels) == pytest.approx(4 / np.sqrt(24))
    # one example per agent: as near as the examples are to another agent's ("what", "is")
    lone = bow_encode(["what time is it", "what is 2 plus 2"])
    assert calibrated_radius(lone, ["clock", "math"]) == pytest.approx(0.5)


def test_a_local_change_is_stored_as_an_overlay_beside_the_packaged_roster(
    small_roster: Roster, tmp_path: Path
) -> None:
    store = VersionStore(tmp_path)
    packaged = RoutingSetup(small_roster)
    store.ensure_base(packaged)
    change = one_example("math", "what is 5 hours from now")
    local = apply_proposal(packaged, change, local=True)
    assert local.roster.examples() == small_roster.examples()  # the router is not retrained
    assert local.examples()["math"][-1] == "what is 5 hours from now"
    meta = store.commit(local, change=change.summary())
    assert "overlay.json" in meta.diff and "roster.yaml" not in meta.diff
    improved = improved_setup(tmp_path)
    assert improved is not None and improved.overlay == local.overlay
    assert (store.versions_dir / "v0001" / "roster.yaml").read_text() == (
        store.versions_dir / "v0000" / "roster.yaml"
    ).read_text()
    store.rollback("v0000")
    assert improved_setup(tmp_path) is None  # no overlay: exactly the packaged router
