"""One error shape everywhere, no tracebacks, and a schema + Swagger UI served from local files."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from tests import test_api_support as support
from tests.factories import PlaceFactory
from tests.test_api_support import assert_error

pytestmark = pytest.mark.django_db

# Shared fixtures (pytest finds fixtures by name in the module).
alice = support.alice
anon = support.anon
as_alice = support.as_alice
fresh_throttle_counters = support.fresh_throttle_counters


def test_an_unexpected_exception_is_a_json_500_without_a_traceback(anon: APIClient, settings: Any) -> None:
    settings.DEBUG = True  # even in development the API never shows a debug page
    with mock.patch("recommender.api.catalog.filter_catalogue", side_effect=RuntimeError("secret detail")):
        response = anon.get("/api/v1/places/")
    assert response.status_code == 500
    body = response.json()
    assert body["error"]["code"] == "server_error" and "secret" not in response.content.decode()


def test_a_wrong_method_is_a_405_in_the_error_format(anon: APIClient) -> None:
    assert_error(anon.delete("/api/v1/places/"), 405, "method_not_allowed")


def test_validation_errors_name_each_field(anon: APIClient) -> None:
    body = assert_error(anon.get("/api/v1/feed/places/?limit=0&lat=100&lon=0"), 400, "invalid")
    assert set(body["error"]["fields"]) == {"limit", "lat"}


def test_an_unsupported_media_type_is_a_415(as_alice: APIClient) -> None:
    place = PlaceFactory()
    response = as_alice.post(f"/api/v1/places/{place.pk}/reviews/", "rating=5", content_type="text/csv")
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize("url", ["/api/v1/auth/signup/", "/api/v1/auth/token/"])
def test_json_nested_too_deeply_is_a_400_not_a_500(url: str) -> None:
    client = APIClient(raise_request_exception=False)
    body = ("[" * 50_000 + "]" * 50_000).encode()  # 100 kB, under the size limit: Python's json recursed per level
    body_error = assert_error(client.generic("POST", url, body, content_type="application/json"), 400, "parse_error")
    assert "nested too deeply" in body_error["error"]["message"]


@pytest.mark.parametrize(
    "event",
    [
        '{"item_type": "place", "item_id": %d, "kind": "like", "event_id": "\\ud800"}',
        '{"item_type": "\\ud800", "item_id": %d, "kind": "like"}',
        '{"item_type": "place", "item_id": %d, "kind": "\\udfff"}',
    ],
)
def test_a_lone_surrogate_in_a_json_string_is_a_400_not_a_500(as_alice: APIClient, event: str) -> None:
    # Valid JSON, but no text: echoed back in a field's error message, the answer could not be encoded.
    as_alice.raise_request_exception = False
    place = PlaceFactory()
    body = '{"events": [%s]}' % (event % place.pk)
    response = as_alice.generic("POST", "/api/v1/interactions/", body.encode(), content_type="application/json")
    assert "surrogate" in assert_error(response, 400, "parse_error")["error"]["message"]
    # Korean and emoji (a surrogate pair in JSON escapes) are text, and fine.
    fine = '{"events": [{"item_type": "place", "item_id": %d, "kind": "like", "event_id": "좋아\\ud83d\\ude00"}]}'
    ok = as_alice.generic("POST", "/api/v1/interactions/", (fine % place.pk).encode(), content_type="application/json")
    assert ok.status_code in (200, 201), ok.content


def test_the_schema_describes_every_api_endpoint() -> None:
    schema = Client().get("/api/schema/?format=json").json()
    paths = set(schema["paths"])
    for expected in (
        "/api/v1/auth/signup/", "/api/v1/auth/token/", "/api/v1/auth/token/refresh/", "/api/v1/auth/logout/",
        "/api/v1/me/", "/api/v1/me/interests/", "/api/v1/me/export/", "/api/v1/places/",
        "/api/v1/places/{place_id}/", "/api/v1/places/{place_id}/similar/", "/api/v1/places/{place_id}/reviews/",
        "/api/v1/reviews/{review_id}/", "/api/v1/clips/", "/api/v1/clips/{clip_id}/",
        "/api/v1/clips/{clip_id}/similar/", "/api/v1/interactions/", "/api/v1/searches/",
        "/api/v1/feed/places/", "/api/v1/feed/clips/",
    ):  # fmt: skip
        assert expected in paths
    feed_params = {p["name"] for p in schema["paths"]["/api/v1/feed/places/"]["get"]["parameters"]}
    assert {"lat", "lon", "radius_km", "limit", "open_now", "explain"} <= feed_params
    assert "400" in schema["paths"]["/api/v1/places/"]["get"]["responses"]
    assert "jwtAuth" in schema["components"]["securitySchemes"]
    assert {"jwtAuth": []} in schema["paths"]["/api/v1/feed/places/"]["get"]["security"]


def test_the_schema_is_generated_without_warnings(tmp_path: Path) -> None:
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "schema.yml"))
    assert (tmp_path / "schema.yml").read_text().startswith("openapi:")


def test_swagger_ui_is_served_from_local_assets_not_a_cdn() -> None:
    page = Client().get("/api/docs/").content.decode()
    assert "swagger-ui" in page and "cdn" not in page.lower() and "unpkg" not in page
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in page
