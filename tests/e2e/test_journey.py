"""A new person's whole journey in a real browser, in English then Korean, with screenshots of each page."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import User

from places.models import Review
from recommender.models import MutedKeyword, PlaceKeyword
from tests.factories import ClipFactory, KeywordFactory, PlaceFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-pass-phrase-42"
HOURS = {day: [["08:00", "23:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def unit(seed: int, near: list[float] | None = None) -> list[float]:
    vector = np.random.default_rng(seed).normal(size=384)
    if near is not None:
        vector = np.asarray(near) * 12 + vector * 0.5  # close to ``near``
    return (vector / np.linalg.norm(vector)).tolist()


@pytest.fixture
def catalogue(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    sent: list[tuple[str, int]] = []
    monkeypatch.setattr("recommender.enqueue.send", lambda task, row_id: sent.append((task, row_id)))
    tags = [("조용한", "quiet"), ("강이 보이는", "river view"), ("디저트", "dessert"), ("야경", "night view")]
    keywords = [KeywordFactory(text=t, language="ko", tag_en=e, embedding=unit(i)) for i, (t, e) in enumerate(tags)]
    places = []
    names = ["Hangang Quiet Café", "Riverside Reading Room", "Sugar Rush Desserts", "Namsan Night Bar", "Mapo Noodles"]
    for i, name in enumerate(names):
        near = keywords[min(i, 3)].embedding
        place = PlaceFactory(
            name=name, category="cafe" if i < 3 else "bar", district=["Mapo", "Yongsan"][i % 2],
            embedding=unit(100 + i, list(near)), opening_hours=HOURS, description=f"{name} in Seoul.",
        )  # fmt: skip
        PlaceKeyword.objects.create(place=place, keyword=keywords[min(i, 3)], weight=1.0, count=2)
        places.append(place)
    clips = [
        ClipFactory(
            title=f"A tour of {p.name}", place=p, creator="seoul.walks", embedding=unit(200 + i, list(p.embedding))
        )
        for i, p in enumerate(places[:4])
    ]
    clips[0].media_url = f"{live_server.url}/static/missing-video.mp4"
    clips[0].save()
    return {"places": places, "clips": clips, "keywords": keywords, "sent": sent, "url": live_server.url}


def place_titles(page: Any) -> list[str]:
    return page.locator("#places-title + .grid .card-title").all_inner_texts()


def test_a_new_person_signs_up_gets_a_feed_at_once_and_controls_their_data(
    page: Any, browser: Any, catalogue: dict[str, Any], shot: Any
) -> None:
    url = catalogue["url"]
    page.goto(url + "/")
    shot(page, "home-en-anonymous")
    assert page.locator(".reason").count() >= 2

    page.click("text=Sign up")
    page.fill("#id_username", "mina")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    shot(page, "signup-en")
    page.click("button:has-text('Create account')")
    assert page.locator("#onboarding-title").is_visible()
    shot(page, "onboarding-en")

    # Cold start: two picks and the feed follows them at once, saying why.
    page.check("label.tag-choice:has-text('quiet') input")
    page.check("label.tag-choice:has-text('river view') input")
    page.click("text=Show my feed")
    assert page.locator("#onboarding-title").count() == 0
    assert page.locator(".reason", has_text="Matches the interests you picked").count() >= 1
    top_two = place_titles(page)[:2]
    assert set(top_two) == {"Hangang Quiet Café", "Riverside Reading Room"}
    shot(page, "home-en")

    # Not interested takes the item out of the feed; like is acknowledged.
    first = place_titles(page)[0]
    page.locator(".place-card", has_text=first).locator("button:has-text('Not interested')").click()
    assert first not in place_titles(page)
    page.locator(".place-card").first.locator("button:has-text('Like')").click()
    assert page.locator(".message", has_text="Liked").is_visible()

    # Search from the header; the query is recorded for the worker.
    page.fill("#header-q", "desserts")
    page.press("#header-q", "Enter")
    assert page.locator("#place-results + .grid", has_text="Sugar Rush Desserts").is_visible()
    shot(page, "search-en")

    # A review; keywords appear once the worker's task has run (called here in-process).
    cafe = catalogue["places"][0]
    page.goto(f"{url}/places/{cafe.pk}/")
    page.select_option("#id_rating", "5")
    page.fill("#id_text", "조용하고 한강이 보여서 좋아요. Quiet café with a river view, great for studying.")
    page.click("button:has-text('Post review')")
    assert page.locator(".message", has_text="Thanks for your review").is_visible()
    review = Review.objects.get(user__username="mina")
    assert any(task.endswith("extract_review_keywords") and rid == review.pk for task, rid in catalogue["sent"])
    from workers.tasks import extract_review_keywords

    assert extract_review_keywords(review.pk) == "stored"
    page.reload()
    assert page.locator("#place-keywords .tag").count() >= 1
    shot(page, "place-en")

    page.goto(f"{url}/clips/{catalogue['clips'][0].pk}/")
    assert page.locator("video.player").count() == 1
    shot(page, "clip-en")

    # Profile: remove a learned interest.
    page.goto(f"{url}/me/")
    interests = page.locator(".interest")
    before = interests.count()
    assert before >= 1
    label = interests.first.locator("span").first.inner_text()
    interests.first.locator("button.remove").click()
    assert page.locator(".message", has_text="Removed").is_visible()
    assert page.locator(".interest").count() == before - 1
    assert MutedKeyword.objects.filter(user__username="mina").count() == 1
    assert label not in page.locator(".interest-list").first.inner_text()
    shot(page, "profile-en")

    # Korean: the switch in the header; every page again.
    page.click(".lang-switch button")
    assert page.locator("html").get_attribute("lang") == "ko"
    for path, name in [
        ("/", "home-ko"),
        ("/search/?q=cafe", "search-ko"),
        (f"/places/{cafe.pk}/", "place-ko"),
        (f"/clips/{catalogue['clips'][0].pk}/", "clip-ko"),
        ("/me/", "profile-ko"),
    ]:
        page.goto(url + path)
        assert re.search("[가-힣]", page.locator("h1").inner_text() + page.locator(".site-header").inner_text())
        shot(page, name)

    for language in ("en", "ko"):
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale=language)
        phone_page = phone.new_page()
        phone_page.goto(url + "/")
        assert phone_page.locator("html").get_attribute("lang") == language
        shot(phone_page, f"home-{language}-phone")
        phone.close()

    # Delete the account: password confirmation, then everything is gone.
    page.goto(f"{url}/me/delete/")
    page.fill("#id_password", "wrong password")
    page.click("button.danger")
    assert page.locator("#password-error").is_visible()
    page.fill("#id_password", PASSWORD)
    page.click("button.danger")
    assert not User.objects.filter(username="mina").exists()
    assert not Review.objects.filter(pk=review.pk).exists()
    shot(page, "deleted-ko")
