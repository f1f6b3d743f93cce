"""The packaged 34-agent roster: families, examples, tool ownership, README table, held-out set."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from evals.harness.roster import load_heldout
from nova_app import nova_roster, roster_doc
from nova_app.tools import tool_names
from nova_graph.roster import Roster

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def roster() -> Roster:
    return nova_roster()


def test_roster_has_34_agents_in_four_families(roster: Roster) -> None:
    counts = Counter(a.family for a in roster)
    assert len(roster) == 34
    assert counts == {"general": 6, "pipeline": 9, "erp": 12, "language": 7}


def test_every_agent_has_twenty_distinct_examples_and_tools(roster: Roster) -> None:
    for agent in roster:
        assert len(set(agent.examples)) >= 20, agent.name
        assert agent.tools, agent.name


def test_no_tool_is_shared_and_every_tool_is_owned(roster: Roster) -> None:
    owners = Counter(t for a in roster for t in a.tools)
    assert [t for t, n in owners.items() if n > 1] == []
    assert set(owners) == set(tool_names())


def test_erp_agents_have_only_erp_tools(roster: Roster) -> None:
    from nova_app.tools.erp import make_tools
    from nova_graph.tools.context import ToolContext

    erp = {t.name for t in make_tools(ToolContext())}
    for agent in roster.by_family("erp"):
        assert set(agent.tools) <= erp
    for agent in roster:
        if agent.family != "erp":
            assert not set(agent.tools) & erp


def test_readme_roster_table_is_generated_from_the_data(roster: Roster) -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert roster_doc.render(readme, roster) == readme


def test_heldout_set_has_ten_requests_per_agent_unseen_in_examples(roster: Roster) -> None:
    held = load_heldout(ROOT / "evals/roster/heldout.yaml", roster)
    assert set(held.agents) == set(roster.names)
    examples = {e.lower() for a in roster for e in a.examples}
    for agent, texts in held.agents.items():
        assert len(texts) >= 10, agent
        assert not {t.lower() for t in texts} & examples, agent
    assert held.multi_domain and held.ambiguous
