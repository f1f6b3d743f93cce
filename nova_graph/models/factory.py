"""Pick the chat model from the environment.

``OPENAI_API_KEY`` set → :class:`langchain_openai.ChatOpenAI` (``OPENAI_BASE_URL`` for any
OpenAI-compatible server such as Ollama or vLLM, ``NOVA_MODEL`` for the model name); otherwise the
embedded :class:`~nova_graph.models.offline.OfflineChatModel`.
"""

from __future__ import annotations

import os

from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from nova_graph.models.offline import OfflineChatModel
from nova_graph.reliability.redact import redact_url

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"


def default_model(
    *,
    model_name: str | None = None,
    timeout: float = 60.0,
    api_key: SecretStr | str | None = None,
    base_url: str | None = None,
) -> BaseChatModel:
    """The configured chat model, or the offline model when no API key is set.

    ``api_key`` / ``base_url`` default to ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``.
    """
    if isinstance(api_key, SecretStr):
        api_key = api_key.get_secret_value()
    api_key = (api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")).strip()
    if not api_key:
        return OfflineChatModel()
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=model_name or os.environ.get("NOVA_MODEL") or DEFAULT_OPENAI_MODEL,
        api_key=SecretStr(api_key),
        base_url=base_url or os.environ.get("OPENAI_BASE_URL") or None,
        timeout=timeout,
        max_retries=0,  # retries belong to the graph's RetryPolicy, where they are recorded
        temperature=0,
    )


def is_offline(model: BaseChatModel) -> bool:
    """True when ``model`` is the embedded offline model."""
    return isinstance(model, OfflineChatModel)


def describe_model(model: BaseChatModel) -> str:
    """A short human-readable name of the model, never including secrets."""
    if is_offline(model):
        return "offline (embedded deterministic model; no language model configured)"
    name = getattr(model, "model_name", None) or getattr(model, "model", None) or "?"
    base = getattr(model, "openai_api_base", None)
    shown = f", {redact_url(str(base))}" if base else ""
    return f"{type(model).__name__}({name}{shown})"
