"""`manage.py check --deploy` passes on production settings and catches unsafe ones."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "t7#Qv9$Lm2@Zr8&Xp4!Kd6^Hw1*Ns3%Bj5(Fy0)Gc-Ue+Ai=Ro",
    "SECURE_HSTS_PRELOAD": "true",
    "ALLOWED_HOSTS": "recommender.example.com",
    "CACHE_URL": "redis://127.0.0.1:6379/3",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/4",
}


def run_check(**overrides: str) -> subprocess.CompletedProcess[str]:
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for their own process; a deployment never would.
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {**inherited, **PRODUCTION, **overrides}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_the_deployment_checks() -> None:
    result = run_check()
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_visibility_timeout_shorter_than_a_long_task_names_the_task() -> None:
    # The default limit (150 s) is far below it; training and tuning may run 3500 s.
    result = run_check(CELERY_VISIBILITY_TIMEOUT="3400")
    assert result.returncode != 0
    assert "recommender.E011" in result.stdout + result.stderr and "may run 3500 s" in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"CACHE_URL": ""}, "recommender.W001"),
        ({"CELERY_VISIBILITY_TIMEOUT": "100", "CELERY_TASK_TIME_LIMIT": "150"}, "recommender.E011"),
        ({"CELERY_TASK_ALWAYS_EAGER": "true"}, "recommender.E013"),
        ({"SECURE_SSL_REDIRECT": "false"}, "security.W008"),
    ],
)
def test_unsafe_settings_fail_the_deployment_checks(overrides: dict[str, str], code: str) -> None:
    result = run_check(**overrides)
    assert result.returncode != 0
    assert code in result.stdout + result.stderr
