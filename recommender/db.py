"""Database connection setup shared by every process."""

from __future__ import annotations

from typing import Any

import psycopg


def register_pgvector(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Send and receive vectors in pgvector's binary format instead of text.

    Parsing '[0.01,-0.2,…]' strings in Python was about a third of a feed request. Connections
    to a database without the extension (before the first migrate, or the server's maintenance
    database) keep the text format.
    """
    if connection.vendor != "postgresql":
        return
    from pgvector.psycopg import register_vector

    try:
        register_vector(connection.connection)
    except psycopg.ProgrammingError:
        pass  # the vector type does not exist in this database (yet)


def register_pgvector_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """A connection opened before the first migrate created the extension registers now."""
    from django.db import connections

    connection = connections[using]
    if connection.connection is not None:
        register_pgvector(sender, connection)
