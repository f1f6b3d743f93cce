"""``ReliabilityPolicy``: the per-agent time limit, retries and circuit-breaker knobs, as data."""

from __future__ import annotations

from langgraph.types import RetryPolicy
from pydantic import BaseModel, ConfigDict, Field

from nova_graph.reliability.classify import transient_retry_policy


class ReliabilityPolicy(BaseModel):
    """How hard each agent is tried before its part of a request is reported as failed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_seconds: float | None = Field(
        default=120.0,
        gt=0,
        description="Wall-clock limit per agent attempt (the attempt runs in the agent's worker "
        "lane and is abandoned when it overruns); None for none (sync runs then call the agent "
        "in the calling thread, with no thread hand-off).",
    )
    max_attempts: int = Field(default=3, ge=1, le=20, description="Attempts for transient errors.")
    initial_interval: float = Field(default=0.5, ge=0, description="First retry back-off (s).")
    backoff_factor: float = Field(default=2.0, ge=1)
    max_interval: float = Field(default=8.0, ge=0)
    jitter: bool = True
    breaker_threshold: int = Field(
        default=5, ge=1, description="Consecutive failed requests that open an agent's circuit."
    )
    breaker_cooldown_seconds: float = Field(
        default=60.0, ge=0, description="How long an open circuit skips the agent."
    )

    agent_workers: int = Field(
        default=8,
        ge=1,
        le=256,
        description="Worker threads per agent (its hung calls block only its own).",
    )
    thread_wait_seconds: float = Field(
        default=60.0,
        ge=0,
        description="How long a turn waits for another turn on the same thread before "
        "ThreadBusyError (0: fail at once).",
    )

    def retry_policy(self) -> RetryPolicy:
        """The LangGraph retry policy for agent nodes (transient errors only)."""
        return transient_retry_policy(
            max_attempts=self.max_attempts,
            initial_interval=self.initial_interval,
            backoff_factor=self.backoff_factor,
            max_interval=self.max_interval,
            jitter=self.jitter,
        )
