"""``nova ask "..."``: route one request through the graph, printing each step as it happens."""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from typing import Any

from nova_graph.errors import InvalidRequestError


def register(subparsers: Any) -> None:
    """Add the ``ask`` subcommand."""
    p = subparsers.add_parser("ask", help="ask Nova one thing and print the route and answer")
    p.add_argument("request", nargs="?", help="the request text (omit with --resume)")
    p.add_argument("--thread", default=None, help="conversation thread id to continue")
    p.add_argument(
        "--resume",
        action="append",
        default=None,
        help="answer to the thread's pending questions: one answer for all, or ID=ANSWER per "
        "question (repeat the option)",
    )
    p.add_argument("--data-dir", default=None, help="data directory (default: $NOVA_DATA_DIR)")
    p.add_argument(
        "--tokens", action="store_true", help="also print model output as it is generated"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run one request (or resume one pending question), streaming progress, then the outcome."""
    from nova_app.cli.warmup import announce, warm_up

    if args.request is None and args.resume is None:
        print("nova ask: give a request, or --thread T --resume ANSWER", file=sys.stderr)
        return 2
    if args.resume is not None and args.thread is None:
        print("nova ask: --resume needs --thread (the thread that asked)", file=sys.stderr)
        return 2
    announced = announce()  # before LangGraph loads: a first run shows progress at once
    from nova_app import nova_graph_from_settings
    from nova_app.cli import loaded
    from nova_app.cli.render import render_interrupt, render_outcome
    from nova_app.cli.runs import format_cost
    from nova_graph.from_settings import model_from_settings
    from nova_graph.models import describe_model
    from nova_graph.runlog import RUNLOG_FILE, RunLog, record_from_state
    from nova_graph.settings import load_settings
    from nova_graph.streaming import pending_interrupts, resume_command
    from nova_graph.tracing import configure_tracing, request_span

    settings = load_settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    warm_up(settings, announced=announced)
    configure_tracing(settings)
    model = model_from_settings(settings)
    print(f"model: {describe_model(model)}", flush=True)
    graph = nova_graph_from_settings(settings, model=model)
    loaded()
    thread = args.thread or uuid.uuid4().hex[:12]
    config: Any = {"configurable": {"thread_id": thread}}
    print(f"thread: {thread}", flush=True)
    payload: Any
    if args.resume is not None:
        try:
            payload = resume_command(pending_interrupts(graph, config), args.resume)
        except InvalidRequestError as exc:
            print(f"nova ask: {exc}", file=sys.stderr)
            return 2
    else:
        payload = {"messages": [{"role": "user", "content": args.request}]}
    busy_s = 0.0  # time spent running the graph, not waiting for the user
    while True:
        started = time.perf_counter()
        with request_span(thread):
            _stream(graph, payload, config, tokens=args.tokens)
        busy_s += time.perf_counter() - started
        pending = pending_interrupts(graph, config)
        if not pending:
            break
        for item in pending:
            render_interrupt(item.value, sys.stdout, item.id)
        if not sys.stdin.isatty():
            waiting = {**graph.get_state(config).values, "__interrupt__": list(pending)}
            run_id = RunLog(settings.data_dir / RUNLOG_FILE).record(
                waiting, busy_s * 1000, thread_id=thread
            )
            print(f'answer all with: nova ask --thread {thread} --resume "..."  (run: {run_id})')
            if len(pending) > 1:
                print("or each one: " + " ".join(f'--resume "{p.id}=..."' for p in pending))
            return 0
        answers = [f"{p.id}={input(f'[{p.id}] > ')}" for p in pending]
        payload = resume_command(pending, answers)
    final = graph.get_state(config).values
    if sys.stdout.isatty():  # people get the rich view; pipes keep the plain one for scripts
        from nova_app.cli.display import TerminalView

        TerminalView().outcome(final)
    else:
        render_outcome(final, sys.stdout)
    record = record_from_state(final, busy_s * 1000, thread_id=thread)
    RunLog(settings.data_dir / RUNLOG_FILE).add(record)
    print(f"cost: {record.model_calls} model calls, {format_cost(record)}")
    run_id = record.run_id
    print(f"\nrun: {run_id}  (rate it: nova feedback {run_id} good|bad [--should-be AGENT])")
    return 0


def _stream(graph: Any, payload: Any, config: Any, *, tokens: bool) -> None:
    """Print each node's update (and tokens) as it arrives (interrupts are read afterwards)."""
    from nova_graph.streaming import describe_update, stream_run

    speaking: str | None = None  # the node whose tokens are being printed
    for event in stream_run(graph, payload, config, tokens=tokens):
        if event.kind == "token":
            if event.node != speaking:
                print(("\n" if speaking else "") + f"  [{event.node}] ", end="")
                speaking = event.node
            print(event.data, end="", flush=True)
            continue
        if speaking is not None:
            print()
            speaking = None
        if event.kind == "update":
            print(f"· {describe_update(event.node, event.data)}", flush=True)
    if speaking is not None:
        print()
