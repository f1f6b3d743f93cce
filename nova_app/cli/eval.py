"""``nova eval <what>``: run one of the library's evaluations and print its table."""

from __future__ import annotations

import argparse
from importlib import import_module
from typing import Any

from nova_app import ROSTER_PATH, build_nova_graph

# name -> module exposing add_arguments(parser) and run(args) -> int
EVALS: dict[str, str] = {
    "roster": "nova_graph.evaluation.roster",
    "agents": "nova_graph.evaluation.agents",
    "memory": "nova_graph.evaluation.memory",
    "routing": "nova_graph.evaluation.routing",
    "conversation": "nova_graph.evaluation.conversation",
    "plans": "nova_graph.evaluation.plans",
}


def register(subparsers: Any) -> None:
    """Add ``nova eval`` and one sub-subcommand per registered evaluation."""
    parser = subparsers.add_parser("eval", help="run an evaluation and print its table")
    which = parser.add_subparsers(dest="evaluation", required=True)
    for name, mod_name in EVALS.items():
        mod = import_module(mod_name)
        p = which.add_parser(name, help=(mod.__doc__ or name).strip().splitlines()[0])
        mod.add_arguments(p)
        p.set_defaults(
            func=_runner(mod), default_roster=str(ROSTER_PATH), build_graph=build_nova_graph
        )


def _runner(mod: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        return int(mod.run(args))

    return run
