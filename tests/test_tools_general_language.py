"""General and language tools run for real; language tools use a model only when configured."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeListChatModel

from nova_app.tools.general import make_tools as general_tools
from nova_app.tools.language import make_tools as language_tools
from nova_graph.memory import Memory, MemoryStore
from nova_graph.models import OfflineChatModel
from nova_graph.tools.context import ToolContext


def _g(d: Path) -> dict:
    return {t.name: t for t in general_tools(ToolContext(data_dir=d))}


def _lang(model: object = None) -> dict:
    return {t.name: t for t in language_tools(ToolContext(model=model))}


def test_clock_and_calculator(tmp_path: Path) -> None:
    tools = _g(tmp_path)
    assert tools["current_time"].invoke({})[:2] == "20"
    assert tools["calculate"].invoke({"expression": "calculate 17 * 23"}).endswith("= 391")


def test_reminders_are_stored_listed_and_completed(tmp_path: Path) -> None:
    tools = _g(tmp_path)
    assert "(due " in tools["add_reminder"].invoke({"text": "remind me to call Bob tomorrow"})
    assert "#1: call Bob tomorrow" in tools["list_reminders"].invoke({})
    assert "marked done" in tools["complete_reminder"].invoke({"reminder_id": 1})
    assert "no open reminders" in tools["list_reminders"].invoke({})
    assert (tmp_path / "general.sqlite").stat().st_mode & 0o777 == 0o600


def test_research_notes_are_saved_and_found_by_topic(tmp_path: Path) -> None:
    tools = _g(tmp_path)
    tools["save_research_note"].invoke({"note": "save a note: vinyl banners outsell acrylic"})
    tools["save_research_note"].invoke({"note": "Chroma handles a million vectors"})
    out = tools["search_research_notes"].invoke({"query": "what did I note about banners"})
    assert "vinyl banners" in out and "Chroma" not in out


def test_project_status_and_day_plan_read_the_erp_and_pipelines(tmp_path: Path) -> None:
    tools = _g(tmp_path)
    status = tools["project_status"].invoke({})
    assert "Sweeper Parts (ERP" in status and "findasign_site_deploy: never run" in status
    assert "overdue invoices" in tools["plan_my_day"].invoke({})


class _Memory:
    """A user's own memory store (not ChromaMemory) satisfying the MemoryStore protocol."""

    def __init__(self) -> None:
        self.memories: list[Memory] = []

    def remember(
        self,
        text: str,
        *,
        namespace: str,
        key: str | None = None,
        ttl: timedelta | float | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        now = datetime.now(UTC)
        mid = f"m{len(self.memories)}"
        self.memories.append(
            Memory(id=mid, text=text, namespace=namespace, created_at=now, valid_from=now)
        )
        return mid

    def recall(
        self,
        query: str,
        *,
        namespace: str,
        k: int = 5,
        now: datetime | None = None,
        agent: str | None = None,
        family: str | None = None,
    ) -> list[Memory]:
        assert namespace == "default"  # the run's namespace (no user_id here), never a shared one
        words = set(query.lower().split())
        hits = [
            m for m in self.memories if m.namespace == namespace and words & set(m.text.split())
        ]
        return hits[:k]


def test_recall_decisions_uses_memory_when_present(tmp_path: Path) -> None:
    assert "No long-term memory" in _g(tmp_path)["recall_decisions"].invoke({"topic": "x"})
    store = _Memory()
    assert isinstance(store, MemoryStore)
    store.remember("2025-03-01: Find a Sign commission stays at 8%", namespace="default")
    tools = {t.name: t for t in general_tools(ToolContext(data_dir=tmp_path, memory=store))}
    assert "8%" in tools["recall_decisions"].invoke({"topic": "commission rates"})
    assert "no recorded decision" in tools["recall_decisions"].invoke({"topic": "hiring"})


def test_model_tools_say_plainly_that_a_model_is_needed_offline() -> None:
    for model in (None, OfflineChatModel()):
        tools = _lang(model)
        for name in ("translate_text", "summarize_text", "proofread_text", "rewrite_tone"):
            assert "needs a language model" in tools[name].invoke({"text": "Hello there."})
        assert "needs a language model" in tools["draft_email"].invoke({"request": "late order"})
        assert "needs a language model" in tools["write_listing_copy"].invoke({"product": "sign"})


def test_model_tools_use_the_configured_model() -> None:
    tools = _lang(FakeListChatModel(responses=["Hallo daar."]))
    assert tools["translate_text"].invoke({"text": "Hello there.", "target_language": "Dutch"}) == (
        "Hallo daar."
    )


def test_model_free_language_tools_work_offline() -> None:
    tools = _lang()
    assert "German" in tools["detect_language"].invoke({"text": "Die Ware ist nicht für Sie"})
    assert tools["word_count"].invoke({"text": "one two. three"}).startswith("3 words")
    assert "- B b." in tools["key_sentences"].invoke({"text": "A. B b. C.", "count": 5})
    assert "'recieve' -> 'receive'" in tools["spelling_checks"].invoke({"text": "I recieve it."})
    assert "Flesch reading ease" in tools["readability_score"].invoke({"text": "We ship today."})
    email = tools["email_template"].invoke({"details": "email to Acme Cleaning about the delay"})
    assert "Subject: the delay" in email and "Hi Acme Cleaning," in email
    listing = tools["listing_template"].invoke({"details": "title: LED sign; price: 240"})
    assert "TITLE: LED sign" in listing and "PRICE: 240" in listing
    assert "1. [ ] add login" in tools["extract_tasks"].invoke({"text": "- add login\n- deploy"})
    grouped = tools["group_tasks_by_area"].invoke({"text": "- import the csv\n- deploy to hosting"})
    assert "data:" in grouped and "operations:" in grouped
