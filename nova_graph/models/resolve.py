"""Pick the chat model: the one resolver of model names, and the default from settings.

An API key in the settings (``OPENAI_API_KEY``) → :class:`langchain_openai.ChatOpenAI`
(``OPENAI_BASE_URL`` for any OpenAI-compatible server such as Ollama or vLLM, ``NOVA_MODEL`` for
the model name); otherwise the embedded :class:`~nova_graph.models.offline.OfflineChatModel`.
The environment is read only by :mod:`nova_graph.settings`.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from nova_graph.errors import ModelConfigError
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

    Unset arguments come from the settings (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``,
    ``NOVA_MODEL``).
    """
    if api_key is None:
        from nova_graph.settings import load_settings

        settings = load_settings()
        api_key = settings.openai_api_key
        base_url = base_url or settings.openai_base_url
        model_name = model_name or settings.model
    if isinstance(api_key, SecretStr):
        api_key = api_key.get_secret_value()
    api_key = (api_key or "").strip()
    if not api_key:
        return OfflineChatModel()
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        model=model_name or DEFAULT_OPENAI_MODEL,
        api_key=SecretStr(api_key),
        base_url=base_url or None,
        timeout=timeout,
        max_retries=0,  # retries belong to the graph's RetryPolicy, where they are recorded
        temperature=0,
    )


def resolve_model(ref: str | BaseChatModel | None, default: BaseChatModel) -> BaseChatModel:
    """An agent's model: ``None`` → ``default``; a chat model as is; a name or ``"openai:name"``
    → ``default``'s client with that model name (the offline model serves every name)."""
    if ref is None:
        return default
    if isinstance(ref, BaseChatModel):
        return ref
    if not isinstance(ref, str) or not ref.strip():
        raise ModelConfigError(f"a model must be a name or a chat model, got {ref!r}")
    provider, _, name = ref.strip().rpartition(":")
    if provider not in ("", "openai"):
        raise ModelConfigError(
            f"model {ref!r}: provider {provider!r} is not built in; pass a chat model object "
            "(e.g. AgentSpec(model=ChatAnthropic(...))) or use 'openai:<name>'"
        )
    if is_offline(default):
        return default
    if "model_name" not in type(default).model_fields:
        raise ModelConfigError(
            f"model {ref!r}: the default {type(default).__name__} cannot switch model names; "
            "pass a chat model object for this agent instead"
        )
    return default.model_copy(update={"model_name": name})


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
