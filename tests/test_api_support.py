"""Fixtures and helpers shared by the API tests (this module holds no tests).

Import the fixtures a test module needs, e.g.
``from tests.test_api_support import alice, anon, as_alice, bob, as_bob  # noqa: F401``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def fresh_throttle_counters() -> Iterator[None]:
    """Throttle counters live in the cache; each test starts from zero."""
    cache.clear()
    yield
    cache.clear()


def make_user(username: str) -> User:
    user = UserFactory(username=username)
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    return user


def client_for(user: User | None) -> APIClient:
    """A client that sends a real JWT access token for ``user`` (anonymous for None)."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def alice(db: None) -> User:
    return make_user("alice")


@pytest.fixture
def bob(db: None) -> User:
    return make_user("bob")


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


@pytest.fixture
def as_alice(alice: User) -> APIClient:
    return client_for(alice)


@pytest.fixture
def as_bob(bob: User) -> APIClient:
    return client_for(bob)


def assert_error(response: Any, status: int, code: str | None = None, field: str | None = None) -> dict[str, Any]:
    """The response is a JSON error of ``status`` in the API's one error shape; returns its body."""
    assert response.status_code == status, (response.status_code, getattr(response, "content", b"")[:500])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["message"] and "Traceback" not in body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    if field is not None:
        assert field in body["error"]["fields"], body
    return body
