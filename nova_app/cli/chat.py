"""``nova chat``: an interactive session that keeps the graph loaded between turns.

Each turn streams the graph's steps, shows the route, then each agent's part; a clarifying
question or an approval is answered at the next prompt. The conversation is a checkpointed
thread: ``nova chat --thread T`` resumes it later. Commands: ``/feedback good|bad [AGENT]``,
``/new``, ``/thread``, ``/help``, ``/quit``. Ctrl-C stops a running turn (the thread stays);
Ctrl-D or ``/quit`` ends the session.
"""

from __future__ import annotations

import argparse
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported in run(), after the first progress line (rich loads in 0.1 s)
    from nova_app.cli.display import TerminalView

HELP = """commands:
  /feedback good|bad [AGENT]  rate the last answer (AGENT: who should have answered)
  /new                        start a new conversation thread
  /thread                     show this thread's id (resume it: nova chat --thread ID)
  /help                       this help
  /quit                       leave (Ctrl-D works too); Ctrl-C stops a running turn"""


def register(subparsers: Any) -> None:
    """Add the ``chat`` subcommand."""
    p = subparsers.add_parser("chat", help="talk to Nova interactively (keeps the graph loaded)")
    p.add_argument("--thread", default=None, help="conversation thread id to resume")
    p.add_argument("--data-dir", default=None, help="data directory (default: $NOVA_DATA_DIR)")
    p.set_defaults(func=run)


@dataclass
class ChatSession:
    """One chat: a loaded graph, the current thread, its pending question and the last run."""

    graph: Any
    view: TerminalView
    runlog: Any
    max_request_bytes: int
    thread: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    tokens: bool = True  # show model tokens as they arrive (a real model; offline has none)
    pending: list[Any] = field(default_factory=list)  # the questions the next input answers
    last_run: str | None = None
    last_graph_s: float = 0.0  # the graph's own time in the last turn (for the benchmark)
    # The run log is written after the answer is shown, on one background thread, in order
    # (a SQLite commit is a quarter of a turn's time); /feedback and leaving wait for it.
    _writer: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="nova-runlog")
    )
    _written: Future[str] | None = None

    @property
    def config(self) -> Any:
        """The run config of the current thread."""
        return {"configurable": {"thread_id": self.thread}}

    def resume_pending(self) -> None:
        """Pick up the questions the thread was waiting on when it was last left."""
        self.pending = list(self.graph.get_state(self.config).interrupts)
        self._show_pending()

    def _show_pending(self) -> None:
        for item in self.pending:
            self.view.interrupt(item.value, item.id if len(self.pending) > 1 else None)
        if len(self.pending) > 1:
            self.view.console.print(
                "one answer answers them all; or answer each: ID=ANSWER; ID=ANSWER", style="dim"
            )

    def turn(self, text: str) -> None:
        """Run one user input: a new request, or the answer to the pending question."""
        from nova_graph.streaming import resume_command

        if len(text.encode("utf-8", "replace")) > self.max_request_bytes:
            self.view.error(
                f"that input is {len(text.encode('utf-8', 'replace')):,} bytes; the limit is "
                f"{self.max_request_bytes:,} (NOVA_MAX_REQUEST_BYTES). Nothing was sent."
            )
            return
        payload: Any
        if self.pending:
            answers = [a.strip() for a in text.split(";")] if len(self.pending) > 1 else [text]
            payload = resume_command(self.pending, answers)  # bad answers raise, pending kept
        else:
            payload = {"messages": [{"role": "user", "content": text}]}
        self.pending = []
        started = time.perf_counter()
        try:
            self._stream(payload)
        finally:
            self.last_graph_s = busy = time.perf_counter() - started
        snapshot = self.graph.get_state(self.config)
        self.pending = list(snapshot.interrupts)
        if self.pending:
            self._show_pending()
            return
        state = snapshot.values
        self.view.outcome(state)
        from nova_graph.runlog import new_run_id

        self.last_run = new_run_id()
        self._written = self._writer.submit(
            self.runlog.record, state, busy * 1000, thread_id=self.thread, run_id=self.last_run
        )

    def flush(self) -> None:
        """Wait until the last turn's run is in the run log (it raises if the write failed)."""
        if self._written is not None:
            self._written.result()

    def _stream(self, payload: Any) -> None:
        from rich.live import Live
        from rich.text import Text

        from nova_graph.streaming import describe_update, stream_run

        # Redrawn on each event only (no refresh thread: it cost a fifth of a short turn).
        with Live(
            Text("thinking…", "dim"), console=self.view.console, transient=True, auto_refresh=False
        ) as status:
            status.refresh()
            for event in stream_run(self.graph, payload, self.config, tokens=self.tokens):
                if event.kind == "token":
                    tail = " ".join(str(event.data).split())[-60:]
                    status.update(Text(f"{event.node}: {tail}", "dim"), refresh=True)
                elif event.kind == "interrupt":
                    continue  # read from the thread's state afterwards (several may wait)
                elif isinstance(event.data, dict) and "routes" in event.data:
                    self.view.route(event.data.get("decision") or {}, event.data["routes"])
                    status.update(Text("agents working…", "dim"), refresh=True)
                else:
                    self.view.step(describe_update(event.node, event.data))

    def command(self, line: str, feedback: Any) -> bool:
        """Handle a ``/command``; False when the session should end."""
        name, _, rest = line.partition(" ")
        if name in ("/quit", "/exit", "/q"):
            return False
        if name == "/new":
            self.thread, self.pending, self.last_run = uuid.uuid4().hex[:12], [], None
            self.view.console.print(f"new thread: {self.thread}")
        elif name == "/thread":
            self.view.console.print(
                f"thread: {self.thread}  (resume: nova chat --thread {self.thread})"
            )
        elif name == "/feedback":
            words = rest.split()
            if not words or words[0] not in ("good", "bad") or len(words) > 2:
                self.view.error("usage: /feedback good|bad [AGENT]")
            elif self.last_run is None:
                self.view.error("no finished answer to rate yet in this thread")
            else:
                self.flush()
                fb = feedback(self.last_run, words[0], words[1] if len(words) > 1 else None)
                self.view.console.print(f"feedback recorded for run {fb.run_id}: {fb.verdict}")
        elif name == "/help":
            self.view.console.print(HELP, markup=False)
        else:
            self.view.error(f"unknown command {name}; /help lists them")
        return True


