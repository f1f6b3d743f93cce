"""``nova chat`` driven through a pseudo-terminal, and ``nova ask`` showing tool errors as failures.

The sessions are real processes on the offline default (the calibrated router, the embedded
model, real ERP tools on demo data in a temporary data directory).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "you›"
ANSWER = "answer›"


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "NOVA_DATA_DIR": str(data_dir),
        "NO_COLOR": "1",
        "TERM": "xterm",
        "PROMPT_TOOLKIT_NO_CPR": "1",
    }
    env.pop("OPENAI_API_KEY", None)
    return {**env, **extra}


def _chat(data_dir: Path, *args: str, **extra: str) -> pexpect.spawn:
    return pexpect.spawn(
        sys.executable,
        ["-m", "nova_app.cli", "chat", *args],
        env=_env(data_dir, **extra),
        cwd=str(ROOT),
        dimensions=(60, 220),
        encoding="utf-8",
        timeout=180,
    )


def _thread_of(child: pexpect.spawn) -> str:
    child.expect(r"thread: ([0-9a-f]{12})")
    return str(child.match.group(1))


def test_scripted_chat_session_answers_inline_and_resumes_its_thread(tmp_path: Path) -> None:
    child = _chat(tmp_path, NOVA_MAX_REQUEST_BYTES="2000")
    thread = _thread_of(child)
    child.expect_exact(PROMPT)
    child.sendline("")  # an empty line is ignored
    child.expect_exact(PROMPT)
    # A question that needs a clarification, answered inline.
    child.sendline("side brushes")
    child.expect_exact("Did you mean")
    child.expect_exact(ANSWER)
    child.sendline("1")
    child.expect(r"erp_\w+ \(")
    child.expect_exact(PROMPT)
    # An ERP write: the approval is answered inline and the order is created once.
    child.sendline("create a purchase order for 20 drive belts")
    child.expect_exact("approval needed")
    child.expect_exact(ANSWER)
    child.sendline("yes")
    child.expect(r"Created purchase order \d+")
    child.expect_exact(PROMPT)
    # A huge paste is refused with the limit named; the session goes on.
    child.sendline("x" * 3000)
    child.expect_exact("the limit is 2,000")
    child.expect_exact(PROMPT)
    # A follow-up, then small talk, rated with /feedback.
    child.sendline("hey nova, how's it going?")
    child.expect_exact("All good here")
    child.expect_exact(PROMPT)
    child.sendline("/feedback good")
    child.expect_exact("feedback recorded for run")
    child.expect_exact(PROMPT)
    child.sendintr()  # Ctrl-C at the prompt clears the line, nothing more
    child.expect_exact(PROMPT)
    child.sendline("/quit")
    child.expect_exact(f"resume with: nova chat --thread {thread}")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    # Resumed later: the same thread, its history intact, and Ctrl-D ends the session.
    child = _chat(tmp_path, "--thread", thread)
    assert _thread_of(child) == thread
    child.expect_exact(PROMPT)
    child.sendline("/thread")
    child.expect_exact(f"thread: {thread}")
    child.expect_exact(PROMPT)
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    from langgraph.checkpoint.sqlite import SqliteSaver

    with SqliteSaver.from_conn_string(str(tmp_path / "checkpoints.sqlite")) as saver:
        saved = saver.get_tuple({"configurable": {"thread_id": thread}})
    assert saved is not None
    said = [str(m.content) for m in saved.checkpoint["channel_values"]["messages"]]
    assert "create a purchase order for 20 drive belts" in said
    assert "hey nova, how's it going?" in said


def test_ctrl_c_during_a_turn_keeps_the_session_and_its_thread(tmp_path: Path) -> None:
    child = _chat(tmp_path)
    thread = _thread_of(child)
    child.expect_exact(PROMPT)
    child.sendline("list the declared pipelines")
    child.sendintr()  # lands while the turn runs (or just after): never a crash
    child.expect_exact(PROMPT)
    child.sendline("what time is it right now?")
    child.expect(r"general_chat \(")
    child.expect_exact(PROMPT)
    child.sendline("/quit")
    child.expect_exact(f"resume with: nova chat --thread {thread}")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "Traceback" not in (child.before or "")


def _ask(data_dir: Path, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "nova_app.cli", "ask", *args],
        env=_env(data_dir),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        check=True,
    ).stdout


def test_piped_ask_shows_a_tool_error_as_a_failure(tmp_path: Path) -> None:
    # Cancelling an order that does not exist: approved, then the tool raises ToolError.
    asked = _ask(tmp_path, "cancel sales order 99999")
    found = re.search(r"thread: ([0-9a-f]{12})", asked)
    assert found is not None and "Approve: cancel sales order 99999" in asked
    out = _ask(tmp_path, "--thread", found.group(1), "--resume", "yes")
    assert "erp_sales_orders FAILED (tool error)" in out
    assert re.search(r"\[erp_sales_orders\] failed \(tool error\)", out)
    assert "FAILED [erp_sales_orders] tool cancel_sales_order: TOOL ERROR (ToolError): " in out
    assert "] ok;" not in out
    assert "\x1b[" not in out  # piped output stays plain


@pytest.mark.parametrize(
    "text",
    ["hey nova, how's it going?", "Hello!", "thanks nova", "good morning"],
)
def test_offline_model_answers_small_talk_and_says_once_it_has_no_model(text: str) -> None:
    from langchain_core.messages import HumanMessage

    from nova_graph.models import OfflineChatModel
    from nova_graph.models.offline import OFFLINE_NOTICE

    reply = str(OfflineChatModel().invoke([HumanMessage(text)]).content)
    assert "without a language model" not in reply
    assert reply.count(OFFLINE_NOTICE) == 1
    assert len(reply.replace(OFFLINE_NOTICE, "").strip()) > 10


def test_offline_model_leaves_requests_with_a_task_to_the_tools() -> None:
    from nova_graph.models.small_talk import small_talk_reply

    assert small_talk_reply("hey nova, check the stock of brush heads") is None
    assert small_talk_reply("hello there") is not None
