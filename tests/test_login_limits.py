"""Password guessing is limited on every log-in (web, admin, API), and limits hold across processes."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from bench.server import gunicorn
from tests.conftest import database_url_for_subprocess
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"
LIMIT = settings.AXES_FAILURE_LIMIT


@pytest.fixture
def alice(db: None) -> User:
    user = UserFactory(username="alice", is_staff=True, is_superuser=True)
    user.set_password(PASSWORD)
    user.save()
    return user


def guess(client: Client, url: str, times: int, address: str = "127.0.0.1") -> list[int]:
    """Wrong passwords for Alice: a plain "no" (the form again) until the limit-th, which locks."""
    statuses = []
    for _ in range(times):
        response = client.post(url, {"username": "alice", "password": "wrong guess"}, REMOTE_ADDR=address)
        statuses.append(response.status_code)
    assert statuses == [200] * min(times, LIMIT - 1) + [429] * max(0, times - LIMIT + 1)
    return statuses


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
def test_after_the_limit_even_the_right_password_is_refused_for_a_while(client: Client, alice: User, url: str) -> None:
    guess(client, url, LIMIT)
    response = client.post(url, {"username": "alice", "password": PASSWORD})
    assert response.status_code == 429
    assert int(response["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    assert "Too many failed log-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lock_is_per_address_so_a_guesser_cannot_lock_the_owner_out(client: Client, alice: User) -> None:
    guess(client, "/accounts/login/", LIMIT, address="10.0.0.66")
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(alice.pk)


def test_one_guess_short_of_the_limit_still_lets_the_owner_in_and_resets_the_count(client: Client, alice: User) -> None:
    guess(client, "/accounts/login/", LIMIT - 1)
    assert client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code == 302
    client.logout()
    guess(client, "/accounts/login/", LIMIT - 1)
    assert client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code == 302


def test_the_locked_page_speaks_korean(client: Client, alice: User) -> None:
    guess(client, "/accounts/login/", LIMIT)
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="ko")
    assert response.status_code == 429
    assert "로그인 실패가 너무 많습니다" in response.content.decode()


def test_the_api_token_endpoint_shares_the_lock_and_answers_in_its_error_shape(alice: User, settings: Settings) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth": "1000/min"}}  # fmt: skip
    api = APIClient()
    guess(Client(), "/accounts/login/", LIMIT)  # guessed on the web page …
    response = api.post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 429  # … and the app's log-in is locked too
    assert response.json()["error"]["code"] == "locked_out"
    assert int(response["Retry-After"]) > 0


def test_behind_a_proxy_of_our_own_a_guesser_does_not_lock_the_owner_out(
    client: Client, alice: User, settings: Settings
) -> None:
    # Every visitor comes from the proxy's address; the client is one hop back in X-Forwarded-For.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    via_proxy = {"REMOTE_ADDR": "10.0.0.1"}
    for _ in range(LIMIT):
        client.post(
            "/accounts/login/",
            {"username": "alice", "password": "wrong"},
            HTTP_X_FORWARDED_FOR="203.0.113.66",
            **via_proxy,
        )
    owner = Client()
    response = owner.post(
        "/accounts/login/",
        {"username": "alice", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.7",
        **via_proxy,
    )
    assert response.status_code == 302  # was a 429: the lock was on "alice from the proxy"
    guesser = client.post(
        "/accounts/login/",
        {"username": "alice", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="203.0.113.66",
        **via_proxy,
    )
    assert guesser.status_code == 429  # the guesser's own address is locked


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/", "/accounts/signup/"])
def test_one_address_posts_the_log_in_and_sign_up_forms_at_the_apis_auth_rate(
    client: Client, settings: Settings, url: str, db: None
) -> None:
    # Guessing a few passwords for each of many accounts stays under every account's lock, and
    # each account made gets its own LLM quota: the address itself is limited, as on the API.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth": "5/min"}}  # fmt: skip
    statuses = [
        client.post(url, {"username": f"person{n}", "password1": "x", "password2": "x", "password": "x"}).status_code
        for n in range(6)
    ]
    assert 429 not in statuses[:5] and statuses[5] == 429
    assert (
        "Too many attempts from your address" in client.post(url, {"username": "z", "password": "x"}).content.decode()
    )
    assert Client(REMOTE_ADDR="192.0.2.9").post(url, {"username": "q", "password": "x"}).status_code != 429


def test_a_password_changed_ends_every_token_issued_before(alice: User) -> None:
    api = APIClient()
    tokens = api.post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}, format="json").json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api.get("/api/v1/me/").status_code == 200
    alice.set_password("a new and different passphrase 7")  # a curator resets a stolen account
    alice.save()
    assert api.get("/api/v1/me/").status_code == 401
    refreshed = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 401 and "password has been changed" in refreshed.content.decode()
    # A token pair issued after the change works.
    fresh = (
        APIClient()
        .post(
            "/api/v1/auth/token/", {"username": "alice", "password": "a new and different passphrase 7"}, format="json"
        )
        .json()
    )
    again = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": fresh["refresh"]}, format="json")
    assert again.status_code == 200


def test_the_development_key_is_named_insecure_so_deploy_checks_flag_it() -> None:
    from django.core.checks.security.base import check_secret_key
    from django.test import override_settings

    from recommender.settings import DEV_SECRET_KEY

    with override_settings(SECRET_KEY=DEV_SECRET_KEY):
        assert [warning.id for warning in check_secret_key(None)] == ["security.W009"]


# --- two server processes ------------------------------------------------------------------------


def call(port: int, path: str, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None) -> int:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@pytest.fixture
def two_servers(transactional_db: None, redis_url: str, tmp_path: Path) -> Iterator[list[int]]:
    """Two gunicorn processes on the test database, sharing a Redis cache as production would."""
    import redis

    cache_url = redis_url.rsplit("/", 1)[0] + "/14"
    redis.Redis.from_url(cache_url).flushdb()
    env = {"CACHE_URL": cache_url, "API_THROTTLE_ANON": "4/min", "API_THROTTLE_AUTH": "1000/min"}
    database = database_url_for_subprocess()
    try:
        with (
            gunicorn(database, tmp_path / "server0.log", workers=1, env=env) as first,
            gunicorn(database, tmp_path / "server1.log", workers=1, env=env) as second,
        ):
            yield [first, second]
    finally:
        redis.Redis.from_url(cache_url).flushdb()


def test_throttles_count_across_processes_and_a_forged_forwarded_for_resets_nothing(two_servers: list[int]) -> None:
    statuses = [
        call(two_servers[n % 2], "/api/v1/places/", headers={"X-Forwarded-For": f"203.0.113.{n}"}) for n in range(6)
    ]
    assert statuses == [200, 200, 200, 200, 429, 429]


def test_log_in_lockout_counts_across_processes(two_servers: list[int]) -> None:
    alice = UserFactory(username="alice")
    alice.set_password(PASSWORD)
    alice.save()
    guesses = [
        call(two_servers[n % 2], "/api/v1/auth/token/", {"username": "alice", "password": "wrong"})
        for n in range(LIMIT)
    ]
    assert guesses == [401] * (LIMIT - 1) + [429]
    right = [call(port, "/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}) for port in two_servers]
    assert right == [429, 429]