def run(args: argparse.Namespace) -> int:
    """Load the graph once, then read and answer inputs until /quit or Ctrl-D."""
    from nova_app.cli.warmup import announce, warm_up

    announced = announce()  # before LangGraph loads: a first run shows progress at once
    from nova_app import nova_graph_from_settings, nova_roster
    from nova_app.cli import loaded
    from nova_app.cli.display import TerminalView
    from nova_graph.errors import NovaError
    from nova_graph.from_settings import model_from_settings
    from nova_graph.improve.store import active_roster
    from nova_graph.models import describe_model, is_offline
    from nova_graph.private import private_file
    from nova_graph.runlog import RUNLOG_FILE, RunLog
    from nova_graph.settings import load_settings

    settings = load_settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
    warm_up(settings, announced=announced)
    view = TerminalView()
    model = model_from_settings(settings)
    with view.console.status("loading Nova…"):
        graph = nova_graph_from_settings(settings, model=model)
    runlog = RunLog(settings.data_dir / RUNLOG_FILE)
    session = ChatSession(graph, view, runlog, settings.max_request_bytes)
    session.tokens = not is_offline(model)
    if args.thread:
        session.thread = args.thread
    loaded()
    view.console.print(f"[bold]nova chat[/] · model: {describe_model(model)}", highlight=False)
    view.console.print(f"thread: {session.thread} · /help for commands", style="dim")
    session.resume_pending()

    def feedback(run_id: str, verdict: str, should_be: str | None) -> Any:
        names = active_roster(nova_roster(), settings.data_dir).names
        return runlog.add_feedback(run_id, verdict, should_be=should_be, known_agents=names)

    prompt = _prompt(private_file(settings.data_dir / "chat_history"))
    while True:
        try:
            text = prompt("answer› " if session.pending else "you› ").strip()
        except KeyboardInterrupt:
            continue  # Ctrl-C at the prompt clears the line
        except EOFError:
            break
        if not text:
            continue
        try:
            if text.startswith("/"):
                if not session.command(text, feedback):
                    break
                continue
            session.turn(text)
        except KeyboardInterrupt:
            view.error(f"stopped; the thread {session.thread} is kept (ask again or go on)")
            session.resume_pending()  # a question asked before the stop still waits
        except NovaError as exc:
            view.error(f"nova: {exc}")
    session.flush()
    view.console.print(f"bye · resume with: nova chat --thread {session.thread}", style="dim")
    return 0


def _prompt(history_path: Any) -> Any:
    """A line editor with history (prompt-toolkit) on a terminal, ``input`` otherwise."""
    import sys

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return input
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory

    return PromptSession(history=FileHistory(str(history_path))).prompt
