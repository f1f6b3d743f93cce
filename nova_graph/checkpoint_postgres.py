"""The PostgreSQL checkpointer: one database shared by every worker (``NOVA_CHECKPOINT_URL``)."""

from __future__ import annotations

import atexit
from typing import Any

from nova_graph.errors import ConfigurationError
from nova_graph.reliability.redact import redact_url


def postgres_checkpointer(
    url: str, *, max_connections: int = 8, connect_timeout: float = 10.0
) -> Any:
    """A ``PostgresSaver`` over a connection pool to ``url`` (``postgresql://...``).

    Needs ``langgraph-checkpoint-postgres`` and ``psycopg[binary]``; creates its tables on first
    use. Raises :class:`~nova_graph.errors.ConfigurationError` when the server cannot be reached.
    """
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool, PoolTimeout

    pool: ConnectionPool[Any] = ConnectionPool(
        conninfo=url,
        min_size=1,
        max_size=max_connections,
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        open=False,
    )
    try:
        pool.open(wait=True, timeout=connect_timeout)
    except PoolTimeout:
        pool.close()
        raise ConfigurationError(
            f"cannot connect to PostgreSQL at {redact_url(url)} within {connect_timeout:.0f} s; "
            "check NOVA_CHECKPOINT_URL and that the server is running"
        ) from None
    atexit.register(pool.close)
    saver = PostgresSaver(pool)  # type: ignore[arg-type]
    saver.setup()
    return saver
