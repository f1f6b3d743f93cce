"""The fault-and-attack scenarios of issue 19; each returns what it counted (the target is 0).

Shared by the tests (which assert each count) and ``benchmarks/attacks.py`` (which prints them).
Everything runs against the real graph (SQLite checkpointer, Chroma, temporary data dirs) and,
where a model server is needed, a real OpenAI-compatible server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import math
import os
import random
import secrets
import stat
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langgraph.types import Command

from nova_app import build_nova_graph
from nova_app.tools.erp_db import create_demo_erp
from nova_app.tools.general import make_tools as general_tools
from nova_app.tools.pipelines import PipelineRunner
from nova_graph.errors import NovaError, ThreadBusyError
from nova_graph.memory import ChromaMemory
from nova_graph.models import OfflineChatModel
from nova_graph.reliability import ReliabilityPolicy
from nova_graph.roster import Roster, load_roster
from nova_graph.routing.decision import RouteDecision
from nova_graph.testing import FunctionChatModel, HashingEncoder, TableRouter
from nova_graph.tools import ToolContext
from nova_graph.tools.effects import EFFECTS_DB, EffectLedger
from tests.side_effects import answer_all, ask, count, graph_for, script

ROSTER_FILE = Path(__file__).parent / "data" / "roster_small.yaml"
ROOT = Path(__file__).resolve().parent.parent


def small_roster() -> Roster:
    """Four agents with distinct tools (tests/data/roster_small.yaml)."""
    return load_roster(ROSTER_FILE)


def _ask(graph: Any, text: Any, thread: str, user: str | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {"thread_id": thread}
    if user is not None:
        config["user_id"] = user
    return dict(
        graph.invoke({"messages": [{"role": "user", "content": text}]}, {"configurable": config})
    )


# --- users kept apart -------------------------------------------------------------------------

SECRET = {"alice": "alice password is hunter2", "bob": "bob password is swordfish"}
SAVE, LOOK = "save my password", "what is my password"


def _memory_tool_model() -> FunctionChatModel:
    """Saves the secret named in the request, or recalls "password", via the memory tools."""

    def respond(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage:
        if isinstance(messages[-1], ToolMessage):
            return AIMessage(content=str(messages[-1].content))
        request = str(next(m for m in reversed(messages) if isinstance(m, HumanMessage)).content)
        if request.startswith("save"):
            text = request.split(": ", 1)[1]
            call = {"name": "remember", "args": {"text": text, "key": "password"}, "id": "r1"}
        else:
            call = {"name": "recall", "args": {"query": "password"}, "id": "r2"}
        return AIMessage(content="", tool_calls=[call])

    return FunctionChatModel(fn=respond)


def cross_user_leaks(root: Path) -> list[str]:
    """Two users save a keyed secret through the graph, then read it back through the graph's
    agent tools, the supervisor's recall, ``recall_decisions`` and the memory API (get/forget
    with the other user's ids, recall): every place one user's memory reached the other."""
    data_dir = root / "data"
    memory = ChromaMemory(str(root / "mem"), encoder=HashingEncoder(), update_detector=None)
    router = TableRouter(
        {
            **{f"{SAVE}: {s}": RouteDecision(agents=["stock"]) for s in SECRET.values()},
            LOOK: RouteDecision(agents=["stock"]),
        }
    )
    graph = build_nova_graph(
        roster=small_roster(),
        router=router,
        memory=memory,
        model=_memory_tool_model(),
        data_dir=data_dir,
    )
    leaks: list[str] = []
    ids: dict[str, str] = {}
    for user, secret in SECRET.items():  # same key "password" for both users
        state = _ask(graph, f"{SAVE}: {secret}", uuid.uuid4().hex, user)
        out = state["results"]["stock"]["tool_calls"][0]["output"]
        ids[user] = out.removeprefix("remembered as ")
    for user, other in (("alice", "bob"), ("bob", "alice")):
        state = _ask(graph, LOOK, uuid.uuid4().hex, user)
        answer = state["messages"][-1].content
        handed = [m["text"] for m in state["results"]["stock"]["memories"]]
        if SECRET[user] not in answer:  # the user's own tool-written memory is recalled
            leaks.append(f"{user} lost their memory")
        if SECRET[other] in answer:
            leaks.append(f"graph recall tool gave {other}'s memory to {user}")
        if SECRET[other] in handed:
            leaks.append(f"supervisor handed {other}'s memory to {user}")
        if [m.text for m in memory.recall("password", namespace=user)] != [SECRET[user]]:
            leaks.append(f"{other} overwrote or joined {user}'s keyed memory")
        if memory.get(ids[other], namespace=user) is not None:
            leaks.append(f"get by id read {other}'s memory as {user}")
        if memory.forget(ids[other], namespace=user):
            leaks.append(f"forget by id deleted {other}'s memory as {user}")
        got = memory.get(ids[user], namespace=user)
        if got is None or got.text != SECRET[user]:
            leaks.append(f"{user} cannot read their own memory by id")
        decisions = {
            t.name: t for t in general_tools(ToolContext(data_dir=data_dir, memory=memory))
        }
        said = decisions["recall_decisions"].invoke(
            {"topic": "password"}, {"configurable": {"user_id": user}}
        )
        if SECRET[other] in said or SECRET[user] not in said:
            leaks.append(f"recall_decisions for {user}: {said!r}")
    return leaks


# --- secrets kept out -------------------------------------------------------------------------

KEY = "planted" + secrets.token_hex(16)  # not key-shaped: only knowing the key redacts it
URL_PASSWORD = "urlpw" + secrets.token_hex(8)
WORDS = "how many words: alpha beta"
OUT_OF_SCOPE = "plan my grandmother's birthday party in Lisbon"


def occurrences(root: Path, *texts: str) -> int:
    """How many times KEY or URL_PASSWORD appear in the files under ``root`` and in ``texts``."""
    found = 0
    for needle in (KEY, URL_PASSWORD):
        raw = needle.encode()
        found += sum(p.read_bytes().count(raw) for p in root.rglob("*") if p.is_file())
        found += sum(t.count(needle) for t in texts)
    return found


def exception_text(exc: BaseException) -> str:
    """Everything an exception shows: its repr, message, causes and formatted traceback."""
    return "".join(traceback.format_exception(exc)) + repr(exc) + repr(exc.__cause__)


@contextlib.contextmanager
def captured(env: dict[str, str] | None = None) -> Iterator[io.StringIO]:
    """Capture stdout, stderr and log records (INFO and up) into one buffer, with ``env`` set
    and the process umask and environment restored afterwards (the CLI sets umask 077)."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setLevel(logging.INFO)
    log = logging.getLogger()
    level, umask = log.level, os.umask(0o022)
    os.umask(umask)
    saved = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    log.addHandler(handler)
    log.setLevel(min(level, logging.INFO) or logging.INFO)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            yield out
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
        os.umask(umask)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def cli(argv: list[str], env: dict[str, str]) -> tuple[int | str, str]:
    """Run ``nova`` in this process with ``env``; (exit code or the escaped exception, output)."""
    from nova_app.cli import main

    with captured({"NOVA_ROSTER_PATH": str(ROSTER_FILE), "NOVA_CHROMA_URL": "off", **env}) as out:
        try:
            code: int | str = main(argv)
        except SystemExit as exc:  # argparse: a usage message, not a traceback
            code = int(exc.code or 0)
        except Exception as exc:
            code = exception_text(exc)
    return code, out.getvalue()


