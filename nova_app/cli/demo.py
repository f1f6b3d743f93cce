"""``nova demo``: a scripted run of the graph on the offline default.

It shows a single-domain request, a multi-domain fan-out, an ambiguous request answered with a
clarifying question, an out-of-scope refusal and a short conversation with follow-ups in one
thread, each with the route and every agent's answer.
Each scripted request says what must happen (``expect``); the demo checks it and exits 1 if a
situation went otherwise, so it never shows a "clarifying question" that was not asked.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from nova_app.cli.render import render_interrupt, render_outcome
from nova_graph.streaming import resume_command


def register(subparsers: Any) -> None:
    """Add the ``demo`` subcommand."""
    p = subparsers.add_parser("demo", help="run the scripted demo on the offline default")
    p.add_argument("--data-dir", default=None, help="keep demo data here (default: a temp dir)")
    p.add_argument("--script", default=None, help="a demo YAML file (default: the packaged one)")
    p.set_defaults(func=run)


def load_script(path: str | None) -> list[dict[str, Any]]:
    """The demo requests from ``path`` or the packaged ``demo.yaml``."""
    if path is None:
        text = resources.files("nova_app.data").joinpath("demo.yaml").read_text("utf-8")
    else:
        text = Path(path).read_text("utf-8")
    return list(yaml.safe_load(text)["requests"])


def run(args: argparse.Namespace) -> int:
    """Run every scripted request through one graph and print each outcome."""
    from nova_app import build_nova_graph
    from nova_graph.models import default_model, describe_model

    script = load_script(args.script)
    with tempfile.TemporaryDirectory(prefix="nova-demo-") as tmp:
        data_dir = Path(args.data_dir or tmp)
        model = default_model()
        started = time.perf_counter()
        graph = build_nova_graph(model=model, data_dir=data_dir)
        print(f"model: {describe_model(model)}")
        print(f"graph built in {time.perf_counter() - started:.1f} s; data in {data_dir}\n")
        failed = [i for i, item in enumerate(script, start=1) if not _run_one(graph, i, item)]
    ok = len(script) - len(failed)
    print(f"{ok}/{len(script)} situations as scripted" + (f"; not: {failed}" if failed else ""))
    return 1 if failed else 0


def _run_one(graph: Any, i: int, item: dict[str, Any]) -> bool:
    """Run one scripted request (or conversation, ``turns``: one thread); True when every turn
    went as its ``expect`` says."""
    if "turns" in item:
        sys.stdout.write(f"=== {i}. {item['kind']} (one thread)\n")
        return all(
            [
                _run_turn(graph, f"{i}.{j}", turn, f"demo-{i}")
                for j, turn in enumerate(item["turns"], 1)
            ]
        )
    return _run_turn(graph, str(i), item, f"demo-{i}")


def _run_turn(graph: Any, label: str, item: dict[str, Any], thread: str) -> bool:
    out = sys.stdout
    out.write(f"=== {label}. {item.get('kind', 'turn')}: {item['request']!r}\n")
    config = {"configurable": {"thread_id": thread}}
    started = time.perf_counter()
    state = graph.invoke({"messages": [{"role": "user", "content": item["request"]}]}, config)
    asked: list[str] = []
    while pending := state.get("__interrupt__"):
        for p in pending:
            payload = p.value
            kind = payload.get("type", "input") if isinstance(payload, dict) else "input"
            asked.append(str(kind))
            render_interrupt(payload, out, p.id)
        answer = item.get("answer", "1")
        out.write(f"demo answers: {answer!r}\n")
        state = graph.invoke(resume_command(pending, [answer]), config)
    render_outcome(state, out)
    out.write(f"({(time.perf_counter() - started) * 1000:.0f} ms)\n")
    problems = check_expectation(
        item.get("expect") or {}, list(state.get("routes") or []), asked, state=state
    )
    out.write("as scripted\n\n" if not problems else f"NOT AS SCRIPTED: {'; '.join(problems)}\n\n")
    return not problems


def check_expectation(
    expect: dict[str, Any],
    routes: list[str],
    asked: list[str],
    *,
    state: dict[str, Any] | None = None,
) -> list[str]:
    """What differs between a scripted ``expect`` and what happened (empty when nothing).

    ``after: {agent: [upstream agents]}`` also checks the plan's dependencies and that the agent
    was given those agents' results.
    """
    problems = []
    steps = (state or {}).get("plan") or []
    results = (state or {}).get("results") or {}
    ids = {s["agent"]: s["id"] for s in steps}
    for agent, wanted in (expect.get("after") or {}).items():
        want = sorted(ids.get(a, a) for a in wanted)
        got = sorted(next((s["depends_on"] for s in steps if s["agent"] == agent), []))
        given = sorted(results.get(agent, {}).get("inputs") or [])
        if got != want or given != want:
            problems.append(f"expected {agent} after {wanted}: waited for {got}, given {given}")
    if "agents" in expect and set(routes) != set(expect["agents"]):
        problems.append(f"expected agents {sorted(expect['agents'])}, got {sorted(routes)}")
    if list(expect.get("asks") or []) != asked:
        problems.append(f"expected pauses {list(expect.get('asks') or [])}, got {asked}")
    if expect.get("out_of_scope") and routes:
        problems.append(f"expected out of scope, got agents {sorted(routes)}")
    return problems
