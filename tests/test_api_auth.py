"""Mobile auth: sign-up, JWT log-in/refresh/log-out, me, throttling, CORS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from tests import test_api_support as support
from tests.test_api_support import PASSWORD, assert_error

pytestmark = pytest.mark.django_db

# Shared fixtures (pytest finds fixtures by name in the module).
alice = support.alice
anon = support.anon
as_alice = support.as_alice
fresh_throttle_counters = support.fresh_throttle_counters


def test_sign_up_creates_the_account_and_returns_working_tokens(anon: APIClient) -> None:
    response = anon.post("/api/v1/auth/signup/", {"username": "민지", "password": PASSWORD, "email": "m@example.com"})
    assert response.status_code == 201
    body = response.json()
    assert body["user"]["username"] == "민지" and "password" not in body["user"]
    me = APIClient()
    me.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert me.get("/api/v1/me/").json()["username"] == "민지"


def test_sign_up_refuses_a_weak_password_and_says_why(anon: APIClient) -> None:
    response = anon.post("/api/v1/auth/signup/", {"username": "carol", "password": "123"})
    body = assert_error(response, 400, field="password")
    assert any("short" in m for m in body["error"]["fields"]["password"])
    assert not User.objects.filter(username="carol").exists()


def test_sign_up_refuses_a_password_like_the_username(anon: APIClient) -> None:
    response = anon.post("/api/v1/auth/signup/", {"username": "carolinesmith", "password": "carolinesmith1"})
    assert_error(response, 400, field="password")


@pytest.mark.parametrize("name", ["ALICE", "ＡＬＩＣＥ", "ａｌｉｃｅ"])  # full-width letters are stored NFKC-normalised
def test_sign_up_refuses_a_taken_username_whatever_its_case_or_width(anon: APIClient, alice: User, name: str) -> None:
    response = anon.post("/api/v1/auth/signup/", {"username": name, "password": PASSWORD})
    assert_error(response, 400, field="username")
    assert User.objects.count() == 1


def test_sign_up_ignores_privilege_fields_in_the_body(anon: APIClient) -> None:
    payload = {"username": "mallory", "password": PASSWORD, "is_staff": True, "is_superuser": True, "id": 999}
    assert anon.post("/api/v1/auth/signup/", payload).status_code == 201
    mallory = User.objects.get(username="mallory")
    assert not mallory.is_staff and not mallory.is_superuser and mallory.pk != 999


def test_log_in_returns_a_token_pair_and_a_wrong_password_is_a_401(anon: APIClient, alice: User) -> None:
    ok = anon.post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD})
    assert ok.status_code == 200 and {"access", "refresh"} <= set(ok.json())
    assert_error(anon.post("/api/v1/auth/token/", {"username": "alice", "password": "nope"}), 401)


def test_refresh_rotates_the_refresh_token_and_the_old_one_stops_working(anon: APIClient, alice: User) -> None:
    pair = anon.post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}).json()
    first = anon.post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]})
    assert first.status_code == 200 and first.json()["refresh"] != pair["refresh"]
    assert_error(anon.post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}), 401, "token_not_valid")


def test_log_out_blacklists_the_refresh_token(anon: APIClient, alice: User) -> None:
    pair = anon.post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}).json()
    assert anon.post("/api/v1/auth/logout/", {"refresh": pair["refresh"]}).status_code == 204
    assert_error(anon.post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}), 401)


def test_log_out_with_a_garbage_token_is_a_401_not_a_crash(anon: APIClient) -> None:
    assert_error(anon.post("/api/v1/auth/logout/", {"refresh": "not-a-token"}), 401, "token_not_valid")


def test_me_needs_a_valid_token(anon: APIClient) -> None:
    assert_error(anon.get("/api/v1/me/"), 401, "not_authenticated")
    anon.credentials(HTTP_AUTHORIZATION="Bearer not.a.jwt")
    assert_error(anon.get("/api/v1/me/"), 401, "token_not_valid")


@pytest.fixture(params=["memory", "redis"])
def throttle_cache(request: pytest.FixtureRequest, settings: Settings) -> Iterator[str]:
    """Throttles on a per-process cache (DRF's own counting) and on Redis (one round trip)."""
    if request.param == "memory":
        yield "memory"
        return
    url = request.getfixturevalue("redis_url").rsplit("/", 1)[0] + "/11"
    redis.Redis.from_url(url).flushdb()
    settings.CACHES = {"default": {"BACKEND": "recommender.cache.RedisCache", "LOCATION": url}}
    yield "redis"
    redis.Redis.from_url(url).flushdb()


def test_log_in_attempts_are_throttled_per_client(
    anon: APIClient, alice: User, settings: Settings, throttle_cache: str
) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "auth": "3/min"}}  # fmt: skip
    for _ in range(3):
        anon.post("/api/v1/auth/token/", {"username": "alice", "password": "guess"})
    response = anon.post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD})
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0


def test_anonymous_reads_are_throttled(anon: APIClient, settings: Settings, throttle_cache: str) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "2/min"}}  # fmt: skip
    assert anon.get("/api/v1/places/").status_code == 200
    assert anon.get("/api/v1/places/").status_code == 200
    assert_error(anon.get("/api/v1/places/"), 429, "throttled")


def test_signed_in_users_are_throttled_separately_from_each_other(
    as_alice: APIClient, settings: Settings, throttle_cache: str
) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "user": "1/min"}}  # fmt: skip
    assert as_alice.get("/api/v1/me/").status_code == 200
    assert_error(as_alice.get("/api/v1/me/"), 429)
    from tests.test_api_support import client_for, make_user

    assert client_for(make_user("bob")).get("/api/v1/me/").status_code == 200


def test_refused_requests_do_not_count_and_the_window_slides(
    anon: APIClient, settings: Settings, throttle_cache: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {
        **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "anon": "2/min"}}  # fmt: skip
    clock = [1_000_000.0]
    monkeypatch.setattr(SimpleRateThrottle, "timer", staticmethod(lambda: clock[0]))
    assert [anon.get("/api/v1/places/").status_code for _ in range(2)] == [200, 200]
    clock[0] += 30
    refused = [anon.get("/api/v1/places/") for _ in range(5)]
    assert {r.status_code for r in refused} == {429}
    assert int(refused[0]["Retry-After"]) == 30  # the first admitted request leaves the window in 30 s
    clock[0] += 31  # the two admitted requests have left the window; the refused ones never counted
    assert [anon.get("/api/v1/places/").status_code for _ in range(3)] == [200, 200, 429]


def test_cors_allows_only_configured_origins(anon: APIClient, settings: Settings) -> None:
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    allowed = anon.get("/api/v1/places/", HTTP_ORIGIN="https://app.example.com")
    other = anon.get("/api/v1/places/", HTTP_ORIGIN="https://evil.example.com")
    assert allowed["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "Access-Control-Allow-Origin" not in other
    assert "X-Model-Version" in allowed["Access-Control-Expose-Headers"]


def test_by_default_no_origin_is_allowed(anon: APIClient) -> None:
    response = anon.get("/api/v1/places/", HTTP_ORIGIN="https://app.example.com")
    assert "Access-Control-Allow-Origin" not in response
