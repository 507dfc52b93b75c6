"""Database connection setup shared by every process."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import psycopg
from django.db import DatabaseError, connection
from django.db.models import BinaryField, Func

logger = logging.getLogger(__name__)


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


class VectorBytes(Func):
    """A vector column as pgvector's binary form (``vector_send``), read back with :func:`unpack_vector`.

    Django's client-side cursors receive every result as text, so the binary loader registered
    above never runs for ORM reads, and parsing '[0.01,-0.2,…]' costs a Python float per element
    (~0.3 ms per 384-d vector). As bytea the same vector arrives hex-encoded and is decoded in C.
    """

    function = "vector_send"
    output_field = BinaryField()


def unpack_vector(data: bytes | memoryview | None) -> np.ndarray | None:
    """The float32 vector of a ``VectorBytes`` value (dimensions, unused, then big-endian floats)."""
    if data is None:
        return None
    raw = bytes(data)
    dimensions = int.from_bytes(raw[:2], "big")
    if len(raw) != 4 + 4 * dimensions:
        raise ValueError("not a pgvector binary value")
    return np.frombuffer(raw, dtype=">f4", offset=4).astype(np.float32)


class LockBusy(Exception):
    """``advisory_lock(..., wait=False)`` found the lock held by another session."""


@contextmanager
def advisory_lock(key: str, *, wait: bool) -> Iterator[None]:
    """A session-level PostgreSQL advisory lock on ``key`` across every process and host (not tied
    to a transaction, so it holds for the minutes a training or a tuning takes). ``wait`` False
    raises LockBusy when another session holds it. A connection lost meanwhile took the lock with
    it: the release is then logged, never raised, so the work's outcome stands."""
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_lock(hashtext(%s))", [key])
        else:
            cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [key])
            if not cursor.fetchone()[0]:
                raise LockBusy(key)
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [key])
        except DatabaseError:
            logger.warning("could not release the advisory lock %r (its connection is gone, and the lock with it)", key)
