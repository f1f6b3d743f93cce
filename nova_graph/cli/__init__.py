"""The ``nova`` command line: ``nova ask``, ``nova demo``, ``nova eval ...`` and friends."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib import import_module

from nova_graph.errors import NovaError
from nova_graph.private import PRIVATE_UMASK
from nova_graph.reliability.redact import redact, scrub_exception

# Each module exposes ``register(subparsers)``; its parser sets ``func(args) -> int``.
SUBCOMMANDS: tuple[str, ...] = (
    "nova_graph.cli.ask",
    "nova_graph.cli.demo",
    "nova_graph.cli.eval",
    "nova_graph.cli.feedback",
    "nova_graph.cli.improve",
    "nova_graph.cli.init_demo",
    "nova_graph.cli.runs",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(prog="nova", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for mod in SUBCOMMANDS:
        import_module(mod).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nova`` command."""
    args = build_parser().parse_args(argv)
    # Everything the command creates (data dir, Chroma, SQLite, caches) is user-only.
    os.umask(PRIVATE_UMASK)
    try:
        return int(args.func(args))
    except NovaError as exc:
        print(f"nova: error: {redact(str(exc))}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: keep the traceback, but never with a secret in it
        scrub_exception(exc)
        raise


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
