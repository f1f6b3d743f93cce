"""OpenTelemetry traces of every run, following the OpenTelemetry GenAI semantic conventions.

Off by default and free when off: nothing from OpenTelemetry is imported and every hook returns
at once. ``enable_tracing()`` turns it on with the global tracer provider (or one you pass, e.g.
an SDK provider with an in-memory exporter in tests); :func:`configure_tracing` builds an SDK
provider from the standard ``OTEL_*`` environment variables (``OTEL_TRACES_EXPORTER=otlp`` or
``console``, ``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_SERVICE_NAME``, ...), which is what
``NOVA_TRACING=1`` does for the ``nova`` command.

The tree of one request::

    invoke_agent nova                       (the request)
      nova.supervisor                       route, top candidate scores, clarification, plan
      invoke_agent <agent>                  one per routed agent
        chat <model>                        tokens in/out, cost
        execute_tool <tool>                 status

Failures set the span status to ERROR with a redacted description. Spans never carry prompts,
answers or tool arguments (they may hold personal data or secrets); LangChain callbacks (and so
LangSmith) are left untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig

from nova_graph.reliability.redact import redact

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer, TracerProvider

    from nova_graph.settings import NovaSettings

TRACER_NAME = "nova_graph"
SYSTEM_AGENT = "nova"
_TOP_CANDIDATES = 3
_tracer: Tracer | None = None


def enable_tracing(tracer_provider: TracerProvider | None = None) -> None:
    """Trace every run from now on, through ``tracer_provider`` (default: the global one)."""
    global _tracer
    from opentelemetry import trace

    provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    _tracer = provider.get_tracer(TRACER_NAME)


def disable_tracing() -> None:
    """Stop tracing (the default state)."""
    global _tracer
    _tracer = None


def tracing_enabled() -> bool:
    """True when runs are being traced."""
    return _tracer is not None


def configure_tracing(settings: NovaSettings) -> bool:
    """Turn tracing on when ``settings.tracing`` is set, exporting as ``OTEL_*`` variables say.

    Sets an SDK tracer provider as the global one (unless the application already installed
    one) with a batch exporter: OTLP (``OTEL_TRACES_EXPORTER=otlp``, the default; protocol from
    ``OTEL_EXPORTER_OTLP_PROTOCOL``) or the console. Returns whether tracing is on.
    """
    if not settings.tracing or settings.otel_sdk_disabled:
        return False
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    current = trace.get_tracer_provider()
    if isinstance(current, SdkTracerProvider):
        enable_tracing(current)
        return True
    provider = SdkTracerProvider(resource=Resource.create({"service.name": SYSTEM_AGENT}))
    for name in (settings.otel_traces_exporter or "otlp").split(","):
        exporter: Any
        name = name.strip().lower()
        if name == "console":
            exporter = ConsoleSpanExporter()
        elif name == "otlp" and settings.otel_exporter_otlp_protocol == "grpc":
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            exporter = OTLPSpanExporter()
        elif name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                OTLPSpanExporter as HttpExporter,
            )

            exporter = HttpExporter()
        else:
            continue  # "none" or an exporter we do not ship
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    enable_tracing(provider)
    return True


# -- spans ------------------------------------------------------------------------------------
_NO_SPAN = nullcontext(None)


@contextmanager
def _span(name: str, attributes: Mapping[str, Any]) -> Iterator[Span | None]:
    tracer = _tracer
    if tracer is None:
        yield None
        return
    with tracer.start_as_current_span(
        name, attributes=dict(attributes), record_exception=False, set_status_on_exception=False
    ) as span:
        try:
            yield span
        except BaseException as exc:
            if not _is_control_flow(exc):
                mark_failed(span, exc)
            raise


def request_span(thread_id: str | None = None) -> Any:
    """The root span of one request (a context manager yielding the span, or ``None`` when off)."""
    attrs: dict[str, Any] = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "nova"}
    if thread_id:
        attrs["gen_ai.conversation.id"] = thread_id
    return _span(f"invoke_agent {SYSTEM_AGENT}", attrs)


def run_attributes(record: Any) -> dict[str, Any]:
    """Span attributes summing up a recorded run (a ``RunRecord``)."""
    return {
        "nova.run_id": record.run_id,
        "nova.status": record.status,
        "nova.model_calls": record.model_calls,
        "gen_ai.usage.input_tokens": record.input_tokens,
        "gen_ai.usage.output_tokens": record.output_tokens,
        "nova.cost": record.cost,
    }


def agent_span(agent: str) -> Any:
    """The span of one agent's part of a request (a context manager yielding the span, or
    ``None`` when tracing is off)."""
    if _tracer is None:
        return _NO_SPAN  # entered at every agent attempt: nothing to build when off
    return _span(
        f"invoke_agent {agent}",
        {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent},
    )


def start_model_span(model: str) -> Span | None:
    """Start (not as current) the span of one model call; end it with :func:`end_model_span`."""
    if _tracer is None:
        return None
    return _tracer.start_span(
        f"chat {model}",
        attributes={"gen_ai.operation.name": "chat", "gen_ai.request.model": model},
    )


def end_model_span(span: Span | None, record: Mapping[str, Any]) -> None:
    """End a model-call span with the call's model, tokens and cost."""
    if span is None:
        return
    span.set_attribute("gen_ai.response.model", str(record["model"]))
    span.set_attribute("gen_ai.usage.input_tokens", int(record["input_tokens"]))
    span.set_attribute("gen_ai.usage.output_tokens", int(record["output_tokens"]))
    span.set_attribute("nova.cost", float(record["cost"]))
    span.end()


