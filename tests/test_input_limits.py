"""Every list has a page-size cap, and oversized bodies, texts and arrays get a 4xx, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.cache import cache

from recommender.api.pagination import MAX_PAGE_SIZE
from tests import test_authorization_matrix as matrix
from tests.test_authorization_matrix import MATRIX, World, client_for, url_for

pytestmark = pytest.mark.django_db

fast_passwords = matrix.fast_passwords
world = matrix.world

API_GETS = sorted(route for route, ops in MATRIX.items() if route.startswith("api/v1/") and "get" in ops)
API_WRITES = sorted(
    (route, method)
    for route, ops in MATRIX.items()
    if route.startswith("api/v1/")
    for method in ops
    if method in ("post", "put", "patch")
)


@pytest.mark.parametrize("route", API_GETS)
def test_no_list_returns_more_than_the_page_size_cap_whatever_is_asked(world: World, route: str) -> None:
    cache.clear()
    url = url_for(route, world)
    response = client_for("alice", world, route).get(url, {"page_size": 100_000, "limit": 100_000})
    assert response.status_code < 500
    if response.status_code == 200 and isinstance(body := response.json(), dict):
        for key in ("results", "items"):
            if key in body:
                assert len(body[key]) <= MAX_PAGE_SIZE, (route, len(body[key]))


@pytest.mark.parametrize(("route", "method"), API_WRITES)
def test_an_oversized_body_is_refused_with_a_4xx(world: World, route: str, method: str) -> None:
    cache.clear()
    role = "anonymous" if "auth/" in route else "alice"
    body = json.dumps({"text": "가" * 3_000_000, "events": [], "password": "x"})  # ~9 MB of UTF-8
    response = getattr(client_for(role, world, route), method)(
        url_for(route, world), body, content_type="application/json"
    )
    assert 400 <= response.status_code < 500, (route, response.status_code)


@pytest.mark.parametrize(
    ("route", "payload"),
    [
        ("api/v1/places/<int:place_id>/reviews/", {"rating": 5, "text": "x" * 100_000}),
        ("api/v1/searches/", {"text": "카페 " * 10_000}),
        ("api/v1/interactions/", {"events": [{"item_type": "place", "item_id": 1, "kind": "view"}] * 10_000}),
        ("api/v1/auth/signup/", {"username": "u" * 10_000, "password": "correct horse battery staple"}),
    ],
    ids=["review text", "search text", "event array", "username"],
)
def test_over_long_texts_and_arrays_are_a_400_that_names_the_field(
    world: World, route: str, payload: dict[str, Any]
) -> None:
    cache.clear()
    role = "anonymous" if "auth/" in route else "alice"
    response = client_for(role, world, route).post(url_for(route, world), payload, format="json")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"]["fields"]


def test_an_oversized_web_form_is_a_413_page(world: World) -> None:
    client = client_for("alice", world, "places/<int:place_id>/review/")
    response = client.post(url_for("places/<int:place_id>/review/", world), {"rating": 5, "text": "x" * 3_000_000})
    assert response.status_code == 413 and b"larger than" in response.content
