"""The default router is cached per roster, so a graph starts without re-encoding examples."""

from __future__ import annotations

from pathlib import Path

from nova_graph.roster import Roster
from nova_graph.routing.default import default_router


def test_default_router_is_saved_under_the_cache_dir_and_loaded_next_time(
    small_roster: Roster, tmp_path: Path
) -> None:
    first = default_router(small_roster, cache_dir=tmp_path)
    (saved,) = list(tmp_path.glob("router-*"))
    stamp = {p.name: p.stat().st_mtime_ns for p in saved.iterdir()}
    second = default_router(small_roster, cache_dir=tmp_path)
    assert {p.name: p.stat().st_mtime_ns for p in saved.iterdir()} == stamp
    text = "count the words in this paragraph"
    assert second.route(text).agents == first.route(text).agents == ["words"]


def test_a_changed_roster_gets_its_own_cache_entry(small_roster: Roster, tmp_path: Path) -> None:
    default_router(small_roster, cache_dir=tmp_path)
    fewer = Roster([a for a in small_roster if a.name != "stock"])
    router = default_router(fewer, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("router-*"))) == 2
    assert "stock" not in router.route("how many brush heads are in stock").scores


def test_an_unreadable_cache_entry_is_rebuilt(small_roster: Roster, tmp_path: Path) -> None:
    default_router(small_roster, cache_dir=tmp_path)
    (saved,) = list(tmp_path.glob("router-*"))
    for f in saved.iterdir():
        f.write_bytes(b"garbage")
    router = default_router(small_roster, cache_dir=tmp_path)
    assert router.route("what time is it").agents == ["clock"]
