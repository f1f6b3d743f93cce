"""Roster files are validated with errors that say what is wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nova_app import nova_roster
from nova_graph import AgentSpec, RosterError, load_roster
from nova_graph.roster import Roster


def _agent(name: str = "clock", **over: Any) -> dict[str, Any]:
    base = {
        "name": name,
        "family": "general",
        "description": "Tells the time.",
        "system_prompt": "You tell the time.",
        "tools": ["current_time"],
        "examples": ["what time is it"],
    }
    return {**base, **over}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roster.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_duplicate_agent_names_are_rejected() -> None:
    with pytest.raises(RosterError, match="duplicate agent name 'clock'"):
        Roster.from_data({"agents": [_agent(), _agent()]})


def test_empty_example_list_is_rejected() -> None:
    with pytest.raises(RosterError, match=r"'clock'.*examples.*non-empty example"):
        Roster.from_data({"agents": [_agent(examples=[])]})


def test_blank_example_is_rejected() -> None:
    with pytest.raises(RosterError, match="examples"):
        Roster.from_data({"agents": [_agent(examples=["ok", "   "])]})


def test_unknown_tool_is_rejected_with_the_tool_name() -> None:
    with pytest.raises(RosterError, match=r"unknown tools \['teleport'\]"):
        Roster.from_data({"agents": [_agent(tools=["teleport"])]}, known_tools=["current_time"])


def test_any_family_name_of_the_roster_is_accepted() -> None:
    roster = Roster.from_data({"agents": [_agent(family="household")]})
    assert roster.families == ["household"]


def test_malformed_family_name_is_rejected() -> None:
    with pytest.raises(RosterError, match="family"):
        Roster.from_data({"agents": [_agent(family="Not A Name")]})


def test_unexpected_field_is_rejected() -> None:
    with pytest.raises(RosterError, match="colour"):
        Roster.from_data({"agents": [_agent(colour="blue")]})


def test_bad_agent_name_is_rejected() -> None:
    with pytest.raises(RosterError, match="name"):
        Roster.from_data({"agents": [_agent(name="Has Spaces")]})


def test_empty_roster_is_rejected() -> None:
    with pytest.raises(RosterError, match="at least one agent"):
        Roster.from_data({"agents": []})


def test_file_without_agents_list_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match="'agents' list"):
        load_roster(_write(tmp_path, "name: nova\n"))


def test_invalid_yaml_is_rejected_with_the_path(tmp_path: Path) -> None:
    path = _write(tmp_path, "agents: [unclosed\n")
    with pytest.raises(RosterError, match="not valid YAML"):
        load_roster(path)


def test_missing_file_is_a_roster_error(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match="cannot read roster file"):
        load_roster(tmp_path / "nope.yaml")


def test_unknown_tool_in_a_file_is_checked_against_known_tools(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "agents:\n  - name: clock\n    family: general\n    description: Tells the time.\n"
        "    system_prompt: x\n    tools: [teleport]\n    examples: [what time is it]\n",
    )
    with pytest.raises(RosterError, match="teleport"):
        load_roster(path, known_tools=["current_time"])


def test_valid_roster_keeps_order_and_examples() -> None:
    roster = Roster.from_data({"agents": [_agent("bx"), _agent("clock")]})
    assert roster.names == ["bx", "clock"]
    assert roster.examples()["clock"] == ["what time is it"]
    assert isinstance(roster["clock"], AgentSpec)


def test_packaged_roster_loads_and_every_tool_exists() -> None:
    roster = nova_roster()
    assert len(roster) >= 8
    assert roster.families == ["erp", "general", "language", "pipeline"]
