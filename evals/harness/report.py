"""Scorecard reports: Markdown (plots as PNG files next to it) or HTML (plots embedded), with a
confusion matrix and per-agent bars drawn by matplotlib (Agg backend, no display needed)."""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evals.harness.agents import COLUMNS, Scorecards, table_rows
from nova_graph.errors import InvalidRequestError
from nova_graph.improve.metrics import OUT_OF_SCOPE


def _plt() -> Any:
    try:
        import matplotlib
    except ImportError:
        from nova_graph.errors import ConfigurationError

        raise ConfigurationError(
            "evaluation figures need matplotlib: pip install 'nova_graph[evals]'"
        ) from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def confusion_figure(cards: Scorecards) -> Any:
    """Row-normalised confusion matrix (expected → routed) of the labelled set."""
    plt = _plt()
    labels = sorted(
        {*cards.confusion, *(p for r in cards.confusion.values() for p in r)},
        key=lambda x: (x == OUT_OF_SCOPE, x),
    )
    index = {a: i for i, a in enumerate(labels)}
    import numpy as np

    m = np.zeros((len(labels), len(labels)))
    for exp, row in cards.confusion.items():
        total = sum(row.values()) or 1
        for pred, n in row.items():
            m[index[exp], index[pred]] = n / total
    size = max(4.0, 0.28 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(m, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_xlabel("routed to")
    ax.set_ylabel("expected")
    ax.set_title("Routing confusion (row-normalised)")
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def _bars(cards: Scorecards, fields: list[tuple[str, str]], title: str) -> Any:
    plt = _plt()
    import numpy as np

    agents = [c.agent for c in cards.agents]
    x = np.arange(len(agents))
    width = 0.8 / len(fields)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.3 * len(agents) + 2), 4))
    for i, (field, label) in enumerate(fields):
        vals = [getattr(c, field) for c in cards.agents]
        ax.bar(x + i * width, [0 if v is None else v for v in vals], width, label=label)
    ax.set_xticks(x + width * (len(fields) - 1) / 2, agents, rotation=90, fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def routing_bars(cards: Scorecards) -> Any:
    """Per-agent routing precision and recall on the labelled set."""
    return _bars(
        cards,
        [("precision", "precision"), ("recall", "recall")],
        "Routing precision / recall per agent (labelled set)",
    )


def reliability_bars(cards: Scorecards) -> Any:
    """Per-agent failure rate and tool error rate from the run log."""
    return _bars(
        cards,
        [("failure_rate", "failure rate"), ("tool_error_rate", "tool error rate")],
        "Failures per agent (run log)",
    )


FIGURES: dict[str, Callable[[Scorecards], Any]] = {
    "confusion": confusion_figure,
    "routing": routing_bars,
    "reliability": reliability_bars,
}


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    _plt().close(fig)
    return buf.getvalue()


def _figures(cards: Scorecards) -> dict[str, bytes]:
    wanted = dict(FIGURES)
    if not cards.confusion:
        wanted.pop("confusion")
        wanted.pop("routing")
    if cards.runs_considered == 0:
        wanted.pop("reliability")
    return {name: _png(make(cards)) for name, make in wanted.items()}


def _summary(cards: Scorecards) -> list[str]:
    lines = []
    if cards.labelled_accuracy is not None:
        lines.append(
            f"Labelled set: {cards.labelled_n} requests, routing accuracy "
            f"{cards.labelled_accuracy * 100:.1f}%."
        )
    lines.append(
        f"Run log: {cards.runs_considered} runs, {cards.feedback_considered} with feedback."
    )
    return lines


def render_markdown(cards: Scorecards, images: dict[str, str]) -> str:
    """The report as Markdown; ``images`` maps figure names to relative PNG paths."""
    out = ["# Agent scorecards", "", *_summary(cards), ""]
    out.append("| " + " | ".join(COLUMNS) + " |")
    out.append("|" + "---|" * len(COLUMNS))
    for row in table_rows(cards):
        out.append("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
    for name, path in images.items():
        out += ["", f"![{name}]({path})"]
    return "\n".join(out) + "\n"


def render_html(cards: Scorecards, pngs: dict[str, bytes]) -> str:
    """The report as one self-contained HTML page (plots embedded as data URIs)."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
        for row in table_rows(cards)
    )
    imgs = "".join(
        f'<h2>{html.escape(name)}</h2><img alt="{html.escape(name)}" '
        f'src="data:image/png;base64,{base64.b64encode(png).decode()}">'
        for name, png in pngs.items()
    )
    summary = "".join(f"<p>{html.escape(s)}</p>" for s in _summary(cards))
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Agent scorecards</title>"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:12px}</style></head><body>"
        f"<h1>Agent scorecards</h1>{summary}<table><tr>{head}</tr>{body}</table>{imgs}"
        "</body></html>\n"
    )


def write_report(cards: Scorecards, path: Path) -> Path:
    """Write the report to ``path`` (``.md``: plus PNGs in ``<stem>_files/``; ``.html``)."""
    suffix = path.suffix.lower()
    if suffix not in (".md", ".html", ".htm"):
        raise InvalidRequestError(
            f"report path {path} must end in .md or .html (the report format)"
        )
    pngs = _figures(cards)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".md":
        folder = path.parent / f"{path.stem}_files"
        folder.mkdir(exist_ok=True)
        images = {}
        for name, png in pngs.items():
            (folder / f"{name}.png").write_bytes(png)
            images[name] = f"{folder.name}/{name}.png"
        path.write_text(render_markdown(cards, images), "utf-8")
    else:
        path.write_text(render_html(cards, pngs), "utf-8")
    return path
