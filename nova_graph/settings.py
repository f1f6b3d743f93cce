"""``NovaSettings``: every deploy-time knob in one place, read from ``NOVA_*`` variables.

The library reads the environment only here and in :mod:`nova_graph.paths` (the default data and
cache directories, standard library only, so a command can print its first progress line before
pydantic and LangGraph load); everything else receives settings or asks this module.

Settings are data; :func:`nova_graph.from_settings.graph_from_settings` turns them into a graph.
The same settings run one process on a laptop (SQLite + a Chroma directory) and several workers
sharing a PostgreSQL checkpointer and a Chroma server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from nova_graph.budget import Budget
from nova_graph.errors import ConfigurationError
from nova_graph.input_checks import DEFAULT_MAX_REQUEST_BYTES, InputLimits
from nova_graph.paths import default_cache_dir as default_cache_dir
from nova_graph.paths import default_data_dir as default_data_dir
from nova_graph.reliability.redact import redact_url
from nova_graph.usage import ModelPrice

CheckpointBackend = Literal["postgres", "sqlite", "memory"]
_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


class NovaSettings(BaseSettings):
    """Deployment settings; each field is read from ``NOVA_<FIELD>`` (e.g. ``NOVA_CHECKPOINT_URL``).

    The OpenAI key and base URL are also read from the usual ``OPENAI_API_KEY`` /
    ``OPENAI_BASE_URL``; the key is a ``SecretStr`` and never appears in ``repr`` or logs, nor
    does a password inside any URL setting.
    """

    model_config = SettingsConfigDict(
        env_prefix="NOVA_",
        extra="ignore",
        validate_default=True,
        populate_by_name=True,
        env_nested_delimiter="__",
    )

    model: str | None = Field(
        default=None, description="Chat model name for the OpenAI-compatible server."
    )
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("NOVA_OPENAI_API_KEY", "OPENAI_API_KEY", "openai_api_key"),
        description="API key; unset → the embedded offline model.",
    )
    openai_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("NOVA_OPENAI_BASE_URL", "OPENAI_BASE_URL", "openai_base_url"),
        description="Base URL of any OpenAI-compatible server (Ollama, vLLM, ...).",
    )
    model_timeout: float = Field(default=60.0, gt=0, le=3600)
    encoder: Literal["onnx", "torch"] = Field(
        default="onnx",
        description="MiniLM runtime: 'onnx' (ONNX Runtime export) or 'torch' "
        "(sentence-transformers, same vectors, slower).",
    )
    data_dir: Path = Field(default_factory=default_data_dir, description="Tools' data directory.")
    roster_path: Path | None = Field(default=None, description="Roster YAML; unset → packaged.")
    checkpoint_url: str = Field(
        default="",
        description="postgresql://... → PostgreSQL; 'memory' → in memory; a path or "
        "sqlite:///path → SQLite; empty → <data_dir>/checkpoints.sqlite.",
    )
    chroma_url: str = Field(
        default="",
        description="http(s)://host:port → a Chroma server; a path → a local Chroma directory; "
        "empty → <data_dir>/chroma; 'off' → no memory.",
    )
    route_threshold: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Router's minimum confidence to be in scope."
    )
    ambiguity_margin: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Top-two probability gap below which it asks."
    )
    max_request_bytes: int = Field(default=DEFAULT_MAX_REQUEST_BYTES, ge=16, le=16 * 1024 * 1024)
    max_history_bytes: int = Field(
        default=InputLimits().history_bytes,
        ge=16,
        description="Largest total size of the messages sent in one input (UTF-8 bytes).",
    )
    max_resume_bytes: int = Field(
        default=InputLimits().resume_bytes,
        ge=16,
        description="Largest answer to a pending question (Command(resume=...)).",
    )
    max_update_bytes: int = Field(
        default=InputLimits().update_bytes,
        ge=16,
        description="Largest state update (Command(update=...) or update_state).",
    )
    out_of_scope: Literal["refuse", "general"] = "refuse"
    prices: dict[str, ModelPrice] = Field(
        default_factory=dict,
        description='Price per model, JSON: {"gpt-4o": {"input_per_million": 2.5, '
        '"output_per_million": 10}}; unpriced models cost 0.',
    )
    budget: Budget = Field(
        default_factory=Budget,
        description="Limits per request: NOVA_BUDGET__MAX_MODEL_CALLS, __MAX_TOKENS, "
        "__MAX_COST, __MAX_SECONDS (unset: no limit).",
    )
    tracing: bool = Field(default=False, description="Export OpenTelemetry traces (NOVA_TRACING).")
    otel_traces_exporter: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OTEL_TRACES_EXPORTER", "otel_traces_exporter"),
        description="'otlp' (default) or 'console' (or both, comma-separated).",
    )
    otel_exporter_otlp_protocol: str = Field(
        default="http/protobuf",
        validation_alias=AliasChoices(
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "otel_exporter_otlp_protocol",
        ),
    )
    otel_sdk_disabled: bool = Field(
        default=False, validation_alias=AliasChoices("OTEL_SDK_DISABLED", "otel_sdk_disabled")
    )
    max_plan_steps: int = Field(default=6, ge=1, le=32, description="Most steps in one plan.")
    max_plan_depth: int = Field(
        default=4, ge=1, le=32, description="Longest chain of dependent steps in one plan."
    )

    @field_validator("checkpoint_url", "chroma_url", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("encoder", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("data_dir", "roster_path", mode="after")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    # -- derived ------------------------------------------------------------------------------
    @property
    def checkpoint_backend(self) -> CheckpointBackend:
        """Which checkpointer ``checkpoint_url`` selects."""
        url = self.checkpoint_url
        if url.lower() == "memory":
            return "memory"
        if urlsplit(url).scheme.lower() in _POSTGRES_SCHEMES:
            return "postgres"
        return "sqlite"

    @property
    def sqlite_path(self) -> Path:
        """The SQLite checkpoint file (only meaningful when the backend is SQLite)."""
        url = self.checkpoint_url
        if not url:
            return self.data_dir / "checkpoints.sqlite"
        if url.startswith("sqlite:///"):
            return Path(url[len("sqlite:///") :]).expanduser()
        return Path(url).expanduser()

    @property
    def chroma_is_server(self) -> bool:
        """True when memory lives on a Chroma server reached over HTTP."""
        return urlsplit(self.chroma_url).scheme.lower() in ("http", "https")

    @property
    def chroma_path(self) -> Path:
        """The local Chroma directory (only meaningful when ``chroma_is_server`` is false)."""
        return Path(self.chroma_url).expanduser() if self.chroma_url else self.data_dir / "chroma"

    def input_limits(self, request_bytes: int | None = None) -> InputLimits:
        """The graph's input limits from these settings (``request_bytes`` overrides)."""
        return InputLimits(
            request_bytes=request_bytes or self.max_request_bytes,
            history_bytes=self.max_history_bytes,
            resume_bytes=self.max_resume_bytes,
            update_bytes=self.max_update_bytes,
        )

    def redacted(self) -> dict[str, Any]:
        """The settings as a dict safe to print or log: no key, no database password."""
        out = self.model_dump(mode="json")
        out["openai_api_key"] = "**********" if self.openai_api_key else None
        out["checkpoint_url"] = redact_url(self.checkpoint_url)
        out["chroma_url"] = redact_url(self.chroma_url)
        out["openai_base_url"] = redact_url(self.openai_base_url or "") or None
        return out

    def __repr_args__(self) -> Any:
        safe: dict[str, str | None] = {"checkpoint_url": redact_url(self.checkpoint_url)}
        safe["chroma_url"] = redact_url(self.chroma_url)
        safe["openai_base_url"] = redact_url(self.openai_base_url or "") or None
        for name, value in super().__repr_args__():
            yield name, safe.get(name or "", value)


def load_settings(**overrides: Any) -> NovaSettings:
    """Read settings from the environment (``overrides`` win); a clear error when invalid."""
    try:
        return NovaSettings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigurationError(
            f"invalid nova_graph settings ({problems}); fix the NOVA_* environment variables "
            "or the arguments given to NovaSettings"
        ) from None
