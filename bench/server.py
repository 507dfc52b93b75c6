"""A production-style server on loopback for benchmarks, the load test and the fault drills.

gunicorn with DEBUG off, a throwaway SECRET_KEY and no HTTPS redirect, on a free port of
127.0.0.1, started against a given database and stopped (then killed if need be) on exit.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Rate limits out of the way, for load that is meant to be served.
UNTHROTTLED = {
    "API_THROTTLE_ANON": "1000000/min",
    "API_THROTTLE_USER": "1000000/min",
    "API_THROTTLE_AUTH": "1000000/min",
    "API_THROTTLE_EVENTS": "1000000/min",
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def gunicorn(
    database_url: str,
    log: Path,
    *,
    workers: int = 2,
    app: str = "recommender.wsgi:application",
    env: dict[str, str] | None = None,
) -> Iterator[int]:
    """Serve ``app`` on a free port until the block ends; yields the port once /healthz answers 200."""
    port = free_port()
    full_env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "loopback-only-not-secret"),
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "OPENBLAS_NUM_THREADS": "1",
        **(env or {}),
    }
    cmd = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
           "--timeout", "60", app]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        deadline = time.monotonic() + 60
        while not healthy(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
