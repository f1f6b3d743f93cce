"""Rich terminal output for people (``nova chat``, and ``nova ask`` on a terminal).

Each agent's part under its own heading with its answer rendered as markdown, long tables cut
with a count of the rest, failed tools and failed agents shown as failures (in red), and the
offline notice once per session instead of under every answer. ``nova ask`` keeps the plain
:mod:`nova_app.cli.render` output when its output is piped, for scripts.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markdown import Markdown
from rich.rule import Rule
from rich.text import Text

from nova_app.cli.render import tool_failures
from nova_graph.models.offline import OFFLINE_NOTICE
from nova_graph.streaming import format_routes

#: Rows of a table (or lines of a listing) shown before the rest are counted instead.
MAX_ROWS = 12
_NOTICE_ONCE = (
    "offline mode: no language model is configured; answers come from the embedded offline "
    "model and the agents' tools (set OPENAI_API_KEY to use a real model)."
)


def cut_long_blocks(text: str, max_rows: int = MAX_ROWS) -> str:
    """Cut each pipe table, and each run of list-like lines, to ``max_rows`` rows plus a count."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        j = i
        is_table = lines[i].lstrip().startswith("|")
        while (
            j < len(lines) and lines[j].strip() and (lines[j].lstrip().startswith("|") == is_table)
        ):
            j += 1
        block = lines[i : max(j, i + 1)]
        keep = max_rows + (2 if is_table else 0)  # a table's header and rule are not rows
        if len(block) > keep + 1:
            rest = len(block) - keep
            block = [*block[:keep], "", f"*… and {rest} more {'rows' if is_table else 'lines'}*"]
        elif not is_table and len(block) > 1:
            block = [line + "  " for line in block]  # keep the lines apart in markdown
        out.extend(block)
        i = max(j, i + 1)
    return "\n".join(out)


class TerminalView:
    """Writes one session's turns to a rich ``Console``; remembers what it already said."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console if console is not None else Console(highlight=False)
        self.offline_noticed = False

    def step(self, line: str) -> None:
        """A progress line while the graph runs (dim)."""
        self.console.print(Text(f"· {line}", style="dim"))

    def route(self, decision: dict[str, Any], routes: list[str]) -> None:
        """The route this turn took."""
        shown = format_routes(decision, routes) if routes else "(none: out of scope)"
        self.console.print(Text.assemble(("route ", "bold cyan"), (shown, "cyan")))

    def outcome(self, state: dict[str, Any]) -> None:
        """Each agent's part (headed), failures, or the single answer of an out-of-scope turn."""
        routes = state.get("routes") or []
        results = state.get("results") or {}
        failed = 0
        for name in routes:
            result = results.get(name)
            if result is None:
                continue
            bad_tools = tool_failures(result["tool_calls"])
            status = "failed" if result["status"] != "ok" or bad_tools else "ok"
            style = "red" if status == "failed" else "green"
            tools = ", ".join(t["name"] for t in result["tool_calls"]) or "no tools"
            took = f"{tools}; {result['latency_ms']:.0f} ms"
            title = f"[bold]{name}[/] [{style}]{status}[/] [dim]{took}[/]"
            self.console.print(Rule(title, align="left", style=style))
            for call in bad_tools:
                failed += 1
                self.console.print(Text(f"✗ tool {call['name']} failed: {call['output']}", "red"))
            self._markdown(result["answer"])
        for f in state.get("failures") or []:
            failed += 1
            self.console.print(
                Rule(f"[bold]{f['agent']}[/] [red]failed[/]", align="left", style="red")
            )
            self.console.print(
                Text(f"✗ {f['error_type']}: {f['message']} (attempts: {f['attempts']})", "red")
            )
        if not any(results.get(n) for n in routes):
            messages = state.get("messages") or []
            if messages:
                self._markdown(str(messages[-1].content))
        if failed:
            self.console.print(Text(f"{failed} failure(s) in this turn", "bold red"))

    def interrupt(self, payload: Any, ident: str | None = None) -> None:
        """A clarifying question (with its options) or an approval request, to answer inline;
        ``ident`` is shown when several questions wait together."""
        if ident is not None:
            self.console.print(Text(f"[{ident}]", "dim"))
        if isinstance(payload, dict) and payload.get("type") == "approval":
            change = payload.get("change") or {}
            details = ", ".join(f"{k}={v}" for k, v in change.items())
            self.console.print(
                Text.assemble(
                    ("approval needed ", "bold yellow"), (str(payload["action"]), "yellow")
                )
            )
            if details:
                self.console.print(Text(f"  {details}", "yellow"))
            self.console.print(Text("  answer yes to apply, anything else to refuse", "dim"))
        elif isinstance(payload, dict) and "question" in payload:
            self.console.print(Text.assemble(("nova asks ", "bold yellow"), payload["question"]))
        else:
            self.console.print(Text(f"nova needs your input: {payload}", "yellow"))

    def notice_offline(self) -> None:
        """The offline notice, once per session."""
        if not self.offline_noticed:
            self.offline_noticed = True
            self.console.print(Text(_NOTICE_ONCE, "dim italic"))

    def error(self, message: str) -> None:
        """A problem with the user's input or the session (red, one line)."""
        self.console.print(Text(message, "bold red"))

    def _markdown(self, text: str) -> None:
        if OFFLINE_NOTICE in text:
            text = text.replace(OFFLINE_NOTICE, "").strip()
            self.notice_offline()
        self.console.print(Markdown(cut_long_blocks(text.strip())))
