"""Shared fixtures. Storage tests run on the real PostgreSQL (embedded or DATABASE_URL)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.llm_standin import llm_standin  # noqa: F401  (fixture for all test modules)

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    """The default cache (per process in tests) starts empty for each test: the rate limits count
    there, and a limit one test reaches must not refuse the next test's log-ins or sign-ups."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def shared_data() -> Path:
    """The ../shared/data folder; tests that need it skip, saying why, when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared datasets not found at {SHARED_DATA}")
    return SHARED_DATA


def _require_services() -> bool:
    """In CI (REQUIRE_SERVICES=1) a missing service fails the test instead of skipping it."""
    return os.environ.get("REQUIRE_SERVICES", "") == "1"


def database_url_for_subprocess() -> str:
    """A DATABASE_URL for the database this test session uses (the test database)."""
    from django.db import connection

    cfg = connection.settings_dict
    user = quote(cfg["USER"] or "")
    password = quote(cfg["PASSWORD"] or "")
    auth = f"{user}:{password}@" if password else f"{user}@"
    host = cfg["HOST"] or ""
    if host.startswith("/"):  # Unix socket (the embedded server): percent-encoded in the host part
        return f"postgresql://{auth}{quote(host, safe='')}/{cfg['NAME']}"
    port = f":{cfg['PORT']}" if cfg["PORT"] else ""
    return f"postgresql://{auth}{host}{port}/{cfg['NAME']}"


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis database for worker tests (TEST_REDIS_URL, default db 15 on localhost)."""
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        message = f"Redis not reachable at {url}: {exc}"
        if _require_services():
            pytest.fail(message)
        pytest.skip(message)
    return url


class WorkerHandle:
    """A running ``celery worker`` process and a way to send it tasks over Redis."""

    def __init__(self, process: subprocess.Popen[bytes], broker_url: str, queue: str, log_path: Path) -> None:
        self.process = process
        self.broker_url = broker_url
        self.queue = queue
        self.log_path = log_path

    def send(self, task: Any, *args: Any) -> None:
        from recommender import celery_app

        with celery_app.connection_for_write(self.broker_url) as conn:
            task.apply_async(args=args, connection=conn, queue=self.queue)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def celery_worker_process(transactional_db: None, redis_url: str, tmp_path: Path) -> Iterator[WorkerHandle]:
    """A real Celery worker process, consuming a private queue on Redis, using the test database.

    Tests using it need committed data (``transactional_db``) because the worker is another process.
    """
    import redis

    queue = f"test-{uuid.uuid4().hex[:12]}"
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "CELERY_BROKER_URL": redis_url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,  # tasks the worker enqueues itself stay on its queue,
        "CELERY_HEAVY_QUEUE": queue,  # training and tuning included
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "PYTHONUNBUFFERED": "1",
    }
    cmd = [
        sys.executable, "-m", "celery", "-A", "recommender", "worker",
        "--pool=solo", "--loglevel=INFO", "-Q", queue, "-n", f"{queue}@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ]  # fmt: skip
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    handle = WorkerHandle(process, redis_url, queue, log_path)
    try:
        deadline = time.monotonic() + 60
        while "ready." not in handle.log():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"celery worker did not start:\n{handle.log()}")
            time.sleep(0.1)
        yield handle
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        redis.Redis.from_url(redis_url).delete(queue)


def wait_for(predicate: Callable[[], bool], timeout: float = 60.0, interval: float = 0.1) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass; return the last result."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
