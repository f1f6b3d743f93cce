"""Chroma vector memory whose staleness is checked before every retrieval.

Entry point: :class:`ChromaMemory` (embedded ``PersistentClient`` at ``path``, in-memory without
one, or a Chroma server with ``url=``/:meth:`ChromaMemory.from_url`; telemetry off; embeddings from
:func:`nova_graph.embeddings.default_encoder` or an injected encoder, never Chroma's default)::

    mem = ChromaMemory("/tmp/mem")
    mid = mem.remember("Standup is at 9am", namespace="user:ana", key="standup")
    mem.remember("Standup moved to 10am", namespace="user:ana", key="standup")  # supersedes mid
    [m.text for m in mem.recall("when is standup?", namespace="user:ana")]  # ['Standup ... 10am']
    mem.history("standup", namespace="user:ana")  # both versions, oldest first

Staleness (see :mod:`nova_graph.memory.staleness`): a recalled memory is valid
(``valid_from <= now``), unexpired (``expires_at > now``, from ``ttl``), not superseded at ``now``
(a newer memory with the same ``key``, or one the update detector says replaces it: a chat model
with :class:`ModelUpdateDetector`, offline the conservative :class:`SimilarityUpdateDetector`;
the reason is kept in ``stale_reason``) and, with ``max_age``, recent enough. ``now`` is
injectable everywhere. Supersession takes effect at the new memory's ``valid_from``: a query
"as of" an earlier ``now`` still sees the old version. How the rule is applied before retrieval
(and why one collection pair per namespace) is explained in :mod:`nova_graph.memory.store`.

Graph integration (wired by the graph): :func:`recall_for_agents` gives each dispatched agent only
the current memories relevant to it (its clause; tagged for it via metadata ``agent``/``family``,
or untagged); :func:`make_memory_tools` builds ``remember``/``recall`` tools for an agent;
:func:`format_memories_for_prompt` renders memories as a delimited block of JSON lines with ages
(quoted data, not instructions) and :func:`memory_citations` lists the memories an answer used
with their ages.

Concurrency: supersession is a read-modify-write under a lock file in the store's directory,
so threads, instances and processes writing one path leave one current version per key; a writer
killed mid-write (or writers sharing a Chroma server) is resolved on read (see
:mod:`nova_graph.memory.versions`). Users: every read and write takes a namespace; in a graph it
is the run's ``configurable.user_id`` (:func:`run_namespace`), and ``get``/``forget`` never reach
another namespace's ids. Agents are handed their own tool-written memories and untagged ones only.
"""

from nova_graph.memory.detector import (
    Candidate,
    ModelUpdateDetector,
    Replacement,
    SimilarityUpdateDetector,
    UpdateDetector,
    UpdateVerdict,
)
from nova_graph.memory.integration import make_memory_tools, recall_for_agents, run_namespace
from nova_graph.memory.model import NEVER, Memory
from nova_graph.memory.prompt import format_memories_for_prompt, memory_citations
from nova_graph.memory.protocol import MemoryStore
from nova_graph.memory.staleness import current_where
from nova_graph.memory.store import ChromaMemory

__all__ = [
    "NEVER",
    "Candidate",
    "ChromaMemory",
    "Memory",
    "MemoryStore",
    "ModelUpdateDetector",
    "Replacement",
    "SimilarityUpdateDetector",
    "UpdateDetector",
    "UpdateVerdict",
    "current_where",
    "format_memories_for_prompt",
    "make_memory_tools",
    "memory_citations",
    "recall_for_agents",
    "run_namespace",
]
