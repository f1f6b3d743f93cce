"""``nova runs``: recent runs from the run log; ``nova runs show RUN_ID``: one run as a tree."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from nova_graph.runlog import RunRecord

STATUSES = ("ok", "failed", "out_of_scope", "interrupted", "waiting_approval", "error")
_REQUEST_CHARS = 48


def register(subparsers: Any) -> None:
    """Add the ``runs`` subcommand (and ``runs show``)."""
    p = subparsers.add_parser("runs", help="list recent runs, or show one as a tree")
    p.add_argument("--status", choices=STATUSES, default=None, help="only runs with this status")
    p.add_argument("--agent", default=None, help="only runs in which this agent took part")
    p.add_argument("--limit", type=int, default=20, help="how many recent runs (default 20)")
    p.add_argument("--data-dir", default=None, help="data directory (default: $NOVA_DATA_DIR)")
    p.set_defaults(func=run_list)
    sub = p.add_subparsers(dest="runs_command")
    show = sub.add_parser("show", help="print one run as a tree with timings and failures")
    show.add_argument("run_id", help="the run id printed by `nova ask` or `nova runs`")
    show.add_argument("--data-dir", default=None, help="data directory (default: $NOVA_DATA_DIR)")
    show.set_defaults(func=run_show)


def _runlog(args: argparse.Namespace) -> Any:
    from nova_graph.runlog import RUNLOG_FILE, RunLog
    from nova_graph.settings import load_settings

    settings = load_settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    return RunLog(settings.data_dir / RUNLOG_FILE)


def run_list(args: argparse.Namespace) -> int:
    """Print recent runs, newest last, filtered by ``--status`` and ``--agent``."""
    if args.limit < 1:
        print("nova runs: --limit must be at least 1", file=sys.stderr)
        return 2
    runs = [
        r
        for r in _runlog(args).runs()
        if (args.status is None or r.status == args.status)
        and (
            args.agent is None
            or args.agent in r.routes
            or any(a.agent == args.agent for a in r.agents)
        )
    ][-args.limit :]
    render_run_list(runs, sys.stdout)
    return 0


def run_show(args: argparse.Namespace) -> int:
    """Print one run as a tree."""
    render_run_tree(_runlog(args).get(args.run_id), sys.stdout)
    return 0


def format_cost(record: RunRecord) -> str:
    """``tokens in/out`` and the money of a run."""
    return f"{record.input_tokens}/{record.output_tokens} tok ${record.cost:.6f}"


def render_run_list(runs: list[RunRecord], out: TextIO) -> None:
    """One line per run: time, id, status, route, latency, cost, request."""
    if not runs:
        out.write("no runs match\n")
        return
    out.write(
        f"{'time (UTC)':19}  {'run':12}  {'status':16}  {'route':24}  latency  cost  request\n"
    )
    for r in runs:
        request = (
            r.request if len(r.request) <= _REQUEST_CHARS else r.request[: _REQUEST_CHARS - 1] + "…"
        )
        route = ",".join(r.routes) or "-"
        out.write(
            f"{r.created_at:%Y-%m-%d %H:%M:%S}  {r.run_id:12}  {r.status:16}  {route:24}  "
            f"{r.latency_ms:6.0f}ms  {format_cost(r)}  {request}\n"
        )


def render_run_tree(r: RunRecord, out: TextIO) -> None:
    """The run as a tree: supervisor → plan → agents → model and tool calls."""
    out.write(
        f"run {r.run_id}  {r.created_at:%Y-%m-%d %H:%M:%S} UTC  {r.status.upper()}  "
        f"{r.latency_ms:.0f} ms  {r.model_calls} model calls  {format_cost(r)}\n"
    )
    out.write(f"request: {r.request}\n")
    decision = r.decision
    scores = sorted((decision.get("scores") or {}).items(), key=lambda kv: -kv[1])[:3]
    top = ", ".join(f"{a} {s:.2f}" for a, s in scores) or "-"
    out.write(
        f"supervisor: route {', '.join(r.routes) or '(none: out of scope)'}"
        f"  (method {decision.get('method', '?')}; top candidates: {top})\n"
    )
    plan = decision.get("plan")
    if plan:
        out.write(f"├─ plan: {plan}\n")
    for a in r.agents:
        out.write(
            f"├─ agent {a.agent}  {a.status.upper()}  {a.latency_ms:.0f} ms  "
            f"{a.model_calls} model calls  {a.input_tokens}/{a.output_tokens} tok ${a.cost:.6f}\n"
        )
        for m in a.model_call_log:
            out.write(
                f"│  ├─ model {m.model}  {m.latency_ms:.0f} ms  "
                f"{m.input_tokens}/{m.output_tokens} tok ${m.cost:.6f}\n"
            )
        for t in a.tool_calls:
            mark = "ok" if t.ok else "FAILED"
            out.write(f"│  ├─ tool {t.name}  {mark}  {t.latency_ms:.0f} ms\n")
            if not t.ok:
                out.write(f"│  │    {t.output.splitlines()[0] if t.output else ''}\n")
    for f in r.failures:
        out.write(f"├─ FAILED [{f.agent}] {f.error_type}: {f.message}\n")
    for q in r.pending:
        out.write(f"└─ waiting ({r.status}): {q}\n")
    if r.answer:
        first = r.answer.strip().splitlines()[0] if r.answer.strip() else ""
        out.write(f"└─ answer: {first}\n")
