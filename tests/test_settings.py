"""NovaSettings: NOVA_* environment → checkpointer, memory, model, limits; secrets hidden."""

from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from nova_app import nova_graph_from_settings
from nova_graph.checkpoint_postgres import postgres_checkpointer
from nova_graph.errors import ConfigurationError, InvalidRequestError
from nova_graph.from_settings import (
    checkpointer_from_settings,
    family_roster,
    memory_from_settings,
    model_from_settings,
)
from nova_graph.models import OfflineChatModel
from nova_graph.roster import Roster
from nova_graph.routing.decision import RouteDecision
from nova_graph.settings import NovaSettings, load_settings
from nova_graph.testing import TableRouter

AMBIGUOUS_Q = "the numbers thing"
TABLE = {AMBIGUOUS_Q: RouteDecision(agents=["math", "stock"], ambiguous=True)}


def test_settings_are_read_from_nova_prefixed_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NOVA_DATA_DIR", str(tmp_path / "d"))
    monkeypatch.setenv("NOVA_MODEL", "llama3.1")
    monkeypatch.setenv("NOVA_MAX_REQUEST_BYTES", "2048")
    monkeypatch.setenv("NOVA_OUT_OF_SCOPE", "general")
    monkeypatch.setenv("NOVA_CHROMA_URL", "http://127.0.0.1:8000")
    s = load_settings()
    assert (s.data_dir, s.model, s.max_request_bytes) == (tmp_path / "d", "llama3.1", 2048)
    assert s.out_of_scope == "general"
    assert s.chroma_is_server


def test_encoder_runtime_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOVA_ENCODER", raising=False)
    assert load_settings().encoder == "onnx"
    monkeypatch.setenv("NOVA_ENCODER", " Torch ")
    assert load_settings().encoder == "torch"
    monkeypatch.setenv("NOVA_ENCODER", "tensorflow")
    with pytest.raises(ConfigurationError, match="encoder"):
        load_settings()


@pytest.mark.parametrize(
    ("url", "backend"),
    [
        ("postgresql://nova@db:5432/nova", "postgres"),
        ("postgres://nova@db/nova", "postgres"),
        ("memory", "memory"),
        ("", "sqlite"),
        ("/var/lib/nova/cp.sqlite", "sqlite"),
        ("sqlite:////var/lib/nova/cp.sqlite", "sqlite"),
    ],
)
def test_checkpoint_url_selects_the_backend(url: str, backend: str) -> None:
    assert NovaSettings(checkpoint_url=url).checkpoint_backend == backend


def test_sqlite_checkpoint_path_defaults_to_the_data_dir(tmp_path: Path) -> None:
    assert NovaSettings(data_dir=tmp_path).sqlite_path == tmp_path / "checkpoints.sqlite"
    s = NovaSettings(data_dir=tmp_path, checkpoint_url="sqlite:////srv/cp.sqlite")
    assert s.sqlite_path == Path("/srv/cp.sqlite")


def test_chroma_path_defaults_to_the_data_dir_and_off_disables_memory(tmp_path: Path) -> None:
    assert NovaSettings(data_dir=tmp_path).chroma_path == tmp_path / "chroma"
    assert not NovaSettings(data_dir=tmp_path).chroma_is_server
    assert memory_from_settings(NovaSettings(data_dir=tmp_path, chroma_url="off")) is None


def test_api_key_and_database_password_never_appear_in_repr_or_redacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret-123")
    monkeypatch.setenv("NOVA_CHECKPOINT_URL", "postgresql://nova:hunter2@db:5432/nova")
    s = load_settings()
    shown = repr(s) + str(s) + str(s.redacted())
    assert "sk-very-secret-123" not in shown and "hunter2" not in shown
    assert s.openai_api_key is not None
    assert s.openai_api_key.get_secret_value() == "sk-very-secret-123"
    assert s.redacted()["checkpoint_url"] == "postgresql://nova:***@db:5432/nova"


def test_api_key_selects_an_openai_compatible_model_and_none_the_offline_model() -> None:
    offline = model_from_settings(NovaSettings(openai_api_key=None))
    assert isinstance(offline, OfflineChatModel)
    online = model_from_settings(
        NovaSettings(openai_api_key="sk-x", openai_base_url="http://127.0.0.1:9/v1", model="m1")
    )
    assert type(online).__name__ == "ChatOpenAI"
    assert (online.model_name, online.openai_api_base) == ("m1", "http://127.0.0.1:9/v1")  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("var", "value", "field"),
    [
        ("NOVA_MAX_REQUEST_BYTES", "lots", "max_request_bytes"),
        ("NOVA_OUT_OF_SCOPE", "shrug", "out_of_scope"),
        ("NOVA_ROUTE_THRESHOLD", "7", "route_threshold"),
    ],
)
def test_invalid_setting_raises_configuration_error_naming_the_field(
    monkeypatch: pytest.MonkeyPatch, var: str, value: str, field: str
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigurationError, match=field):
        load_settings()


def test_sqlite_settings_persist_a_pending_question_across_graph_instances(
    tmp_path: Path, small_roster: Roster, offline_model: Any
) -> None:
    settings = NovaSettings(data_dir=tmp_path, chroma_url="off")
    parts = {"roster": small_roster, "router": TableRouter(TABLE), "model": offline_model}
    config: Any = {"configurable": {"thread_id": uuid.uuid4().hex}}
    first = nova_graph_from_settings(settings, **parts)
    paused = first.invoke({"messages": [{"role": "user", "content": AMBIGUOUS_Q}]}, config)
    assert paused["__interrupt__"][0].value["type"] == "clarification"
    assert (tmp_path / "checkpoints.sqlite").is_file()
    second = nova_graph_from_settings(settings, **parts)
    done = second.invoke(Command(resume="math"), config)
    assert done["routes"] == ["math"] and "math" in done["results"]


def test_request_size_limit_comes_from_settings(
    tmp_path: Path, small_roster: Roster, offline_model: Any
) -> None:
    settings = NovaSettings(data_dir=tmp_path, chroma_url="off", max_request_bytes=64)
    graph = nova_graph_from_settings(
        settings, roster=small_roster, router=TableRouter(TABLE), model=offline_model
    )
    config: Any = {"configurable": {"thread_id": "big"}}
    with pytest.raises(InvalidRequestError, match="64 bytes"):
        graph.invoke({"messages": [{"role": "user", "content": "x" * 65}]}, config)


def test_memory_checkpoint_url_gives_an_in_memory_saver(tmp_path: Path) -> None:
    saver = checkpointer_from_settings(NovaSettings(data_dir=tmp_path, checkpoint_url="memory"))
    assert isinstance(saver, InMemorySaver)
    assert not (tmp_path / "checkpoints.sqlite").exists()


def test_unreachable_postgres_raises_configuration_error_without_the_password() -> None:
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(ConfigurationError, match="NOVA_CHECKPOINT_URL") as info:
        postgres_checkpointer(f"postgresql://nova:s3cret@127.0.0.1:{port}/nova", connect_timeout=1)
    assert "s3cret" not in str(info.value)
    assert time.monotonic() - started < 10


def test_family_roster_keeps_only_that_family(small_roster: Roster) -> None:
    assert family_roster("general", small_roster).names == ["clock", "math"]
    with pytest.raises(ConfigurationError, match="unknown agent family"):
        family_roster("astrology", small_roster)
