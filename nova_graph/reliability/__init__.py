"""Reliability: retry only what is transient, time-limit agents, break circuits, record failures.

Nothing here hides a failure: every agent that does not finish leaves a ``Failure`` in state and a
sentence in the final answer.
"""

from nova_graph.reliability.breaker import CircuitBreaker
from nova_graph.reliability.classify import TRANSIENT_ERRORS, is_transient, transient_retry_policy
from nova_graph.reliability.deadline import acall_with_deadline, call_with_deadline
from nova_graph.reliability.failures import error_type, failure_update, make_error_handler
from nova_graph.reliability.policy import ReliabilityPolicy
from nova_graph.reliability.redact import redact, scrub_exception

__all__ = [
    "TRANSIENT_ERRORS",
    "CircuitBreaker",
    "ReliabilityPolicy",
    "acall_with_deadline",
    "call_with_deadline",
    "error_type",
    "failure_update",
    "is_transient",
    "make_error_handler",
    "redact",
    "scrub_exception",
    "transient_retry_policy",
]