def _echoing_model(base_url: str) -> Any:
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    return ChatOpenAI(
        model="m", api_key=SecretStr(KEY), base_url=base_url, max_retries=0, timeout=5
    )


def secret_leaks(root: Path) -> dict[str, int]:
    """Occurrences of the planted key (and a base-URL password) per failure mode: in every file
    under the mode's data dir, captured stdout/stderr/logs, the final state and any exception."""
    from langchain_openai import ChatOpenAI
    from pydantic import SecretStr

    from nova_graph.models import describe_model
    from nova_graph.routing import ModelRouteArbiter, SemanticRouter
    from nova_graph.runlog import RUNLOG_FILE, RunLog, logged_invoke
    from nova_graph.settings import NovaSettings
    from tests.support.openai_server import LocalOpenAIServer

    found: dict[str, int] = {}
    roster = small_roster()

    def graph_run(name: str, status: int, text: str, router: Any = None) -> None:
        data = root / name
        texts: list[str] = []
        with LocalOpenAIServer(lambda body: status, echo_auth=True) as srv, captured() as out:
            model = _echoing_model(srv.base_url)
            if router is None:
                chosen: Any = TableRouter({text: RouteDecision(agents=["words"])})
            else:
                chosen = router(model)
            try:
                graph = build_nova_graph(roster=roster, router=chosen, data_dir=data, model=model)
                state, _ = logged_invoke(
                    graph,
                    {"messages": [{"role": "user", "content": text}]},
                    {"configurable": {"thread_id": name}},
                    RunLog(data / RUNLOG_FILE),
                )
                texts.append(repr(state))
            except Exception as exc:
                texts.append(exception_text(exc))
            assert srv.requests, f"{name}: the model server was never called"
        found[name] = occurrences(data, out.getvalue(), *texts)

    def fallback_router(model: Any) -> Any:
        router = SemanticRouter.from_examples(roster.examples(), model=model)
        if router.arbiter is not None:
            router.arbiter.retry_interval = 0.01
        return router

    graph_run("agent model 401", 401, WORDS)
    graph_run("agent model 500", 500, WORDS)
    graph_run("router fallback 503", 503, OUT_OF_SCOPE, fallback_router)

    with LocalOpenAIServer(lambda body: 401, echo_auth=True) as srv, captured() as out:
        try:
            ModelRouteArbiter(_echoing_model(srv.base_url)).choose("anything", ["clock", "calc"])
            said = "no error"
        except Exception as exc:
            said = exception_text(exc)
    found["router fallback 401 raised"] = occurrences(root / "none", said, out.getvalue())

    data = root / "cli"
    outputs = []
    with LocalOpenAIServer(lambda body: 500, echo_auth=True) as srv:
        env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": srv.base_url}
        for i, text in enumerate([WORDS, OUT_OF_SCOPE]):
            code, shown = cli(["ask", text, "--data-dir", str(data), "--thread", f"c{i}"], env)
            outputs += [str(code), shown]
        outputs.append(cli(["runs", "--data-dir", str(data)], env)[1])
    found["nova ask + nova runs"] = occurrences(data, *outputs)

    url = f"http://nova:{URL_PASSWORD}@127.0.0.1:9/v1"
    settings = NovaSettings(
        openai_api_key=SecretStr(KEY), openai_base_url=url, data_dir=root / "url"
    )
    model = ChatOpenAI(model="m", api_key=SecretStr(KEY), base_url=url)
    shown_url = [repr(settings), str(settings.redacted()), describe_model(model)]
    env = {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": url}
    code, out_text = cli(["ask", WORDS, "--data-dir", str(root / "url")], env)
    found["base URL with a password"] = occurrences(root / "url", str(code), out_text, *shown_url)
    return found


# --- every write approved ---------------------------------------------------------------------

WRITE_TOOLS: dict[str, dict[str, Any]] = {
    "adjust_stock": {"part": "SP-1005", "quantity": 7},
    "create_purchase_order": {"part": "SP-1005", "quantity": 3},
    "receive_purchase_order": {"po_number": 1},
    "cancel_sales_order": {"order_number": 0},  # filled with a pending order below
    "mark_invoice_paid": {"invoice_number": 0},  # filled with an unpaid invoice below
    "update_part_price": {"part": "SP-1005", "new_price": 199.5},
    "add_reminder": {"text": "call Bob tomorrow"},
    "complete_reminder": {"reminder_id": 1},
    "save_research_note": {"note": "vinyl banners outsell acrylic"},
    "run_pipeline": {"pipeline": "harbour_bakery_site_deploy"},
    "retry_failed_run": {"run_id": 1},
    "retry_last_failure": {},
    "schedule_pipeline": {"pipeline": "nightly_backup", "time_of_day": "00:00"},
    "run_due_pipelines": {},
    "deploy_site": {"site": "harbour bakery"},
    "import_parts_feed": {},
    "backup_now": {},
    "run_test_suite": {},
}
STATE_FILES = {"checkpoints.sqlite", "checkpoints.sqlite.threads.lock", EFFECTS_DB}


def prepared(data: Path) -> dict[str, dict[str, Any]]:
    """A data dir where every write tool has something to act on; the args per tool."""
    erp = create_demo_erp(data)
    args = dict(WRITE_TOOLS)
    args["receive_purchase_order"] = {
        "po_number": count(erp, "SELECT MIN(id) FROM purchase_orders WHERE status='open'")
    }
    args["cancel_sales_order"] = {
        "order_number": count(erp, "SELECT MIN(id) FROM sales_orders WHERE status='pending'")
    }
    args["mark_invoice_paid"] = {
        "invoice_number": count(erp, "SELECT MIN(id) FROM invoices WHERE status='unpaid'")
    }
    general_tools(ToolContext(data_dir=data))[5].invoke({"text": "first reminder"})
    PipelineRunner(data).run("findasign_site_deploy")  # run 1 fails at check_links
    with PipelineRunner(data).db() as conn, conn:
        conn.execute(
            "INSERT INTO schedules(pipeline, time_of_day, created_at) VALUES ('nightly_backup', "
            "'00:00', '2025-01-01')"
        )
    return args


def fingerprint(data: Path) -> str:
    """A hash of every data file except the run's own bookkeeping (checkpoints, ledger)."""
    h = hashlib.sha256()
    for p in sorted(data.rglob("*")):
        if p.is_file() and p.name.split("-")[0] not in STATE_FILES:
            h.update(str(p.relative_to(data)).encode() + p.read_bytes())
    return h.hexdigest()


def unapproved_writes(root: Path) -> dict[str, Any]:
    """Every write tool, called by an agent through the graph and approved: which changed data
    before the approval, which ran without an approval in the state history, how many ran."""
    report: dict[str, Any] = {"unapproved": [], "changed_before_approval": [], "applied": 0}
    for tool in WRITE_TOOLS:
        data = root / tool
        calls = {"writer": (tool, prepared(data)[tool])}
        graph = graph_for(data, calls, script(calls))
        before = fingerprint(data)
        first = ask(graph)
        if [i.value["change"]["tool"] for i in first.get("__interrupt__", [])] != [tool]:
            report["unapproved"].append(f"{tool}: not asked before running")
        if fingerprint(data) != before:
            report["changed_before_approval"].append(tool)
        answer_all(graph, "yes")
        config: Any = {"configurable": {"thread_id": "writes"}}
        asked = {
            i.value["change"]["tool"]
            for snap in graph.get_state_history(config)
            for i in snap.interrupts
            if i.value.get("type") == "approval"
        }
        ledger = EffectLedger(data / EFFECTS_DB).counts()
        report["applied"] += ledger.get(tool, 0)
        report["unapproved"] += [t for t in ledger if t not in asked]
    return report


# --- nothing done twice -----------------------------------------------------------------------


def forked_step(argv: list[str]) -> int:
    """Run one ``tests.side_effects`` step in a child forked from a server that has imported
    the graph once (instead of a fresh interpreter per step); its exit code (-9 when killed)."""
    import multiprocessing

    from tests import side_effects

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.side_effects"])
    proc = ctx.Process(target=side_effects.main, args=(argv,))
    proc.start()
    proc.join(300)
    if proc.exitcode is None:
        proc.kill()
        proc.join()
    return int(proc.exitcode if proc.exitcode is not None else -9)


# --- typed errors on hostile input ------------------------------------------------------------

UNSURE = "count or compute this"
BASE_CORPUS: list[Any] = [
    "",
    "   ",
    "w" * 200_000,
    "bad\x00control\x1b[31m\x07\x7f",
    "lone \udc80 surrogate",
    "\ud800",
    '{"messages": [}',
    '{"a": ',
    "[[[[[[[[",
    "null",
    "\u202eevil rtl\u200b",
    "😀" * 5000,
    [{"type": "text", "text": [WORDS]}],
    [{"type": "text", "text": {"nested": [{"deeper": WORDS}]}}],
    [{"type": "image_url", "image_url": {"url": "file:///etc/passwd"}}],
    {"role": "user", "content": {"content": {"content": WORDS}}},
    None,
    math.nan,
    -(2**70),
    [[[[[[[["deep"]]]]]]]],
    {"": "", "\udc80": None},
]


def hostile_corpus(seed: int, n: int) -> list[Any]:
    """``BASE_CORPUS`` plus ``n`` seeded random values: odd strings, nested parts, malformed
    JSON, numbers and containers."""
    rng = random.Random(seed)
    ranges = [(0, 0x1F), (0x20, 0x7E), (0x80, 0x2FF), (0xD800, 0xDFFF), (0x1F600, 0x1F64F)]

    def text() -> str:
        lo, hi = rng.choice(ranges)
        size = rng.choice([0, 1, 5, 40, 300, 50_000])
        return "".join(chr(rng.randint(lo, hi)) for _ in range(size))

    def value(depth: int = 0) -> Any:
        kind = rng.randrange(7 if depth < 3 else 3)
        if kind == 0:
            return text()
        if kind == 1:
            return rng.choice([None, True, 0, -1, 1e308, math.inf, math.nan, 2**80])
        if kind == 2:
            return text()[:20] + rng.choice(['{"', "[1,", '{"a": [}', "\\u", '"'])
        if kind == 3:
            return [value(depth + 1) for _ in range(rng.randint(0, 3))]
        if kind == 4:
            return {"type": "text", "text": value(depth + 1)}
        if kind == 5:
            return {"type": rng.choice(["image_url", "tool_use", ""]), "x": value(depth + 1)}
        return {text()[:8]: value(depth + 1) for _ in range(rng.randint(0, 3))}

    return [*BASE_CORPUS, *(value() for _ in range(n))]


def _untyped(call: Callable[[], Any], where: str, found: list[str]) -> None:
    try:
        call()
    except NovaError:
        pass  # typed, with a message saying what to do
    except Exception as exc:
        found.append(f"{where}: {type(exc).__name__}: {str(exc)[:120]}")


def _entry_points(
    graph: Any, memory: ChromaMemory, value: Any, thread: Any
) -> list[tuple[str, Callable[[], Any]]]:
    """Every library entry point fed ``value`` (an ambiguous ask first leaves a question open)."""
    return [
        ("invoke content", lambda: graph.invoke(_payload(value), thread)),
        ("invoke message", lambda: graph.invoke({"messages": [value]}, thread)),
        ("invoke payload", lambda: graph.invoke(value, thread)),
        ("ask unsure", lambda: graph.invoke(_payload(UNSURE), thread)),
        ("Command(resume)", lambda: graph.invoke(Command(resume=value), thread)),
        ("Command(update)", lambda: graph.invoke(Command(update=value), thread)),
        ("update_state", lambda: graph.update_state(thread, value)),
        ("memory.remember", lambda: memory.remember(value, key=value, namespace="u")),
        ("memory.remember ns", lambda: memory.remember("x", namespace=value)),
        ("memory.recall", lambda: memory.recall(value, namespace="u")),
        ("memory.get", lambda: memory.get(value, namespace="u")),
        ("memory.forget", lambda: memory.forget(value, namespace=value)),
    ]


def untyped_exceptions(root: Path, corpus: list[Any], cli_cases: int = 10) -> dict[str, Any]:
    """Feed ``corpus`` to invoke (as content, message and whole payload), Command(resume=...),
    Command(update=...), update_state, the memory API and (its first ``cli_cases`` strings) the
    CLI; every exception that is not a ``NovaError``, and how many calls were made."""
    router = TableRouter(
        {
            WORDS: RouteDecision(agents=["words"]),
            UNSURE: RouteDecision(agents=["words", "calc"], ambiguous=True),
        }
    )
    graph = build_nova_graph(
        roster=small_roster(), router=router, data_dir=root / "data", model=OfflineChatModel()
    )
    memory = ChromaMemory(str(root / "mem"), encoder=HashingEncoder(), update_detector=None)
    found: list[str] = []
    calls = 0
    for i, value in enumerate(corpus):
        entry = _entry_points(graph, memory, value, {"configurable": {"thread_id": f"f{i}"}})
        for where, call in entry:
            calls += 1
            _untyped(call, where, found)
    strings = [v for v in corpus if isinstance(v, str)][:cli_cases]
    for i, value in enumerate(strings):
        for argv in (["ask", value], ["ask", "--thread", f"r{i}", "--resume", value]):
            calls += 1
            code, out = cli([*argv, "--data-dir", str(root / "cli")], {})
            if code not in (0, 2) or "Traceback" in out:
                found.append(f"cli {argv[1:]!r:.60}: {str(code)[:120]}")
    return {"calls": calls, "untyped": found}


def _payload(content: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": content}]}


# --- no lost turns ----------------------------------------------------------------------------


def lost_turns(root: Path, threads: int = 8, tasks: int = 8) -> dict[str, int]:
    """``threads`` OS threads and ``tasks`` asyncio tasks send turns to one thread_id at once:
    how many were answered, rejected with ``ThreadBusyError`` and lost (answered, not kept)."""
    texts = [f"calculate {i} + {i}" for i in range(threads + tasks)]

    def slow(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> str:
        time.sleep(0.05)  # long enough for the turns to overlap
        return "done"

    graph = build_nova_graph(
        roster=small_roster(),
        router=TableRouter({t: RouteDecision(agents=["math"]) for t in texts}),
        model=FunctionChatModel(fn=slow),
        data_dir=root,
        reliability=ReliabilityPolicy(thread_wait_seconds=60),
    )
    config: Any = {"configurable": {"thread_id": "shared"}}
    answered: list[str] = []
    rejected: list[str] = []
    lock = threading.Lock()

    def record(text: str, ok: bool) -> None:
        with lock:
            (answered if ok else rejected).append(text)

    def sync_turn(text: str) -> None:
        try:
            graph.invoke(_payload(text), config)
            record(text, True)
        except ThreadBusyError:
            record(text, False)

    async def async_turn(text: str) -> None:
        try:
            await graph.ainvoke(_payload(text), config)
            record(text, True)
        except ThreadBusyError:
            record(text, False)

    async def all_tasks() -> None:
        await asyncio.gather(*(async_turn(t) for t in texts[threads:]))

    workers = [threading.Thread(target=sync_turn, args=(t,)) for t in texts[:threads]]
    workers.append(threading.Thread(target=lambda: asyncio.run(all_tasks())))
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    kept = {
        str(m.content)
        for m in graph.get_state(config).values["messages"]
        if isinstance(m, HumanMessage)
    }
    return {
        "sent": len(texts),
        "answered": len(answered),
        "rejected": len(rejected),
        "lost": sum(t not in kept for t in answered),
    }


# --- private files ----------------------------------------------------------------------------


def shared_paths(root: Path) -> list[str]:
    """Paths under ``root`` (itself included) with any group/other permission bit."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode & 0o077:
            found.append(f"{oct(mode)} {path.relative_to(root)}")
    return found


def private_session(data: Path) -> None:
    """A realistic first session on a fresh data dir, under umask 022: an agent remembers a
    PIN through the graph, keyed memories are superseded, an approved backup runs (pipelines,
    ledger, backups) and the turns go to the run log."""
    from nova_graph.runlog import RUNLOG_FILE, RunLog, logged_invoke

    q = "how many brush heads are in stock"
    old = os.umask(0o022)  # a typical login umask: files would be 0644 unless made private
    try:
        memory = ChromaMemory(str(data / "chroma"), encoder=HashingEncoder(), update_detector=None)

        def remember(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage:
            if isinstance(messages[-1], ToolMessage):
                return AIMessage(content=str(messages[-1].content))
            call = {"name": "remember", "args": {"text": "bank PIN is 4321"}, "id": "r1"}
            return AIMessage(content="", tool_calls=[call])

        graph = build_nova_graph(
            roster=small_roster(),
            router=TableRouter({q: RouteDecision(agents=["stock"])}),
            memory=memory,
            model=FunctionChatModel(fn=remember),
            data_dir=data,
        )
        config = {"configurable": {"thread_id": uuid.uuid4().hex, "user_id": "ana"}}
        logged_invoke(graph, _payload(q), config, RunLog(data / RUNLOG_FILE))
        memory.remember("standup is at 9am", namespace="ana", key="standup")
        memory.remember("standup is at 10am", namespace="ana", key="standup")
        create_demo_erp(data)
        calls: dict[str, tuple[str, dict[str, Any]]] = {"writer": ("backup_now", {})}
        backup = graph_for(data, calls, script(calls))
        ask(backup)
        answer_all(backup, "yes")
    finally:
        os.umask(old)


def first_command_session(home: Path) -> subprocess.CompletedProcess[str]:
    """``nova ask`` as the very first command on a fresh data dir, under umask 022."""
    env = {**os.environ, "NOVA_DATA_DIR": str(home / "nova")}
    old = os.umask(0o022)
    try:
        return subprocess.run(
            [sys.executable, "-m", "nova_app", "ask", "what time is it"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=ROOT,
        )
    finally:
        os.umask(old)
