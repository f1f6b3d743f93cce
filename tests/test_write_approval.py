"""Every write is approved first and never happens twice: the approval gate and the ledger
through a real graph (SQLite checkpointer, temp data dir, scripted model)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langgraph.types import Command

from nova_app import nova_roster
from nova_app.tools import nova_tools
from nova_app.tools.erp_db import create_demo_erp
from nova_graph.errors import InvalidRequestError
from nova_graph.reliability import ReliabilityPolicy
from nova_graph.streaming import resume_command
from nova_graph.tools import ToolContext
from nova_graph.tools.approval import needs_approval
from nova_graph.tools.effects import EFFECTS_DB
from tests.attack_scenarios import WRITE_TOOLS, unapproved_writes
from tests.side_effects import answer_all, ask, count, graph_for, script


def test_the_registry_declares_exactly_the_audited_write_tools() -> None:
    registry = {t.name: t for t in nova_tools(ToolContext())}
    assert {n for n, t in registry.items() if needs_approval(t)} == set(WRITE_TOOLS)


def test_the_roster_table_shows_which_tools_need_approval() -> None:
    from nova_app.roster_doc import roster_table

    table = roster_table(nova_roster())
    gated = {row.rsplit("|", 2)[1] for row in table.splitlines() if row.startswith("| ")}
    shown = {t.strip(" `") for cell in gated for t in cell.split(",")} - {
        "-",
        "---",
        "Needs approval",
    }
    in_roster = {t for spec in nova_roster() for t in spec.tools}
    assert shown == set(WRITE_TOOLS) & in_roster and "import_parts_feed" in shown


def test_no_write_tool_changes_data_before_an_approval_in_the_state_history(
    tmp_path: Path,
) -> None:
    report = unapproved_writes(tmp_path)
    assert report["changed_before_approval"] == []
    assert report["unapproved"] == []  # 0 data-changing tool runs without an approval
    assert report["applied"] == len(WRITE_TOOLS)


def test_rejected_write_never_applies_even_when_the_agent_retries(tmp_path: Path) -> None:
    calls = {"writer": ("save_research_note", {"note": "secret plan"})}
    model = script(calls, fail_once=ConnectionError("model server reset"))
    graph = graph_for(tmp_path, calls, model)
    ask(graph)
    final = answer_all(graph, "no")
    assert "rejected" in final["messages"][-1].content
    assert not final.get("__interrupt__")  # "no" is not asked again after the retry
    notes = tmp_path / "general.sqlite"
    assert not notes.exists() or count(notes, "SELECT COUNT(*) FROM notes") == 0
    assert count(tmp_path / EFFECTS_DB, "SELECT COUNT(*) FROM effects WHERE status='rejected'") == 1


def test_transient_error_after_an_approved_write_neither_asks_again_nor_repeats(
    tmp_path: Path,
) -> None:
    create_demo_erp(tmp_path)
    erp = tmp_path / "erp.sqlite"
    before = count(erp, "SELECT COUNT(*) FROM purchase_orders")
    calls = {"writer": ("create_purchase_order", {"part": "SP-1005", "quantity": 3})}
    graph = graph_for(tmp_path, calls, script(calls, fail_once=ConnectionError("reset")))
    ask(graph)
    final = answer_all(graph, "yes")
    assert not final.get("__interrupt__"), "the applied change was asked for again"
    assert final["results"]["writer"]["attempts"] == 2
    assert count(erp, "SELECT COUNT(*) FROM purchase_orders") == before + 1
    assert count(erp, "SELECT COUNT(*) FROM applied_calls") == 1


def test_a_timed_out_attempt_is_not_repeated_by_the_retry(tmp_path: Path) -> None:
    import time

    calls = {"writer": ("backup_now", {})}
    slow: list[bool] = []
    base = script(calls)

    def reply(messages: Any, tools: Any) -> Any:
        out = base.fn(messages, tools)
        if isinstance(out, str) and not slow:  # after the backup: overrun the time limit once
            slow.append(True)
            time.sleep(1.0)
        return out

    policy = ReliabilityPolicy(timeout_seconds=0.5, initial_interval=0.01, jitter=False)
    graph = graph_for(tmp_path, calls, type(base)(fn=reply), policy)
    ask(graph)
    final = answer_all(graph, "yes")
    assert final["results"]["writer"]["status"] == "ok"
    assert len(list((tmp_path / "backups").glob("erp-*.sqlite"))) == 1
    assert count(tmp_path / "pipelines.sqlite", "SELECT COUNT(*) FROM runs") == 1


@pytest.mark.parametrize("kill", ["after_effect", "before_record"])
def test_kill_9_between_effect_and_checkpoint_then_resume_applies_once(
    tmp_path: Path, kill: str
) -> None:
    create_demo_erp(tmp_path)
    erp = tmp_path / "erp.sqlite"
    before = count(erp, "SELECT COUNT(*) FROM purchase_orders")
    args = json.dumps({"part": "SP-1005", "quantity": 3})

    def step(name: str, crash: str = "") -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "tests.side_effects", str(tmp_path), "create_purchase_order"]
        return subprocess.run(
            [*cmd, args, name, crash], capture_output=True, text=True, timeout=120
        )

    calls = {"writer": ("create_purchase_order", json.loads(args))}
    assert len(ask(graph_for(tmp_path, calls, script(calls)))["__interrupt__"]) == 1
    assert step("yes", kill).returncode == -9
    assert count(erp, "SELECT COUNT(*) FROM purchase_orders") == before + 1
    resumed = step("yes")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads(resumed.stdout)["pending"] == 0
    assert count(erp, "SELECT COUNT(*) FROM purchase_orders") == before + 1


def test_two_writes_pause_together_and_one_answer_resumes_both(tmp_path: Path) -> None:
    calls = {
        "notes": ("save_research_note", {"note": "banners sell"}),
        "reminders": ("add_reminder", {"text": "call Bob"}),
    }
    graph = graph_for(tmp_path, calls, script(calls))
    first = ask(graph)
    pending = first["__interrupt__"]
    assert len(pending) == 2
    config: Any = {"configurable": {"thread_id": "writes"}}
    final = graph.invoke(resume_command(pending, ["yes"]), config)
    assert not final.get("__interrupt__")
    db = tmp_path / "general.sqlite"
    assert count(db, "SELECT COUNT(*) FROM notes") == count(db, "SELECT COUNT(*) FROM reminders")
    assert count(db, "SELECT COUNT(*) FROM notes") == 1


def test_answers_per_question_and_mismatches_are_typed_errors(tmp_path: Path) -> None:
    calls = {
        "notes": ("save_research_note", {"note": "banners sell"}),
        "reminders": ("add_reminder", {"text": "call Bob"}),
    }
    graph = graph_for(tmp_path, calls, script(calls))
    pending = ask(graph)["__interrupt__"]
    note = next(p for p in pending if p.value["change"]["tool"] == "save_research_note")
    other = next(p for p in pending if p is not note)
    with pytest.raises(InvalidRequestError, match="no answer for the pending questions"):
        resume_command(pending, [f"{note.id}=yes"])
    with pytest.raises(InvalidRequestError, match="names no single pending question"):
        resume_command(pending, ["ffffffff=yes", f"{note.id}=yes"])
    with pytest.raises(InvalidRequestError, match="nothing is waiting"):
        resume_command([], ["yes"])
    config: Any = {"configurable": {"thread_id": "writes"}}
    command = resume_command(pending, [f"{note.id[:8]}=yes", f"{other.id}=no"])
    assert isinstance(command, Command)
    graph.invoke(command, config)
    db = tmp_path / "general.sqlite"
    assert count(db, "SELECT COUNT(*) FROM notes") == 1
    assert count(db, "SELECT COUNT(*) FROM reminders") == 0


def test_nova_ask_shows_every_pending_approval_and_resume_yes_answers_all(
    tmp_path: Path,
) -> None:
    from nova_app.cli.render import render_interrupt

    calls = {
        "notes": ("save_research_note", {"note": "banners sell"}),
        "reminders": ("add_reminder", {"text": "call Bob"}),
    }
    graph = graph_for(tmp_path, calls, script(calls))
    pending = ask(graph)["__interrupt__"]
    import io

    out = io.StringIO()
    for p in pending:
        render_interrupt(p.value, out, p.id)
    text = out.getvalue()
    assert all(p.id in text for p in pending) and text.count("Approve:") == 2
