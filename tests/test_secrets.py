"""A planted API key never reaches a file under the data dir, stdout/stderr or an exception.

The model server here is a real OpenAI-compatible server on 127.0.0.1 whose errors echo the
request's ``Authorization`` header (``Bearer <key>``), as some proxies do.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.runnables import ensure_config
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from nova_app import build_nova_graph
from nova_app.cli import main
from nova_graph.agents import tool_loop
from nova_graph.errors import RoutingModelError
from nova_graph.models import describe_model
from nova_graph.reliability.redact import SecretScrubber
from nova_graph.roster import Roster
from nova_graph.routing import ModelRouteArbiter, SemanticRouter
from nova_graph.routing.decision import RouteDecision
from nova_graph.runlog import RUNLOG_FILE, RunLog, logged_invoke
from nova_graph.settings import NovaSettings
from nova_graph.testing import FunctionChatModel, TableRouter
from tests.support.openai_server import LocalOpenAIServer

KEY = "planted" + secrets.token_hex(16)  # not key-shaped: only knowing the key redacts it
URL_PASSWORD = "urlpw" + secrets.token_hex(8)
WORDS = "how many words: alpha beta"
OUT_OF_SCOPE = "plan my grandmother's birthday party in Lisbon"


def _occurrences(data_dir: Path, *texts: str) -> int:
    """How many times KEY appears in every file under ``data_dir`` and in ``texts``."""
    needle = KEY.encode()
    found = sum(p.read_bytes().count(needle) for p in data_dir.rglob("*") if p.is_file())
    return found + sum(t.count(KEY) for t in texts)


@pytest.fixture(params=[401, 500], ids=["permanent-401", "transient-500"])
def echoing_server(request: pytest.FixtureRequest) -> Iterator[LocalOpenAIServer]:
    """A model server failing every call with ``request.param``, echoing the key in the body."""
    status = int(request.param)
    with LocalOpenAIServer(lambda body: status, echo_auth=True, max_requests=50) as srv:
        yield srv


def _model(server: LocalOpenAIServer) -> ChatOpenAI:
    return ChatOpenAI(
        model="m", api_key=SecretStr(KEY), base_url=server.base_url, max_retries=0, timeout=5
    )


def test_server_really_echoes_the_key(echoing_server: LocalOpenAIServer) -> None:
    with pytest.raises(Exception) as info:
        ChatOpenAI(
            model="m", api_key=SecretStr(KEY), base_url=echoing_server.base_url, max_retries=0
        ).invoke("hi")
    assert KEY in str(info.value)  # the raw client error carries it: the tests below can fail


def test_agent_model_errors_echoing_the_key_reach_no_checkpoint_or_run_log(
    echoing_server: LocalOpenAIServer, small_roster: Roster, data_dir: Path
) -> None:
    router = TableRouter({WORDS: RouteDecision(agents=["words"])})
    graph = build_nova_graph(
        roster=small_roster, router=router, data_dir=data_dir, model=_model(echoing_server)
    )
    runlog = RunLog(data_dir / RUNLOG_FILE)
    state, _ = logged_invoke(
        graph,
        {"messages": [{"role": "user", "content": WORDS}]},
        {"configurable": {"thread_id": "t"}},
        runlog,
    )
    assert state["failures"][0]["agent"] == "words"
    assert "(key '[redacted]')" in state["failures"][0]["message"]
    assert len(echoing_server.requests) >= 1
    assert _occurrences(data_dir, repr(state)) == 0


def test_failing_router_fallback_is_retried_typed_and_reported(
    small_roster: Roster, data_dir: Path
) -> None:
    with LocalOpenAIServer(lambda body: 503, echo_auth=True) as srv:
        router = SemanticRouter.from_examples(small_roster.examples(), model=_model(srv))
        assert router.arbiter is not None
        router.arbiter.retry_interval = 0.01
        graph = build_nova_graph(roster=small_roster, router=router, data_dir=data_dir)
        runlog = RunLog(data_dir / RUNLOG_FILE)
        state, run_id = logged_invoke(
            graph,
            {"messages": [{"role": "user", "content": OUT_OF_SCOPE}]},
            {"configurable": {"thread_id": "r"}},
            runlog,
        )
        assert len(srv.requests) == router.arbiter.max_attempts == 3  # transient: retried
    failure = state["failures"][0]
    assert (failure["agent"], failure["error_type"], failure["attempts"]) == (
        "router",
        "RoutingModelError",
        3,
    )
    assert "routing model failed" in state["messages"][-1].content
    logged = runlog.get(run_id)
    assert [f.agent for f in logged.failures] == ["router"]
    assert _occurrences(data_dir, repr(state)) == 0


def test_permanent_router_fallback_failure_is_one_typed_scrubbed_error(
    small_roster: Roster,
) -> None:
    with LocalOpenAIServer(lambda body: 401, echo_auth=True) as srv:
        arbiter = ModelRouteArbiter(_model(srv))
        with pytest.raises(RoutingModelError) as info:
            arbiter.choose("anything", ["clock", "calc"])
        assert len(srv.requests) == 1  # a bad key is not retried
    text = f"{info.value!r} {info.value} {info.value.__cause__!r} {info.value.__context__!r}"
    assert KEY not in text and info.value.attempts == 1


def test_cli_ask_against_an_echoing_server_prints_and_stores_no_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    roster = Path(__file__).parent / "data" / "roster_small.yaml"
    with LocalOpenAIServer(lambda body: 500, echo_auth=True) as srv:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", srv.base_url)
        monkeypatch.setenv("NOVA_ROSTER_PATH", str(roster))
        monkeypatch.setenv("NOVA_CHROMA_URL", "off")
        codes = [
            main(["ask", text, "--data-dir", str(data_dir), "--thread", f"c{i}"])
            for i, text in enumerate([WORDS, OUT_OF_SCOPE])
        ]
        assert len(srv.requests) >= 2
    out, err = capsys.readouterr()
    assert codes == [0, 0]
    assert "[redacted]" in out
    assert "routing model failed after 3 attempt(s)" in out  # the router fallback path ran
    assert _occurrences(data_dir, out, err) == 0


def test_a_password_in_the_model_base_url_is_never_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://nova:{URL_PASSWORD}@127.0.0.1:9/v1"
    settings = NovaSettings(openai_api_key=KEY, openai_base_url=url, data_dir=tmp_path)
    model = ChatOpenAI(model="m", api_key=SecretStr(KEY), base_url=url)
    shown = [repr(settings), str(settings.redacted()), describe_model(model)]
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    monkeypatch.setenv(
        "NOVA_ROSTER_PATH", str(Path(__file__).parent / "data" / "roster_small.yaml")
    )
    monkeypatch.setenv("NOVA_CHROMA_URL", "off")
    main(["ask", WORDS, "--data-dir", str(tmp_path / "d")])  # port 9: the calls fail, reported
    out, err = capsys.readouterr()
    for text in [*shown, out, err]:
        assert URL_PASSWORD not in text and KEY not in text
    assert "nova:***@127.0.0.1" in describe_model(model)


class _LeakyRouter:
    """A user's router whose failure quotes the key (as an HTTP client's error might)."""

    def route(self, text: str) -> RouteDecision:
        raise ConnectionError(f"routing service refused Authorization: {KEY}")


def test_a_node_error_quoting_the_key_is_scrubbed_before_it_is_checkpointed(
    small_roster: Roster, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROUTER_TOKEN", KEY)  # a secret the process knows by its variable name
    graph = build_nova_graph(roster=small_roster, router=_LeakyRouter(), data_dir=data_dir)
    with pytest.raises(ConnectionError) as info:
        graph.invoke({"messages": [{"role": "user", "content": WORDS}]}, _thread("leak"))
    assert _occurrences(data_dir, str(info.value), repr(info.value)) == 0


def _thread(name: str) -> Any:
    return {"configurable": {"thread_id": name}}


def test_an_agent_loop_run_alone_scrubs_its_model_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOP_TOKEN", KEY)

    def refuse(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> str:
        raise ConnectionError(f"model server refused Authorization: {KEY}")

    loop = tool_loop("a", FunctionChatModel(fn=refuse), [], "You help.")
    with pytest.raises(ConnectionError) as info:
        loop.invoke({"messages": [HumanMessage("hi")]})
    assert KEY not in str(info.value) and "[redacted]" in str(info.value)


def test_a_loop_inside_a_scrubbed_run_adds_no_second_scrubber() -> None:
    @tool
    def scrubbers() -> str:
        """How many secret scrubbers this tool call's run reports to."""
        handlers = ensure_config()["callbacks"].handlers  # type: ignore[union-attr]
        return str(sum(isinstance(h, SecretScrubber) for h in handlers))

    def reply(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage | str:
        if messages[-1].type == "tool":
            return str(messages[-1].content)
        return AIMessage("", tool_calls=[{"name": "scrubbers", "args": {}, "id": "c1"}])

    loop = tool_loop("a", FunctionChatModel(fn=reply), [scrubbers], "You help.")
    alone = loop.invoke({"messages": [HumanMessage("hi")]})
    nested = loop.with_config(callbacks=[SecretScrubber()]).invoke(  # as a graph passes its own
        {"messages": [HumanMessage("hi")]}
    )
    assert alone["messages"][-1].content == "1"
    assert nested["messages"][-1].content == "1"
