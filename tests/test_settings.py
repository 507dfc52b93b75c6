"""Settings come from the environment; a bad value stops start-up with a message naming it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from recommender.env import ConfigError, env_bool, env_int, env_url
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DEBUG", "maybe", "DEBUG='maybe' is not a boolean"),
        ("DATABASE_URL", "mysql://localhost/x", "DATABASE_URL='mysql://localhost/x' must be a URL with scheme"),
        ("CELERY_BROKER_URL", "nonsense", "CELERY_BROKER_URL='nonsense' must be a URL with scheme"),
        ("API_PAGE_SIZE", "lots", "API_PAGE_SIZE='lots' is not an integer"),
        ("LLM_BASE_URL", "ftp://llm", "LLM_BASE_URL='ftp://llm' must be a URL with scheme"),
        ("LLM_TIMEOUT_SECONDS", "nan", "LLM_TIMEOUT_SECONDS='nan' is not a number"),
        ("EMBEDDED_DB_SHARED_BUFFERS", "half", "EMBEDDED_DB_SHARED_BUFFERS='half' is not a size like 512MB"),
        ("EMBEDDED_DB_SHARED_BUFFERS", "9999GB", "'9999GB' is more than half of this machine's memory"),
    ],
)
def test_bad_environment_value_fails_start_up_naming_the_variable(name: str, value: str, expected: str) -> None:
    env = {**os.environ, name: value}
    result = subprocess.run(
        [sys.executable, "-c", "import recommender.settings"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ConfigError" in result.stderr
    assert expected in result.stderr


def test_production_mode_refuses_to_start_without_a_secret_key() -> None:
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env["DEBUG"] = "false"
    result = subprocess.run(
        [sys.executable, "-c", "import recommender.settings"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_env_readers_accept_good_values_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_BOOL", "Yes")
    monkeypatch.setenv("X_INT", " 42 ")
    monkeypatch.delenv("X_MISSING", raising=False)
    assert env_bool("X_BOOL") is True
    assert env_int("X_INT", 1) == 42
    assert env_int("X_MISSING", 7) == 7
    assert env_url("X_MISSING", schemes={"redis"}) == ""


def test_integer_bounds_are_enforced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("X_INT", "0")
    with pytest.raises(ConfigError, match="X_INT=0 is below the minimum 1"):
        env_int("X_INT", 5, minimum=1)