def tool_span(tool: str, call_id: str | None) -> Any:
    """The span of one tool call (a context manager yielding the span, or ``None`` when off)."""
    attrs = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool}
    if call_id:
        attrs["gen_ai.tool.call.id"] = call_id
    return _span(f"execute_tool {tool}", attrs)


def mark_failed(span: Span | None, error: BaseException | str, *, end: bool = False) -> None:
    """Record a failure on ``span``: status ERROR, ``error.type``, a redacted description."""
    if span is None:
        return
    from opentelemetry.trace import Status, StatusCode

    kind = error if isinstance(error, str) else type(error).__name__
    text = kind if isinstance(error, str) else redact(str(error) or kind)
    span.set_attribute("error.type", kind)
    span.set_status(Status(StatusCode.ERROR, text[:500]))
    if end:
        span.end()


def _is_control_flow(exc: BaseException) -> bool:
    from langgraph.errors import GraphBubbleUp

    return isinstance(exc, GraphBubbleUp | GeneratorExit)


# -- the supervisor ---------------------------------------------------------------------------
def traced_supervisor(node: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """``node`` (the supervisor) with a span describing its decision when tracing is on."""

    def supervisor(state: Any, config: RunnableConfig) -> dict[str, Any]:
        if _tracer is None:
            return node(state, config)
        with _span("nova.supervisor", {"nova.node": "supervisor"}) as span:
            try:
                update = node(state, config)
            except BaseException as exc:
                if span is not None and _is_control_flow(exc):
                    span.set_attribute("nova.interrupted", True)
                raise
            if span is not None:
                span.set_attributes(decision_attributes(update))
            return update

    return supervisor


def decision_attributes(update: Mapping[str, Any]) -> dict[str, Any]:
    """Span attributes of a supervisor update: route, top candidates, clarification, plan."""
    decision = update.get("decision") or {}
    scores = decision.get("scores") or {}
    top = sorted(scores.items(), key=lambda kv: -kv[1])[:_TOP_CANDIDATES]
    attrs: dict[str, Any] = {
        "nova.route": list(update.get("routes") or []),
        "nova.route.method": str(decision.get("method", "")),
        "nova.route.out_of_scope": bool(decision.get("out_of_scope", False)),
        "nova.candidates": [name for name, _ in top],
        "nova.candidate_scores": [float(score) for _, score in top],
    }
    clarification = update.get("clarification")
    if clarification:
        attrs["nova.clarification.options"] = [
            str(o.get("agent")) for o in clarification.get("options", [])
        ]
        attrs["nova.clarification.answer"] = redact(str(clarification.get("answer", "")))[:200]
    plan = update.get("plan")
    if plan:
        steps = plan.get("steps", plan) if isinstance(plan, Mapping) else plan
        attrs["nova.plan"] = [
            str(s.get("agent", s)) if isinstance(s, Mapping) else str(s) for s in steps
        ]
    return attrs
