"""LangGraph Studio: ``langgraph dev`` serves langgraph.json's graphs; a client drives a thread.

The server runs as a real subprocess on 127.0.0.1 with analytics and tracing off; the client is
``langgraph-sdk``, as Studio itself uses.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nova_app import nova_roster
from nova_graph.routing.default import default_router
from tests.support.services import ROOT, child_env, langgraph_dev
from tests.support.vague import first_ambiguous

pytestmark = pytest.mark.studio

# Requests chosen for the packaged roster's router (see test_graph_drawing_* for the names).
MULTI_Q = "translate 'good morning' into German and also what time is it"
FAMILIES = ("general", "pipeline", "erp", "language")


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("studio")


@pytest.fixture(scope="module")
def ambiguous_q(work: Path) -> str:
    """A request the served graph's router asks about (its router is cached for the server)."""
    router = default_router(nova_roster())
    return first_ambiguous(router)


@pytest.fixture(scope="module")
def server(work: Path, ambiguous_q: str) -> Iterator[str]:
    env = child_env(NOVA_DATA_DIR=str(work / "data"))
    with langgraph_dev(ROOT / "langgraph.json", work, env) as url:
        yield url


@pytest.fixture(scope="module")
def client(server: str) -> Any:
    from langgraph_sdk import get_sync_client

    return get_sync_client(url=server, timeout=120)


def _ask(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


def test_langgraph_json_declares_the_nova_graph_and_one_graph_per_family() -> None:
    config = json.loads((ROOT / "langgraph.json").read_text())
    assert set(config["graphs"]) == {"nova", *FAMILIES}
    for target in config["graphs"].values():
        path = target.split(":")[0]
        assert (ROOT / path).is_file(), target


def test_server_serves_every_graph_in_langgraph_json(client: Any) -> None:
    graph_ids = {a["graph_id"] for a in client.assistants.search(limit=50)}
    assert graph_ids == {"nova", *FAMILIES}


def test_thread_clarifies_resumes_then_runs_multi_domain_through_the_server(
    client: Any, ambiguous_q: str
) -> None:
    # The vague request opens the thread: after another turn it may rightly read as a follow-up.
    thread = client.threads.create()["thread_id"]
    paused = client.runs.wait(thread, "nova", input=_ask(ambiguous_q))
    question = paused["__interrupt__"][0]["value"]
    assert question["type"] == "clarification"
    options = [o["agent"] for o in question["options"]]
    assert len(options) >= 2
    pending = client.threads.get_state(thread)
    assert pending["next"] == ["supervisor"]

    done = client.runs.wait(thread, "nova", command={"resume": "2"})
    assert done["routes"] == [options[1]]
    assert done["clarification"]["answer"] == "2"

    multi = client.runs.wait(thread, "nova", input=_ask(MULTI_Q))
    assert len(multi["routes"]) >= 2
    assert set(multi["results"]) == set(multi["routes"])
    assert multi["messages"][-1]["type"] == "ai"
    final = client.threads.get_state(thread)
    assert final["next"] == []
    humans = [m["content"] for m in final["values"]["messages"] if m["type"] == "human"]
    assert humans == [ambiguous_q, MULTI_Q]  # one thread, both turns, checkpointed by the server


def test_server_streams_each_nodes_update(client: Any) -> None:
    thread = client.threads.create()["thread_id"]
    nodes: list[str] = []
    for part in client.runs.stream(thread, "nova", input=_ask(MULTI_Q), stream_mode="updates"):
        if part.event == "updates":
            nodes.extend(part.data)
    assert nodes[0] == "supervisor" and nodes[-1] == "compose"
    assert len(nodes) >= 4  # supervisor, two or more agents, compose


def test_family_graph_only_knows_its_own_agents(client: Any) -> None:
    thread = client.threads.create()["thread_id"]
    out = client.runs.wait(thread, "erp", input=_ask("translate 'good morning' into German"))
    assert out["routes"] == []  # no language agent in the ERP graph: refused honestly
    assert "outside what my agents cover" in out["messages"][-1]["content"]


def test_graph_drawing_names_the_supervisor_every_agent_compose_and_out_of_scope(
    work: Path, ambiguous_q: str
) -> None:
    from nova_app import nova_graph_from_settings
    from nova_graph.settings import NovaSettings

    settings = NovaSettings(data_dir=work / "data", chroma_url="off")  # the cached router
    mermaid = nova_graph_from_settings(settings, checkpointer=False).get_graph().draw_mermaid()
    for node in ["supervisor", "compose", "out_of_scope", *nova_roster().names]:
        assert f"\t{node}({node})" in mermaid, node
    assert "__start__ --> supervisor;" in mermaid
    assert "compose --> __end__;" in mermaid and "out_of_scope --> __end__;" in mermaid
