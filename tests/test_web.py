"""The app's entry points answer: pages, health check, OpenAPI schema, admin."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import translation

from recommender.templatetags.feed_tags import reason_text
from tests.factories import ClipFactory, PlaceFactory

pytestmark = pytest.mark.django_db


def test_home_shows_a_helpful_empty_state_when_there_is_no_data(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    # A visitor is told; the commands that fill the catalogue are for its staff.
    assert "the catalogue is empty" in page and "load_demo" not in page
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_user("boss", is_staff=True))
    assert "load_demo" in client.get("/").content.decode()


def test_home_shows_feeds_in_korean_and_english_with_a_reason_for_each_item(client: Client) -> None:
    PlaceFactory(name="카페 온도", district="연남동")
    ClipFactory(title="Seongsu bakery tour")
    page = client.get("/").content.decode()
    assert "카페 온도" in page and "연남동" in page
    assert "Seongsu bakery tour" in page
    assert page.count('class="reason"') == 2 and "Popular right now" in page
    assert "load_demo" not in page


def test_reasons_are_translated_into_korean(client: Client) -> None:
    PlaceFactory(name="카페 온도")
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="ko").content.decode()
    assert "지금 인기 있어요" in page


def test_health_check_reports_the_database(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_openapi_schema_is_served(client: Client) -> None:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Place & clip recommender API"


def test_admin_requires_login(client: Client) -> None:
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize("path", ["/", "/search/?q=cafe", "/accounts/login/", "/admin/login/", "/api/docs/"])
def test_every_html_page_carries_a_content_security_policy_without_inline_scripts(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy


def test_json_responses_do_not_need_a_policy(client: Client) -> None:
    assert "Content-Security-Policy" not in client.get("/healthz")


def test_every_reason_code_has_an_english_and_a_korean_line() -> None:
    codes = [
        "search",
        "similar",
        "collaborative",
        "new_match",
        "interests",
        "nearby",
        "usual_area",
        "pinned",
        "popular",
    ]
    for language in ("en", "ko"):
        with translation.override(language):
            lines = [reason_text({"code": code}) for code in codes]
        assert len(set(lines)) == len(codes), f"{language}: two codes share a line: {lines}"
    with translation.override("ko"):
        assert reason_text({"code": "new_match"}) == "새로 들어왔어요 · 취향이 비슷한 사람들이 좋아하는 것과 닮았어요"


def test_a_reasons_keywords_read_in_the_readers_language() -> None:
    reason = {"code": "popular", "keywords": ["quiet", "브런치"], "keyword_texts": ["조용한", "브런치"]}
    with translation.override("en"):
        assert reason_text(reason) == "Popular right now · quiet · 브런치"
    with translation.override("ko"):
        assert reason_text(reason).endswith(" · 조용한 · 브런치")
        # A feed cached before keyword_texts existed still renders, with its labels.
        assert reason_text({"code": "popular", "keywords": ["quiet"]}).endswith(" · quiet")


NEAR = {"code": "nearby", "distance_km": 0.3, "near": "망원 카페", "keywords": ["quiet"]}
AREA = {"code": "usual_area", "area": "성수동1가", "keywords": ["quiet"]}
CLIPS_AREA = {"code": "usual_area", "area": "성수동1가", "via": "clips", "keywords": []}

# A reason, and its line in English and in Korean. A reason names only what the history shows:
# "been" false = only saved or liked, never visited (clips: never watched), so no visit is claimed.
REASON_LINES = [
    (
        {"code": "collaborative", "item": "망원 카페", "keywords": ["quiet"]},
        "People who went to 망원 카페 also went here · quiet",
        "망원 카페에 다녀간 사람들이 여기도 갔어요 · quiet",
    ),
    (
        {"code": "collaborative", "item": "Han river at dusk", "via": "clips", "keywords": []},
        "People who watched “Han river at dusk” also watched this",
        "“Han river at dusk”을(를) 본 사람들이 이 클립도 봤어요",
    ),
    ({"code": "nearby", "distance_km": 0.3}, "Nearby · 0.3 km", "가까워요 · 0.3 km"),
    (NEAR, "0.3 km from 망원 카페, where you have been · quiet", "다녀간 망원 카페에서 0.3 km · quiet"),
    (
        {**NEAR, "been": False},
        "0.3 km from 망원 카페, which you saved or liked · quiet",
        "저장하거나 좋아한 망원 카페에서 0.3 km · quiet",
    ),
    (
        {**NEAR, "via": "clips"},
        "0.3 km from 망원 카페, seen in clips you watched · quiet",
        "본 클립 속 망원 카페에서 0.3 km · quiet",
    ),
    (
        {**NEAR, "via": "clips", "been": False},
        "0.3 km from 망원 카페, seen in clips you liked · quiet",
        "좋아한 클립 속 망원 카페에서 0.3 km · quiet",
    ),
    (AREA, "In 성수동1가, where you often go · quiet", "자주 가는 성수동1가에 있어요 · quiet"),
    (
        {**AREA, "been": False},
        "In 성수동1가, near places you saved or liked · quiet",
        "저장하거나 좋아한 곳이 있는 성수동1가에 있어요 · quiet",
    ),
    ({**CLIPS_AREA, "been": True}, "In 성수동1가, seen in clips you watched", "본 클립 속 성수동1가에 있어요"),
    ({**CLIPS_AREA, "been": False}, "In 성수동1가, seen in clips you liked", "좋아한 클립 속 성수동1가에 있어요"),
]


@pytest.mark.parametrize(("reason", "english", "korean"), REASON_LINES)
def test_a_reason_reads_in_either_language_and_claims_only_what_the_history_shows(
    reason: dict, english: str, korean: str
) -> None:
    with translation.override("en"):
        assert reason_text(reason) == english
    with translation.override("ko"):
        assert reason_text(reason) == korean
