"""Chat models: an OpenAI-compatible model from the environment, or the embedded offline one."""

from nova_graph.models.offline import OFFLINE_NOTICE, OfflineChatModel
from nova_graph.models.resolve import (
    default_model,
    describe_model,
    is_offline,
    resolve_model,
)

__all__ = [
    "OFFLINE_NOTICE",
    "OfflineChatModel",
    "default_model",
    "describe_model",
    "is_offline",
    "resolve_model",
]
