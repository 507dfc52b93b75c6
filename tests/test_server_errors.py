"""What a page answers when something breaks: a 503 to retry when the database is down, else a 500."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client
from pytest_django.fixtures import Settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def production(settings: Settings) -> Client:
    settings.DEBUG = False
    return Client(raise_request_exception=False)


def test_a_lost_database_on_a_page_is_a_bilingual_503_with_retry_after(production: Client) -> None:
    with mock.patch(
        "recommender.web.feed.cached_recommend", side_effect=OperationalError("server closed the connection")
    ):
        response = production.get("/")
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    text = response.content.decode()
    assert "Briefly unavailable" in text and "잠시 이용할 수 없어요" in text and "server closed" not in text


def test_a_lost_database_in_the_api_is_a_json_503(production: Client) -> None:
    with mock.patch("recommender.api.catalog.filter_catalogue", side_effect=OperationalError("gone")):
        response = production.get("/api/v1/places/")
    assert response.status_code == 503 and response["Retry-After"]
    assert response.json()["error"]["code"] == "unavailable"


def test_any_other_failure_on_a_page_is_the_plain_500_page_without_details(production: Client) -> None:
    with mock.patch("recommender.web.feed.cached_recommend", side_effect=RuntimeError("secret detail")):
        response = production.get("/")
    assert response.status_code == 500
    assert "Retry-After" not in response
    assert "Something went wrong" in response.content.decode() and "secret" not in response.content.decode()


@pytest.fixture
def redis_down(settings: Settings) -> None:
    # Nothing listens on port 1: the shared cache (LLM quotas, throttles, feeds) is out.
    settings.CACHES = {"default": {"BACKEND": "recommender.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}}
    settings.LLM_SUBMISSIONS_PER_DAY = 50


def test_a_search_while_redis_is_down_is_a_503_to_retry_and_records_nothing(
    settings: Settings, redis_down: None
) -> None:
    from recommender.models import SearchQuery
    from tests.test_api_support import client_for, make_user

    client = client_for(make_user("searcher"))
    client.raise_request_exception = False
    response = client.post("/api/v1/searches/", {"text": "한강 뷰 카페"}, format="json")
    assert response.status_code == 503, response.content
    assert response.json()["error"]["code"] == "unavailable" and int(response["Retry-After"]) > 0
    assert not SearchQuery.objects.exists()  # nothing half-done: the quota is counted before the write
    assert client.get("/api/v1/feed/places/").status_code == 200  # reads that need no quota still work


def test_a_page_that_needs_redis_while_it_is_down_is_the_503_page(production: Client, redis_down: None) -> None:
    from tests.test_api_support import make_user

    production.force_login(make_user("searcher"))
    response = production.post("/search/", {"q": "quiet cafe"})
    assert response.status_code == 503 and int(response["Retry-After"]) > 0
