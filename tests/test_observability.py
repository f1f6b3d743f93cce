"""Traces, cost and budgets of real graph runs with a scripted model that reports token usage."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from nova_app import build_nova_graph
from nova_graph.budget import Budget
from nova_graph.roster import Roster
from nova_graph.routing.decision import RouteDecision
from nova_graph.runlog import RunLog, RunRecord, logged_invoke
from nova_graph.testing import FunctionChatModel, TableRouter, word_tokens
from nova_graph.tracing import disable_tracing, enable_tracing
from nova_graph.usage import ModelPrice

BOTH = "what time is it and what is 6 * 7"
BAD_SUM = "calculate the impossible"
TIME = "what time is it"
TABLE = {
    BOTH: RouteDecision(agents=["clock", "math"], scores={"clock": 0.9, "math": 0.8, "words": 0.1}),
    BAD_SUM: RouteDecision(agents=["math"]),
    TIME: RouteDecision(agents=["clock"]),
}
PRICES = {"scripted-1": ModelPrice(input_per_million=1.25, output_per_million=10.0)}
ARGS = {"calculate": {"expression": "6 * 7"}, "current_time": {}}


class Script:
    """Each agent calls its first tool once, then answers; every call is remembered."""

    def __init__(self, *, bad_sum: bool = False, slow_clock: float = 0.0) -> None:
        self.calls: list[tuple[int, int]] = []  # (input tokens, output tokens) per model call
        self.bad_sum = bad_sum
        self.slow_clock = slow_clock
        self._lock = threading.Lock()

    def __call__(self, messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage:
        if isinstance(messages[-1], ToolMessage):
            reply = AIMessage(content=f"the answer from {messages[-1].name} is here")
        else:
            name = tools[0].get("function", tools[0])["name"]
            if name == "current_time" and self.slow_clock:
                time.sleep(self.slow_clock)
            args = {"expression": "1 +* ("} if self.bad_sum and name == "calculate" else ARGS[name]
            reply = AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": name}])
        with self._lock:
            self.calls.append((sum(word_tokens(m) for m in messages), word_tokens(reply)))
        return reply


def _run(
    roster: Roster, data_dir: Path, text: str, script: Script, **build: Any
) -> tuple[RunLog, RunRecord]:
    graph = build_nova_graph(
        roster=roster,
        router=TableRouter(TABLE),
        model=FunctionChatModel(fn=script, report_usage=True, model_name="scripted-1"),
        data_dir=data_dir,
        prices=PRICES,
        **build,
    )
    log = RunLog(data_dir / "runs.sqlite")
    _, run_id = logged_invoke(
        graph,
        {"messages": [{"role": "user", "content": text}]},
        {"configurable": {"thread_id": text}},
        log,
    )
    return log, log.get(run_id)


@pytest.fixture()
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    enable_tracing(provider)
    yield exporter
    disable_tracing()


def _children(all_spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [
        s for s in all_spans if s.parent is not None and s.parent.span_id == parent.context.span_id
    ]


def test_spans_of_a_multi_agent_run_form_the_request_tree(
    small_roster: Roster, data_dir: Path, spans: InMemorySpanExporter
) -> None:
    _, record = _run(small_roster, data_dir, BOTH, Script())
    finished = list(spans.get_finished_spans())
    roots = [s for s in finished if s.parent is None]
    assert [r.name for r in roots] == ["invoke_agent nova"]
    root = roots[0]
    attributes: dict[str, Any] = dict(root.attributes or {})
    assert attributes["nova.run_id"] == record.run_id
    assert attributes["gen_ai.usage.input_tokens"] == record.input_tokens
    kids = {s.name: s for s in _children(finished, root)}
    assert set(kids) == {"nova.supervisor", "invoke_agent clock", "invoke_agent math"}
    sup: dict[str, Any] = dict(kids["nova.supervisor"].attributes or {})
    assert list(sup["nova.route"]) == ["clock", "math"]
    assert list(sup["nova.candidates"]) == ["clock", "math", "words"]
    assert list(sup["nova.candidate_scores"]) == [0.9, 0.8, 0.1]
    for agent, tool in (("clock", "current_time"), ("math", "calculate")):
        span = kids[f"invoke_agent {agent}"]
        assert (span.attributes or {})["gen_ai.agent.name"] == agent
        inner = sorted(_children(finished, span), key=lambda s: s.start_time or 0)
        assert [s.name for s in inner] == [
            "chat scripted-1",
            f"execute_tool {tool}",
            "chat scripted-1",
        ]
        logged = next(a for a in record.agents if a.agent == agent)
        chats = [s for s in inner if s.name.startswith("chat")]
        assert [(c.attributes or {})["gen_ai.usage.input_tokens"] for c in chats] == [
            m.input_tokens for m in logged.model_call_log
        ]
        assert all((c.attributes or {})["gen_ai.response.model"] == "scripted-1" for c in chats)
        assert (inner[1].attributes or {})["gen_ai.tool.name"] == tool
        assert inner[1].status.status_code is not StatusCode.ERROR


def test_a_failed_tool_is_an_error_span_up_to_the_request(
    small_roster: Roster, data_dir: Path, spans: InMemorySpanExporter
) -> None:
    _, record = _run(small_roster, data_dir, BAD_SUM, Script(bad_sum=True))
    assert record.status == "failed"
    by_name = {s.name: s for s in spans.get_finished_spans()}
    for name in ("execute_tool calculate", "invoke_agent math", "invoke_agent nova"):
        assert by_name[name].status.status_code is StatusCode.ERROR, name


def test_tracing_off_records_no_spans(small_roster: Roster, data_dir: Path) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))  # not enabled
    _run(small_roster, data_dir, TIME, Script())
    assert exporter.get_finished_spans() == ()


def test_run_log_tokens_and_cost_equal_the_sums_over_model_calls(
    small_roster: Roster, data_dir: Path
) -> None:
    for text in (BOTH, TIME, BAD_SUM):
        script = Script(bad_sum=True)
        _, record = _run(small_roster, data_dir, text, script)
        tokens_in = sum(i for i, _ in script.calls)
        tokens_out = sum(o for _, o in script.calls)
        price = PRICES["scripted-1"]
        cost = sum(price.cost(i, o) for i, o in script.calls)
        assert record.model_calls == len(script.calls) > 0
        assert (record.input_tokens, record.output_tokens) == (tokens_in, tokens_out)
        assert record.cost == pytest.approx(cost, rel=1e-12, abs=0)
        assert record.cost > 0


def _with_clock_budget(roster: Roster, budget: Budget) -> Roster:
    specs = [s.model_copy(update={"budget": budget}) if s.name == "clock" else s for s in roster]
    return Roster(specs)


def _assert_clock_stopped(record: RunRecord, limit: str) -> None:
    failure = next(f for f in record.failures if f.agent == "clock")
    assert failure.error_type == "BudgetExceededError" and limit in failure.message
    assert "clock" in record.answer and limit in record.answer  # said in the answer too
    math = next(a for a in record.agents if a.agent == "math")
    assert math.status == "ok" and "calculate" in math.answer  # the other part completes


@pytest.mark.parametrize(
    ("budget", "limit"),
    [
        (Budget(max_model_calls=1), "max_model_calls=1"),
        (Budget(max_tokens=5), "max_tokens=5"),
        (Budget(max_cost=1e-6), "max_cost=1e-06"),
    ],
)
def test_an_agent_budget_stops_that_agent_and_the_others_complete(
    small_roster: Roster, data_dir: Path, budget: Budget, limit: str
) -> None:
    _, record = _run(_with_clock_budget(small_roster, budget), data_dir, BOTH, Script())
    _assert_clock_stopped(record, limit)
    clock = next(a for a in record.agents if a.agent == "clock")
    assert clock.model_calls == 1 and clock.cost > 0  # what it spent before stopping is logged


def test_an_agent_wall_time_budget_stops_that_agent(small_roster: Roster, data_dir: Path) -> None:
    roster = _with_clock_budget(small_roster, Budget(max_seconds=0.3))
    _, record = _run(roster, data_dir, BOTH, Script(slow_clock=0.5))
    _assert_clock_stopped(record, "max_seconds=0.3")


def test_a_request_budget_caps_the_model_calls_of_all_agents_together(
    small_roster: Roster, data_dir: Path
) -> None:
    _, record = _run(small_roster, data_dir, BOTH, Script(), budget=Budget(max_model_calls=3))
    assert record.model_calls == 3
    stopped = [f for f in record.failures if f.error_type == "BudgetExceededError"]
    assert len(stopped) == 1 and "this request" in stopped[0].message
    assert "NOVA_BUDGET__MAX_MODEL_CALLS" in stopped[0].message
    done = [a for a in record.agents if a.status == "ok"]
    assert len(done) == 1  # the other part completed


def test_spans_of_a_run_whose_model_errors_echo_the_key_carry_no_secret(
    small_roster: Roster, data_dir: Path, spans: InMemorySpanExporter
) -> None:
    import secrets

    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    from tests.support.openai_server import LocalOpenAIServer

    key = "planted" + secrets.token_hex(16)  # not key-shaped: only knowing it redacts it
    with LocalOpenAIServer(lambda body: 401, echo_auth=True, max_requests=20) as srv:
        model = ChatOpenAI(model="m", api_key=SecretStr(key), base_url=srv.base_url, max_retries=0)
        graph = build_nova_graph(
            roster=small_roster, router=TableRouter(TABLE), model=model, data_dir=data_dir
        )
        state = graph.invoke(
            {"messages": [{"role": "user", "content": TIME}]}, {"configurable": {"thread_id": "k"}}
        )
        assert srv.requests  # the model was called and its error quoted the key
    assert state["failures"][0]["agent"] == "clock"
    finished = spans.get_finished_spans()
    assert any(s.status.status_code == StatusCode.ERROR for s in finished)
    dumped = "".join(s.to_json() for s in finished)  # names, attributes, status, events
    assert "redacted" in dumped and key not in dumped
