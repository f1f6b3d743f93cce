"""``nova warmup``: the one-time work of a new machine, with a progress bar on stderr.

A first run exports the MiniLM encoder to ONNX (and optimizes it) and trains and calibrates the
router (together 1-2 minutes on two cores). Both are cached; ``make install`` runs this command so
``make demo`` and the first ``nova ask`` start straight away. ``nova ask`` and ``nova chat`` call
:func:`warm_up` too, so a cold cache is never silent.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

#: How every progress line of the one-time work starts.
FIRST_RUN = "first run"


def register(subparsers: Any) -> None:
    """Add the ``warmup`` subcommand."""
    p = subparsers.add_parser(
        "warmup", help="do the one-time work (encoder export, router calibration) now"
    )
    p.add_argument("--data-dir", default=None, help="data directory (default: $NOVA_DATA_DIR)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Export the encoder and calibrate the router if they are not cached yet."""
    announce(always=True)
    from nova_graph.settings import load_settings

    settings = load_settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    done = warm_up(settings, always_report=True, announced=True)
    print("ready: " + ("; ".join(done) if done else "everything was already cached"))
    return 0


def _steps(settings: Any) -> list[tuple[str, Callable[[], None]]]:
    """The one-time steps still to do, as (what it is, how to do it)."""
    from nova_app import nova_roster
    from nova_graph.embeddings import default_encoder
    from nova_graph.roster import load_roster
    from nova_graph.routing.default import default_router, default_router_path

    steps: list[tuple[str, Callable[[], None]]] = []
    encoder = default_encoder()
    if hasattr(encoder, "is_prepared") and not encoder.is_prepared():
        steps.append(
            (
                "preparing the MiniLM encoder for ONNX Runtime (once)",
                lambda: _silently(encoder.encode, ["x"]),
            )
        )
    path = settings.roster_path
    roster = load_roster(path) if path is not None else nova_roster()
    if not default_router_path(roster).exists():
        steps.append(
            (
                "training and calibrating the router (once)",
                lambda: _silently(default_router, roster),
            )
        )
    return steps


def announce(*, always: bool = False) -> bool:
    """Print the first progress line at once when the caches look empty (or ``always``), before
    the settings and LangGraph load (seconds on a first run); True when it did."""
    if not (always or _maybe_cold()):
        return False
    print(f"{FIRST_RUN}: checking what needs preparing…", file=sys.stderr, flush=True)
    return True


def _maybe_cold() -> bool:
    """A cheap look (standard library only) for an empty cache."""
    from nova_graph.paths import default_cache_dir

    cache = default_cache_dir()
    encoders = cache / "encoders"
    routers = cache / "routers"
    return not (
        encoders.is_dir()
        and any(encoders.glob("*.ort-opt.onnx"))
        and routers.is_dir()
        and any(routers.glob("router-*"))
    )


def warm_up(settings: Any, *, always_report: bool = False, announced: bool = False) -> list[str]:
    """Do the steps still to do with a progress bar on stderr; return what was done.

    ``announced``: :func:`announce` already printed the first line (not repeated).
    """
    cold = always_report or _maybe_cold()
    if not cold:
        steps = _steps(settings)
        if not steps:
            return []
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if not console.is_terminal:  # a log or a pipe: one plain line per step, at once
        return _plain_steps(settings, None if cold else steps, announced=announced)
    columns = (
        SpinnerColumn(),
        TextColumn("[bold]first run[/]: {task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    done = []
    with Progress(*columns, console=console, transient=not always_report) as progress:
        task = progress.add_task("checking what needs preparing", total=None)
        if cold:
            steps = _steps(settings)
        progress.update(task, total=len(steps), completed=0)
        for what, do in steps:
            progress.update(task, description=what)
            do()
            progress.advance(task)
            done.append(what.removesuffix(" (once)"))
    return done


def _plain_steps(
    settings: Any, steps: list[tuple[str, Callable[[], None]]] | None, *, announced: bool
) -> list[str]:
    if not announced:
        print(f"{FIRST_RUN}: checking what needs preparing…", file=sys.stderr, flush=True)
    done = []
    for what, do in steps if steps is not None else _steps(settings):
        print(f"{FIRST_RUN}: {what}…", file=sys.stderr, flush=True)
        do()
        done.append(what.removesuffix(" (once)"))
    return done


@contextmanager
def _quiet() -> Iterator[None]:
    """No torch/transformers warnings or weight-loading bars over the progress bar."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            hf_logging.set_verbosity_error()
        except ImportError:  # pragma: no cover - transformers ships with the encoder package
            pass
        yield


def _silently(fn: Callable[..., Any], *args: Any) -> None:
    with _quiet():
        fn(*args)
