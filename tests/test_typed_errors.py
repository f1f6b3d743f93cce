"""Every failure is a typed nova_graph error saying what to do; a fuzzed corpus finds no other."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langgraph.types import Command

from nova_app import build_nova_graph
from nova_app.cli import main
from nova_graph.checkpoint import sqlite_checkpointer
from nova_graph.errors import InvalidRequestError, NovaError, StorageError
from nova_graph.memory import ChromaMemory
from nova_graph.models import OfflineChatModel
from nova_graph.roster import Roster
from nova_graph.routing.decision import RouteDecision
from nova_graph.testing import HashingEncoder, TableRouter

WORDS = "how many words: alpha beta"
UNSURE = "count or compute this"
ROSTER_FILE = Path(__file__).parent / "data" / "roster_small.yaml"


def _router() -> TableRouter:
    return TableRouter(
        {
            WORDS: RouteDecision(agents=["words"]),
            UNSURE: RouteDecision(agents=["words", "calc"], ambiguous=True),
        }
    )


def _ask(content: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": content}]}


def test_a_full_disk_is_a_storage_error_and_the_thread_is_kept(
    small_roster: Roster, data_dir: Path
) -> None:
    saver = sqlite_checkpointer(data_dir / "checkpoints.sqlite")
    graph = build_nova_graph(
        roster=small_roster, router=_router(), checkpointer=saver, model=OfflineChatModel()
    )
    pages = saver.conn.execute("PRAGMA page_count").fetchone()[0]
    saver.conn.execute(f"PRAGMA max_page_count={pages}")  # the disk is now full
    with pytest.raises(StorageError, match="free disk space"):
        graph.invoke(_ask(WORDS + " " + "gamma " * 2000), {"configurable": {"thread_id": "f"}})


def test_a_data_dir_that_cannot_be_created_is_a_storage_error(
    small_roster: Roster, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageError, match="data directory"):
        build_nova_graph(roster=small_roster, router=_router(), data_dir=blocker)


def test_list_of_parts_content_is_accepted(small_roster: Roster, data_dir: Path) -> None:
    graph = build_nova_graph(
        roster=small_roster, router=_router(), data_dir=data_dir, model=OfflineChatModel()
    )
    state = graph.invoke(
        _ask([{"type": "text", "text": WORDS}]), {"configurable": {"thread_id": "p"}}
    )
    assert state["results"]["words"]["status"] == "ok"


def test_a_text_part_whose_text_is_not_a_string_is_a_typed_error(
    small_roster: Roster, data_dir: Path
) -> None:
    graph = build_nova_graph(
        roster=small_roster, router=_router(), data_dir=data_dir, model=OfflineChatModel()
    )
    with pytest.raises(InvalidRequestError, match="must be a string"):
        graph.invoke(
            _ask([{"type": "text", "text": [WORDS]}]), {"configurable": {"thread_id": "x"}}
        )


def test_cli_with_an_unusable_data_dir_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("NOVA_ROSTER_PATH", str(ROSTER_FILE))
    monkeypatch.setenv("NOVA_CHROMA_URL", "off")
    assert main(["ask", WORDS, "--data-dir", str(blocker)]) == 2
    assert "data directory" in capsys.readouterr().err


HOSTILE = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x1F), max_size=20),
    st.text(alphabet=st.characters(categories=["Cs"]), min_size=1, max_size=5),
    st.builds(lambda n: "w" * n, st.integers(min_value=30_000, max_value=300_000)),
    st.just(""),
    st.just(WORDS),
)
PARTS = st.lists(
    st.one_of(
        HOSTILE,
        st.fixed_dictionaries(
            {"type": st.just("text"), "text": st.one_of(HOSTILE, st.lists(HOSTILE))}
        ),
        st.fixed_dictionaries({"type": st.just("image_url"), "image_url": st.just({"url": "x"})}),
        st.integers(),
    ),
    max_size=3,
)
ODD = st.one_of(
    HOSTILE,
    PARTS,
    st.none(),
    st.integers(),
    st.floats(allow_nan=True),
    st.lists(HOSTILE, max_size=3),
    st.dictionaries(st.text(max_size=8), HOSTILE, max_size=3),
)
FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture()
def fuzz_graph(small_roster: Roster, data_dir: Path) -> Any:
    return build_nova_graph(
        roster=small_roster, router=_router(), data_dir=data_dir, model=OfflineChatModel()
    )


def _only_typed(call: Any) -> None:
    with contextlib.suppress(NovaError):  # typed: fine (every other exception fails the test)
        call()


@FUZZ
@given(content=ODD, shape=st.sampled_from(["messages", "dict", "raw"]))
def test_fuzzed_invoke_raises_only_typed_errors(fuzz_graph: Any, content: Any, shape: str) -> None:
    payload = {"messages": [content]} if shape == "dict" else content
    if shape == "messages":
        payload = _ask(content)
    _only_typed(lambda: fuzz_graph.invoke(payload, {"configurable": {"thread_id": "fz"}}))


@FUZZ
@given(resume=ODD, update=ODD)
def test_fuzzed_resume_and_update_raise_only_typed_errors(
    fuzz_graph: Any, resume: Any, update: Any
) -> None:
    config = {"configurable": {"thread_id": "rz"}}
    _only_typed(lambda: fuzz_graph.invoke(_ask(UNSURE), config))
    _only_typed(lambda: fuzz_graph.invoke(Command(resume=resume), config))
    _only_typed(lambda: fuzz_graph.invoke(Command(update=update), config))
    _only_typed(lambda: fuzz_graph.update_state(config, update))


@settings(max_examples=25, deadline=None, derandomize=True)
@given(text=ODD, key=st.one_of(st.none(), HOSTILE), namespace=HOSTILE)
def test_fuzzed_memory_api_raises_only_typed_errors(text: Any, key: Any, namespace: Any) -> None:
    memory = _MEMORY
    _only_typed(lambda: memory.remember(text, key=key, namespace=namespace))
    _only_typed(lambda: memory.recall(text, namespace=namespace))
    _only_typed(lambda: memory.get(text, namespace=namespace))
    _only_typed(lambda: memory.forget(text, namespace=namespace))


_MEMORY = ChromaMemory(encoder=HashingEncoder(), update_detector=None)


@pytest.mark.parametrize(
    "argv",
    [
        ["ask", ""],
        ["ask", "   "],
        ["ask", "w" * 200_000],
        ["ask", "bad\x00control\x1b[31m"],
        ["ask", "lone \udc80 surrogate"],
        ["ask", "--thread", "t", "--resume", ""],
        ["ask", "--thread", "t", "--resume", "z" * 10_000],
        ["ask", '{"messages": [}'],
    ],
    ids=["empty", "blank", "huge", "control", "surrogate", "empty-resume", "huge-resume", "json"],
)
def test_hostile_cli_arguments_exit_with_a_message_not_a_traceback(
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("NOVA_ROSTER_PATH", str(ROSTER_FILE))
    monkeypatch.setenv("NOVA_CHROMA_URL", "off")
    code = main([*argv, "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code in (0, 2)
    assert "Traceback" not in err
