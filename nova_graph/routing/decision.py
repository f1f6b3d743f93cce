"""What a router decides, and the protocol every router implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field


class ClauseRoute(BaseModel):
    """The route chosen for one clause of a (possibly multi-part) request."""

    text: str
    agent: str | None = Field(description="Best agent for the clause; None when out of scope.")
    score: float


class RouteDecision(BaseModel):
    """The supervisor's decision for one request.

    ``agents`` is empty when the request is out of scope, has several names when it spans several
    domains, and when ``ambiguous`` is true holds the candidates the user is asked to choose from.
    """

    agents: list[str] = Field(default_factory=list)
    scores: dict[str, float] = Field(default_factory=dict)
    ambiguous: bool = False
    out_of_scope: bool = False
    clauses: list[ClauseRoute] = Field(default_factory=list)
    method: str = Field(default="embedding", description="'embedding' or 'model' (LLM fallback).")
    model_calls: int = Field(default=0, description="Language-model calls spent on this decision.")
    confidence: float | None = Field(
        default=None, description="Router's confidence that the request is in scope, if known."
    )
    model_error: str | None = Field(
        default=None,
        description="Why the language-model fallback failed (scrubbed), when it did; the "
        "decision is then the embedding router's own.",
    )

    def clause_texts(self) -> dict[str, str]:
        """Each routed agent's own clause of a split request (agents without one are absent)."""
        return {c.agent: c.text for c in self.clauses if c.agent}

    @property
    def candidates(self) -> list[str]:
        """The agents to offer the user when the decision is ambiguous."""
        return list(self.agents)


@runtime_checkable
class Router(Protocol):
    """Anything that maps a request to a :class:`RouteDecision`."""

    def route(self, text: str) -> RouteDecision:
        """Decide which agents should handle ``text``."""
        ...


def route_all(router: Router, texts: Sequence[str]) -> list[RouteDecision]:
    """Route every text, through ``route_batch`` (one encode for all) when the router has one."""
    batch: Callable[[Sequence[str]], Any] | None = getattr(router, "route_batch", None)
    if batch is not None:
        return list(batch(list(texts)))
    return [router.route(t) for t in texts]
