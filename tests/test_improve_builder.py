"""Improved versions are built by the graph's own router builder: rollback restores the
packaged router exactly, and a version's router is cached so `nova ask` does not recalibrate."""

from __future__ import annotations

from pathlib import Path

from nova_app import nova_roster
from nova_graph.improve import ImprovementLoop, LabelledRequest, RoutingSetup, VersionStore
from nova_graph.improve.routers import default_factory
from nova_graph.improve.store import improved_setup
from nova_graph.roster import Roster
from nova_graph.routing import SemanticRouter
from nova_graph.routing.default import default_router

TEXTS = [
    "what time is it in the evening",
    "add 12 and 30",
    "count words in my essay",
    "are filters in stock",
    "book me a flight to Lisbon for next Tuesday",
    "what's the score in the football match right now",
]


def _with_example(roster: Roster, agent: str, text: str) -> Roster:
    return Roster(
        s.model_copy(update={"examples": [*s.examples, text]}) if s.name == agent else s
        for s in roster
    )


def test_rollback_to_the_first_version_gives_back_the_packaged_router(tmp_path: Path) -> None:
    store = VersionStore(tmp_path)
    packaged = RoutingSetup(nova_roster())
    store.ensure_base(packaged)
    store.commit(
        RoutingSetup(_with_example(packaged.roster, "planner", "plan my week"), {"threshold": 0.1}),
        change="+1 example",
    )
    improved = improved_setup(tmp_path)
    assert improved is not None and improved.settings == {"threshold": 0.1}
    store.rollback("v0000")
    assert improved_setup(tmp_path) is None  # the graph builds the packaged router, unchanged


def test_a_version_router_is_the_default_router_with_settings_pinned(
    small_roster: Roster, tmp_path: Path
) -> None:
    cache = tmp_path / "routers"
    factory = default_factory(cache_dir=cache)
    loop = ImprovementLoop(factory, [LabelledRequest(text="what time is it", agents=["clock"])])
    base = RoutingSetup(small_roster)
    packaged = default_router(small_roster, cache_dir=cache)
    assert isinstance(packaged, SemanticRouter)
    first = factory.router(base)
    assert isinstance(first, SemanticRouter)
    assert [d.model_dump() for d in first.route_batch(TEXTS)] == [
        d.model_dump() for d in packaged.route_batch(TEXTS)
    ]
    pinned = loop.pinned(base)
    assert pinned.settings["threshold"] == packaged.thresholds["threshold"]
    same = factory.router(pinned)  # same examples and out-of-scope negatives, same settings
    assert isinstance(same, SemanticRouter)
    decisions = [d.model_dump() for d in same.route_batch(TEXTS)]
    assert decisions == [d.model_dump() for d in packaged.route_batch(TEXTS)]
    assert decisions[4]["out_of_scope"]  # trained with the packaged out-of-scope requests
    stored = sorted(p.name for p in cache.iterdir())
    factory.router(pinned)  # a later start loads the built router instead of training again
    assert sorted(p.name for p in cache.iterdir()) == stored and len(stored) == 2


def test_an_improved_version_changes_only_what_the_change_says(
    small_roster: Roster, tmp_path: Path
) -> None:
    cache = tmp_path / "routers"
    factory = default_factory(cache_dir=cache)
    loop = ImprovementLoop(factory, [LabelledRequest(text="what time is it", agents=["clock"])])
    pinned = loop.pinned(RoutingSetup(small_roster))
    changed = RoutingSetup(_with_example(small_roster, "math", "zorp the numbers"), pinned.settings)
    router, before = factory.router(changed), factory.router(pinned)
    assert isinstance(router, SemanticRouter) and isinstance(before, SemanticRouter)
    assert router.thresholds == before.thresholds
    assert router.route("zorp the numbers please").agents == ["math"]


def test_an_overlay_version_is_the_packaged_router_with_its_examples_on_top(
    small_roster: Roster, tmp_path: Path
) -> None:
    from nova_graph.routing.overlay import ExampleOverlay, OverlayRouter

    cache = tmp_path / "routers"
    packaged = default_router(small_roster, cache_dir=cache)
    overlay = ExampleOverlay(added={"math": ["zorp the numbers"]})
    router = default_router(small_roster, cache_dir=cache, overlay=overlay)
    assert isinstance(router, OverlayRouter) and isinstance(router.base, SemanticRouter)
    assert len(list(cache.iterdir())) == 1  # loaded from the packaged router's cache entry
    assert router.thresholds == packaged.thresholds
    assert router.route_model is router.base.route_model  # what the conversation layer reads
    assert [d.model_dump() for d in router.route_batch(TEXTS)] == [
        d.model_dump() for d in packaged.route_batch(TEXTS)
    ]
    factory = default_factory(cache_dir=cache)  # the loop's builder: the same router
    same = factory.router(RoutingSetup(small_roster, overlay=overlay))
    assert isinstance(same, OverlayRouter) and same.radius == router.radius


def test_nova_ask_after_an_automatic_improvement_routes_with_the_overlay(tmp_path: Path) -> None:
    import uuid

    from nova_app import nova_graph_from_settings
    from nova_graph.improve import apply_proposal
    from nova_graph.models import OfflineChatModel
    from nova_graph.settings import NovaSettings
    from tests.test_improve_overlay import one_example

    request = "start harbour_bakery_site_deploy please"
    settings = NovaSettings(data_dir=tmp_path, chroma_url="off")
    store = VersionStore(tmp_path)
    packaged = RoutingSetup(nova_roster())
    store.ensure_base(packaged)
    change = one_example("pipeline_runner", "please start harbour_bakery_site_deploy now")
    store.commit(apply_proposal(packaged, change, local=True), change=change.summary())

    def ask() -> dict[str, object]:
        graph = nova_graph_from_settings(settings, model=OfflineChatModel(), checkpointer=False)
        config: dict[str, object] = {"configurable": {"thread_id": uuid.uuid4().hex}}
        return dict(graph.invoke({"messages": [{"role": "user", "content": request}]}, config))

    assert ask()["routes"] == ["pipeline_runner"]  # the packaged router asks back here
    store.rollback("v0000")
    asked = ask()
    assert asked["__interrupt__"][0].value["type"] == "clarification"  # type: ignore[index]
