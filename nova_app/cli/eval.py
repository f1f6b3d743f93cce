"""``nova eval <what>``: run one of the repository's evaluations and print its table.

The harness is the ``evals`` package of the repository checkout (``evals/harness``), not part of
the installed library or app; without a checkout ``nova eval`` says so (:class:`EvalsNotFound`).
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import Any

from nova_app import ROSTER_PATH, build_nova_graph
from nova_graph.errors import NovaError

HARNESS = "evals.harness"
# name -> module of the harness exposing add_arguments(parser) and run(args) -> int
EVALS: dict[str, str] = {
    "roster": f"{HARNESS}.roster",
    "agents": f"{HARNESS}.agents",
    "memory": f"{HARNESS}.memory",
    "routing": f"{HARNESS}.routing",
    "conversation": f"{HARNESS}.conversation",
    "plans": f"{HARNESS}.plans",
}


class EvalsNotFound(NovaError):
    """``nova eval`` ran where the repository's ``evals`` package cannot be imported."""


def _checkout_roots() -> list[Path]:
    """Where a checkout's ``evals/`` may be: beside the app's source (an editable install), and
    the current directory."""
    return [Path(__file__).resolve().parents[2], Path.cwd()]


def harness() -> ModuleType:
    """The ``evals.harness`` package, from ``sys.path`` or a checkout found by
    :func:`_checkout_roots`; :class:`EvalsNotFound` when there is none."""
    try:
        return import_module(HARNESS)
    except ModuleNotFoundError as exc:
        if exc.name not in ("evals", HARNESS):
            raise
    for root in _checkout_roots():
        if (root / "evals" / "harness" / "__init__.py").is_file():
            sys.path.insert(0, str(root))
            return import_module(HARNESS)
    raise EvalsNotFound(
        "nova eval needs a checkout of the nova_graph repository: its evaluation harness and "
        "data sets live in the repository's evals/ folder, which is not installed with the "
        "package. Clone the repository and run `nova eval ...` from its root (or "
        "`python -m evals.harness.<name>` there)."
    )


def register(subparsers: Any) -> None:
    """Add ``nova eval`` and one sub-subcommand per evaluation (each explains itself when the
    harness cannot be found)."""
    parser = subparsers.add_parser("eval", help="run an evaluation and print its table")
    which = parser.add_subparsers(dest="evaluation", required=True)
    try:
        harness()
    except EvalsNotFound as exc:
        missing = exc
        for name in EVALS:
            # every argument is accepted (none is an option here), so the error below is shown
            p = which.add_parser(
                name,
                help=f"the {name} evaluation (needs a repository checkout)",
                prefix_chars="\x00",
                add_help=False,
            )
            p.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
            p.set_defaults(func=_unavailable(missing))
        return
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


def _unavailable(error: EvalsNotFound) -> Any:
    def run(args: argparse.Namespace) -> int:
        raise error

    return run
