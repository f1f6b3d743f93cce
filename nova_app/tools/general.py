"""General-family tools: clock and arithmetic, day planning, decision recall from memory,
project status across the businesses, reminders and research notes (SQLite)."""

from __future__ import annotations

import ast
import operator
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, tool

from nova_app.tools import erp_db
from nova_app.tools.matching import keywords
from nova_graph.errors import ToolError
from nova_graph.tools.approval import writes
from nova_graph.tools.context import ToolContext
from nova_graph.tools.private_db import open_private_db

GENERAL_DB = "general.sqlite"
MAX_TEXT = 4000

_OPS: dict[type[ast.operator | ast.unaryop], Callable[..., Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.USub: operator.neg,
    ast.Mod: operator.mod,
}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS reminders (
    id INTEGER PRIMARY KEY, text TEXT NOT NULL, due_on TEXT, created_at TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS notes (
    id INTEGER PRIMARY KEY, text TEXT NOT NULL, created_at TEXT NOT NULL);
"""
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_LEAD_IN = re.compile(
    r"^\s*(?:please\s+)?(?:(?:set\s+(?:a\s+)?)?remind(?:er)?\s+(?:me\s+)?(?:to\s+|that\s+|about\s+)?|"
    r"(?:save|add|keep|store|jot down|write down|take)\s+(?:a\s+|this\s+)?(?:research\s+)?"
    r"(?:note|notes)?\s*(?:that|about|on)?\s*:?\s*)",
    re.IGNORECASE,
)


def _evaluate(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _evaluate(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        if isinstance(node.op, ast.Pow) and abs(_evaluate(node.right)) > 100:
            raise ToolError("exponent too large; keep exponents within ±100")
        return float(_OPS[type(node.op)](_evaluate(node.left), _evaluate(node.right)))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
        return float(_OPS[type(node.op)](_evaluate(node.operand)))
    raise ToolError("only numbers and + - * / % ** and parentheses are allowed")


def parse_due(text: str, today: date) -> date | None:
    """A due date named in ``text``: today, tomorrow, in N days, next week, a weekday, ISO."""
    low = text.lower()
    if m := re.search(r"\b(20\d\d-\d\d-\d\d)\b", low):
        try:
            return date.fromisoformat(m[1])
        except ValueError:
            raise ToolError(f"{m[1]} is not a valid date; use YYYY-MM-DD") from None
    if "tomorrow" in low:
        return today + timedelta(days=1)
    if "today" in low or "tonight" in low:
        return today
    if m := re.search(r"\bin (\d{1,3}) days?\b", low):
        return today + timedelta(days=int(m[1]))
    if "next week" in low:
        return today + timedelta(days=7)
    for i, day in enumerate(_WEEKDAYS):
        if re.search(rf"\b{day}\b", low):
            return today + timedelta(days=(i - today.weekday()) % 7 or 7)
    return None


def _clean(text: str, what: str) -> str:
    body = _LEAD_IN.sub("", text or "", count=1).strip() or (text or "").strip()
    if not body:
        raise ToolError(f"the {what} is empty; say what to remember")
    if len(body) > MAX_TEXT:
        raise ToolError(f"the {what} is {len(body)} characters; keep it under {MAX_TEXT}")
    return body


def _memory_text(item: Any) -> str:
    for attr in ("text", "content", "page_content"):
        value = getattr(item, attr, None)
        if isinstance(value, str):
            return value
    if isinstance(item, dict):
        return str(item.get("text") or item.get("content") or item)
    return str(item)


def make_tools(ctx: ToolContext) -> list[BaseTool]:
    """The general family's tools."""

    @contextmanager
    def db() -> Iterator[sqlite3.Connection]:
        with open_private_db(ctx.ensure_data_dir() / GENERAL_DB, _SCHEMA) as conn:
            yield conn

    def today() -> date:
        return datetime.now(UTC).date()

    @tool
    def current_time() -> str:
        """Current date and time in UTC (ISO 8601); use for questions about today's date or time."""
        return datetime.now(UTC).isoformat(timespec="seconds")

    @tool
    def calculate(expression: str) -> str:
        """Calculate an arithmetic expression such as '12 * (3 + 4)'; + - * / % ** only."""
        expr = expression.strip()
        if "=" in expr or not expr:
            expr = expr.split("=")[0].strip()
        candidate = "".join(ch for ch in expr if ch in "0123456789.+-*/%() ")
        if not candidate.strip():
            raise ToolError(f"no arithmetic expression found in {expression!r}")
        try:
            tree = ast.parse(candidate.strip(), mode="eval")
        except SyntaxError as exc:
            raise ToolError(
                f"cannot parse {candidate.strip()!r} as arithmetic: {exc.msg}"
            ) from None
        try:
            value = _evaluate(tree)
        except ZeroDivisionError:
            raise ToolError("division by zero") from None
        return f"{candidate.strip()} = {value:g}"

    def open_reminders(conn: sqlite3.Connection, until: date | None = None) -> list[sqlite3.Row]:
        return conn.execute(
            "SELECT * FROM reminders WHERE done=0 AND (? IS NULL OR (due_on IS NOT NULL AND "
            "due_on<=?)) ORDER BY due_on IS NULL, due_on, id",
            (until and until.isoformat(), until and until.isoformat()),
        ).fetchall()

    def business_lines() -> list[str]:
        from nova_app.tools.pipelines.runner import PipelineRunner

        lines: list[str] = []
        conn = erp_db.connect(ctx.ensure_data_dir())
        try:
            ref = erp_db.as_of(conn).isoformat()
            pending = conn.execute(
                "SELECT COUNT(*) FROM sales_orders WHERE status='pending'"
            ).fetchone()[0]
            overdue, owed = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(amount),0) FROM invoices "
                "WHERE status='unpaid' AND due_on<?",
                (ref,),
            ).fetchone()
            low = conn.execute(
                "SELECT COUNT(*) FROM parts p JOIN stock s ON s.part_id=p.id "
                "WHERE s.on_hand - s.reserved <= p.reorder_level"
            ).fetchone()[0]
            open_po = conn.execute(
                "SELECT COUNT(*) FROM purchase_orders WHERE status='open'"
            ).fetchone()[0]
        finally:
            conn.close()
        lines.append(
            f"Sweeper Parts (ERP, as of {ref}): {pending} sales orders pending, {overdue} "
            f"overdue invoices (£{owed:,.2f}), {low} parts at/below reorder level, "
            f"{open_po} purchase orders open"
        )
        runner = PipelineRunner(ctx.data_dir)
        for spec in runner.pipelines.values():
            runs = runner.recent_runs(spec.name, limit=1)
            last = (
                f"last run {runs[0]['status']} ({runs[0]['started_at']})" if runs else "never run"
            )
            lines.append(f"{spec.business} - {spec.name}: {last}")
        return lines

    @tool
    def plan_my_day() -> str:
        """Plan my day: priorities from due reminders, overdue invoices, low stock, failed runs."""
        with db() as conn:
            due = open_reminders(conn, until=today())
        items = [f"Reminder #{r['id']}: {r['text']} (due {r['due_on']})" for r in due]
        items += [line for line in business_lines() if "failed" in line or "overdue" in line]
        if not items:
            return "Nothing urgent: no reminders due, no failed runs. A good day for deep work."
        return "Today's priorities, most urgent first:\n" + "\n".join(
            f"{i}. {t}" for i, t in enumerate(items, start=1)
        )

    @tool
    def recall_decisions(topic: str, config: RunnableConfig) -> str:
        """Recall what I decided before about a topic, from the long-term memory of decisions."""
        from nova_graph.memory.integration import run_namespace

        if ctx.memory is None:
            return (
                "No long-term memory is configured, so I cannot look up past decisions. "
                "Build the graph with a memory (nova_graph.memory) to enable this."
            )
        try:
            # The asking user's own namespace: one user never sees another's decisions.
            namespace = run_namespace(config, ctx.memory_namespace)
            found = ctx.memory.recall(topic, namespace=namespace, k=5)
        except Exception as exc:  # the memory is another component; report, don't crash
            return f"The memory could not be searched: {exc}"
        if not found:
            return f"I found no recorded decision about {topic!r}."
        return "Past decisions I found:\n" + "\n".join(f"- {_memory_text(m)}" for m in found)

    @tool
    def project_status(business: str = "") -> str:
        """Project status across the businesses: Sweeper Parts ERP, Find a Sign, AIREP, sites."""
        lines = business_lines()
        wanted = keywords(business)
        if wanted:
            chosen = [ln for ln in lines if wanted & keywords(ln.split(":")[0])]
            lines = chosen or lines
        return "\n".join(lines)

    @tool
    def add_reminder(text: str) -> str:
        """Add a reminder (remind me to ...), with an optional due day like 'tomorrow'."""
        body = _clean(text, "reminder")
        due = parse_due(body, today())
        with db() as conn, conn:
            cur = conn.execute(
                "INSERT INTO reminders(text, due_on, created_at) VALUES (?,?,?)",
                (body, due and due.isoformat(), datetime.now(UTC).isoformat(timespec="seconds")),
            )
        return f"Reminder #{cur.lastrowid} saved: {body}" + (f" (due {due})" if due else "")

    @tool
    def list_reminders() -> str:
        """List my open reminders, soonest due first."""
        with db() as conn:
            rows = open_reminders(conn)
        if not rows:
            return "You have no open reminders."
        return "\n".join(f"#{r['id']}: {r['text']} (due {r['due_on'] or 'any time'})" for r in rows)

    @tool
    def complete_reminder(reminder_id: int) -> str:
        """Mark a reminder as done (complete, tick off) by its number."""
        with db() as conn, conn:
            cur = conn.execute("UPDATE reminders SET done=1 WHERE id=? AND done=0", (reminder_id,))
        if cur.rowcount == 0:
            return f"No open reminder #{reminder_id}; list reminders to see their numbers."
        return f"Reminder #{reminder_id} marked done."

    @tool
    def save_research_note(note: str) -> str:
        """Save a research note (a finding, link or idea) to the notes store."""
        body = _clean(note, "note")
        with db() as conn, conn:
            cur = conn.execute(
                "INSERT INTO notes(text, created_at) VALUES (?,?)",
                (body, datetime.now(UTC).isoformat(timespec="seconds")),
            )
        return f"Research note #{cur.lastrowid} saved."

    @tool
    def search_research_notes(query: str) -> str:
        """Search my research notes for a topic; best matches first."""
        wanted = keywords(query) - {"note", "research", "search", "notes"}
        with db() as conn:
            rows = conn.execute("SELECT * FROM notes ORDER BY id DESC").fetchall()
        if not rows:
            return "There are no research notes yet."
        scored = sorted(
            ((len(wanted & keywords(r["text"])), r) for r in rows),
            key=lambda s: -s[0],
        )
        hits = [r for s, r in scored if s > 0] if wanted else [r for _, r in scored]
        if not hits:
            return f"No research note mentions {', '.join(sorted(wanted))}."
        return "\n".join(f"#{r['id']} ({r['created_at'][:10]}): {r['text']}" for r in hits[:10])

    writes(add_reminder, action="add the reminder {text!r}")
    writes(complete_reminder, action="mark reminder #{reminder_id} as done")
    writes(save_research_note, action="save the research note {note!r}")
    return [
        current_time, calculate, plan_my_day, recall_decisions, project_status,
        add_reminder, list_reminders, complete_reminder, save_research_note,
        search_research_notes,
    ]  # fmt: skip
