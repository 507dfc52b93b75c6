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
