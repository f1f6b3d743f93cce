"""Language-model fallback: ask a chat model to pick among the router's top candidates."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from nova_graph.errors import RoutingError, RoutingModelError
from nova_graph.reliability.classify import is_transient
from nova_graph.reliability.redact import redact, register_model_secrets, scrub_exception

_SYSTEM = (
    "You route a user's request to the one assistant best able to handle it. Choose only from "
    "the candidates listed. If none of them fits the request, answer with agent set to null."
)


class RouteChoice(BaseModel):
    """The model's structured answer: one candidate agent, or none."""

    agent: str | None = Field(
        default=None, description="Name of the chosen candidate agent, or null if none fits."
    )
    reason: str = Field(default="", description="One short sentence on why.")


class ModelRouteArbiter:
    """Asks ``model`` (any LangChain chat model) to choose among candidate agents.

    ``descriptions`` maps an agent to a plain-words description; agents without one are shown
    with up to ``examples_shown`` of their example requests. A transient model failure (timeout,
    rate limit, connection, 5xx) is retried up to ``max_attempts`` times in all.
    """

    def __init__(
        self,
        model: BaseChatModel,
        *,
        descriptions: Mapping[str, str] | None = None,
        examples: Mapping[str, Sequence[str]] | None = None,
        examples_shown: int = 3,
        max_attempts: int = 3,
        retry_interval: float = 0.2,
    ) -> None:
        if not isinstance(model, BaseChatModel):
            raise RoutingError(
                f"the routing fallback needs a LangChain chat model, got {type(model).__name__}; "
                "pass a BaseChatModel (e.g. ChatOpenAI) or model=None"
            )
        self.model = model
        register_model_secrets(model)
        self.descriptions = dict(descriptions or {})
        self.examples = {k: list(v) for k, v in (examples or {}).items()}
        self.examples_shown = examples_shown
        self.max_attempts = max(1, max_attempts)
        self.retry_interval = retry_interval
        self._structured: Any = model.with_structured_output(RouteChoice)

    def prompt(self, text: str, candidates: Sequence[str]) -> str:
        """The user message sent to the model."""
        lines = [f"Request: {text}", "", "Candidates:"]
        for name in candidates:
            about = self.descriptions.get(name)
            if not about:
                shown = self.examples.get(name, [])[: self.examples_shown]
                about = "handles requests like: " + "; ".join(repr(s) for s in shown)
            lines.append(f"- {name}: {about}")
        return "\n".join(lines)

    def choose(self, text: str, candidates: Sequence[str]) -> str | None:
        """One model call; returns a candidate name, or ``None`` when the model says none fits.

        An answer naming an agent outside ``candidates`` is treated as "none fits". A model that
        keeps failing raises :class:`~nova_graph.errors.RoutingModelError` (scrubbed of secrets).
        """
        messages = [SystemMessage(_SYSTEM), HumanMessage(self.prompt(text, candidates))]
        answer = self._invoke(messages)
        if isinstance(answer, dict):
            answer = RouteChoice.model_validate(answer)
        if not isinstance(answer, RouteChoice):
            return None
        return answer.agent if answer.agent in candidates else None

    def _invoke(self, messages: list[Any]) -> Any:
        """The structured model call, retrying transient failures; failures come out typed."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                return self._structured.invoke(messages)
            except Exception as exc:  # any model client error; typed and scrubbed below
                scrub_exception(exc)
                if attempt < self.max_attempts and is_transient(exc):
                    time.sleep(self.retry_interval * 2 ** (attempt - 1))
                    continue
                raise RoutingModelError(
                    f"the routing model failed after {attempt} attempt(s) "
                    f"({type(exc).__name__}: {redact(str(exc))[:300]}); check the model server, "
                    "its base URL and API key, or run without a model (offline routing)",
                    attempts=attempt,
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover
