"""The ``nova`` command line: ``nova ask``, ``nova demo``, ``nova eval ...`` and friends."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import import_module

from nova_graph.errors import NovaError
from nova_graph.private import PRIVATE_UMASK

# Only the command being run is imported (and nothing that loads LangGraph before it starts), so
# a first run's progress shows within a second.

# Each module exposes ``register(subparsers)``; its parser sets ``func(args) -> int``.
SUBCOMMANDS: tuple[str, ...] = (
    "nova_app.cli.ask",
    "nova_app.cli.chat",
    "nova_app.cli.demo",
    "nova_app.cli.eval",
    "nova_app.cli.feedback",
    "nova_app.cli.improve",
    "nova_app.cli.init_demo",
    "nova_app.cli.runs",
    "nova_app.cli.warmup",
)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand, or only ``command``'s (its module
    alone is imported) when it names one."""
    parser = argparse.ArgumentParser(prog="nova", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    chosen = [m for m in SUBCOMMANDS if command and _command_name(m) == command]
    for mod in chosen or SUBCOMMANDS:
        import_module(mod).register(sub)
    return parser


def _command_name(module: str) -> str:
    """The subcommand a module registers (``nova_app.cli.init_demo`` -> ``init-demo``)."""
    return module.rsplit(".", 1)[1].replace("_", "-")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nova`` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    # Everything the command creates (data dir, Chroma, SQLite, caches) is user-only.
    os.umask(PRIVATE_UMASK)
    try:
        with _collector_paused():
            return int(args.func(args))
    except NovaError as exc:
        from nova_graph.reliability.redact import redact

        print(f"nova: error: {redact(str(exc))}", file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: keep the traceback, but never with a secret in it
        from nova_graph.reliability.redact import scrub_exception

        scrub_exception(exc)
        raise
    finally:
        # Objects still alive at exit are frozen, so the interpreter's shutdown does not walk
        # them (measured: about a quarter of a warm `nova ask`'s samples were in the collector).
        gc.freeze()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Disable the cyclic collector while a command loads its graph and runs.

    Start-up allocates hundreds of thousands of long-lived objects (modules, models, tools) and
    each generation-0 overflow walks them again. Commands call :func:`loaded` when ready: the
    loaded objects are frozen (a generation the collector never scans) and collection resumes for
    the command's own garbage, which long sessions such as ``nova chat`` produce.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def loaded() -> None:
    """Mark the end of start-up: freeze what was loaded and let the collector run again."""
    gc.freeze()
    gc.enable()


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
