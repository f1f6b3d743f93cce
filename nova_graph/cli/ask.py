"""``nova ask "..."``: route one request through the graph and print what happened."""

from __future__ import annotations

import argparse
import sys
import uuid
from typing import Any

from langgraph.types import Command

from nova_graph.cli.render import render_interrupt, render_outcome


def register(subparsers: Any) -> None:
    """Add the ``ask`` subcommand."""
    p = subparsers.add_parser("ask", help="ask Nova one thing and print the route and answer")
    p.add_argument("request", nargs="?", help="the request text (omit with --resume)")
    p.add_argument("--thread", default=None, help="conversation thread id to continue")
    p.add_argument("--resume", default=None, help="answer to the thread's pending question")
    p.add_argument("--data-dir", default=None, help="data directory (default: $NOVA_DATA_DIR)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run one request (or resume one pending question) and print the outcome."""
    from nova_graph.checkpoint import sqlite_checkpointer
    from nova_graph.graph import build_graph
    from nova_graph.models import default_model, describe_model
    from nova_graph.tools.context import default_data_dir

    if args.request is None and args.resume is None:
        print("nova ask: give a request, or --thread T --resume ANSWER", file=sys.stderr)
        return 2
    data_dir = args.data_dir or default_data_dir()
    model = default_model()
    print(f"model: {describe_model(model)}")
    graph = build_graph(
        model=model,
        checkpointer=sqlite_checkpointer(f"{data_dir}/checkpoints.sqlite"),
        data_dir=data_dir,
    )
    thread = args.thread or uuid.uuid4().hex[:12]
    config = {"configurable": {"thread_id": thread}}
    payload: Any
    if args.resume is not None:
        payload = Command(resume=args.resume)
    else:
        payload = {"messages": [{"role": "user", "content": args.request}]}
    state = graph.invoke(payload, config)
    print(f"thread: {thread}")
    while state.get("__interrupt__"):
        pending = state["__interrupt__"][0].value
        render_interrupt(pending, sys.stdout)
        if not sys.stdin.isatty():
            print(f'answer with: nova ask --thread {thread} --resume "..."')
            return 0
        state = graph.invoke(Command(resume=input("> ")), config)
    render_outcome(state, sys.stdout)
    return 0
