"""The embedded PostgreSQL (the default without DATABASE_URL): its server settings, and stopping it.

Each test starts a server of its own in a temporary folder and stops it at the end.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from recommender import embedded_db
from tests.conftest import ROOT


@pytest.fixture
def pgdata(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "postgres"
    yield folder
    embedded_db.stop(folder)


def start_in_a_new_process(pgdata: Path, size: str) -> str:
    code = "import sys; from pathlib import Path; from recommender import embedded_db; "
    code += "print(embedded_db.ensure_running(Path(sys.argv[1]), server_settings={'shared_buffers': sys.argv[2]}))"
    out = subprocess.run(
        [sys.executable, "-c", code, str(pgdata), size], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-1500:]
    return out.stdout.strip()


def shared_buffers(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW shared_buffers").fetchone()
    assert row is not None
    return str(row[0])


def test_a_new_server_runs_with_the_configured_buffer_cache(pgdata: Path) -> None:
    url = embedded_db.ensure_running(pgdata, server_settings={"shared_buffers": "48MB"})
    assert shared_buffers(url) == "48MB"
    assert embedded_db.ensure_running(pgdata, server_settings={"shared_buffers": "48MB"}) == url  # nothing to do


def test_a_server_in_use_is_never_restarted_a_new_size_applies_at_its_next_start(
    pgdata: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = embedded_db.ensure_running(pgdata, server_settings={"shared_buffers": "48MB"})
    with psycopg.connect(url) as busy, caplog.at_level(logging.WARNING, logger="recommender.embedded_db"):
        embedded_db.ensure_running(pgdata, server_settings={"shared_buffers": "64MB"})
        assert busy.execute("SELECT 1").fetchone() == (1,)  # not restarted under its feet
    embedded_db.ensure_running(pgdata, server_settings={"shared_buffers": "64MB"})  # idle now: still not
    assert shared_buffers(url) == "48MB"
    assert "shared_buffers=64MB applies at its next start" in caplog.text
    assert embedded_db.stop(pgdata)
    assert start_in_a_new_process(pgdata, "64MB") == url  # the library keeps one server per process
    assert shared_buffers(url) == "64MB"


def test_stop_stops_a_server_other_processes_also_used(pgdata: Path) -> None:
    url = embedded_db.ensure_running(pgdata)
    handles = pgdata / ".handle_pids.json"
    handles.write_text("[1, 2]")  # processes that once started the app (the library would not stop)
    assert embedded_db.stop(pgdata) is True
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=3).close()
    assert embedded_db.stop(pgdata) is False


def test_the_embedded_db_command_looks_without_starting_the_server(tmp_path: Path) -> None:
    # Run as an operator would, without DATABASE_URL, with a data folder of its own.
    import os

    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"DATA_DIR": str(tmp_path)}

    def command(action: str) -> str:
        out = subprocess.run(
            [sys.executable, "manage.py", "embedded_db", action], cwd=ROOT, env=env, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr[-1500:]
        return out.stdout.strip()

    pgdata = tmp_path / "postgres"
    try:
        assert command("status") == f"not running, data in {pgdata}"
        assert command("stop") == "was not running" and not pgdata.exists()  # nothing was created
        embedded_db.ensure_running(pgdata)
        assert command("status") == f"running, data in {pgdata}"
        assert command("stop") == "stopped" and not embedded_db.is_running(pgdata)
    finally:
        embedded_db.stop(pgdata)
