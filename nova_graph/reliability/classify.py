"""Which failures are worth retrying: transient ones (time, rate, connection), never bugs."""

from __future__ import annotations

from langgraph.errors import NodeTimeoutError
from langgraph.types import RetryPolicy

# Programming errors: retrying cannot help, so they fail at once and are reported.
_PERMANENT: tuple[type[BaseException], ...] = (
    TypeError,
    ValueError,
    KeyError,
    AttributeError,
    IndexError,
    NameError,
    AssertionError,
    NotImplementedError,
    RecursionError,
)


def _transient_types() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = [TimeoutError, ConnectionError, NodeTimeoutError]
    try:
        import httpx

        found += [httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError]
    except ImportError:  # pragma: no cover - httpx ships with langgraph's dependencies
        pass
    return tuple(found)


TRANSIENT_ERRORS: tuple[type[BaseException], ...] = _transient_types()

#: The OpenAI SDK's transient errors, recognised by module and class name so that importing
#: this module does not import ``openai`` (0.7 s at every start, though offline runs never use it).
_OPENAI_TRANSIENT = frozenset(
    {"APITimeoutError", "APIConnectionError", "RateLimitError", "InternalServerError"}
)


def _is_openai_transient(exc: BaseException) -> bool:
    return any(
        cls.__module__.split(".")[0] == "openai" and cls.__name__ in _OPENAI_TRANSIENT
        for cls in type(exc).__mro__
    )


def is_transient(exc: BaseException) -> bool:
    """True when ``exc`` is a timeout, rate limit, connection or server-side (5xx) error."""
    if isinstance(exc, TRANSIENT_ERRORS) or _is_openai_transient(exc):
        return True
    if isinstance(exc, _PERMANENT):
        return False
    status = getattr(exc, "status_code", None)
    return isinstance(status, int) and (status == 429 or 500 <= status < 600)


def transient_retry_policy(
    *,
    max_attempts: int = 3,
    initial_interval: float = 0.5,
    backoff_factor: float = 2.0,
    max_interval: float = 8.0,
    jitter: bool = True,
) -> RetryPolicy:
    """A LangGraph ``RetryPolicy`` that retries only :func:`is_transient` errors."""
    return RetryPolicy(
        initial_interval=initial_interval,
        backoff_factor=backoff_factor,
        max_interval=max_interval,
        max_attempts=max_attempts,
        jitter=jitter,
        retry_on=is_transient,
    )
