"""Curator pages in a real browser: a curator signs in, makes a rule, previews a feed; screenshots of each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from pytest_django.fixtures import Settings

from recommender.models import CuratorRule, CuratorRuleChange, Keyword
from recommender.training import train_model
from tests.factories import InteractionFactory, PlaceFactory, ReviewFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def curator() -> User:
    user = User.objects.create_user("cora", password="curator-pass-1", is_staff=True)
    user.groups.add(Group.objects.get(name="Curators"))
    return user


def test_a_curator_boosts_a_place_previews_the_feed_and_checks_the_pipeline(
    page: Any, live_server: Any, shot: Any, curator: User, settings: Settings, tmp_path: Path
) -> None:
    settings.MODEL_ARTIFACTS_DIR = tmp_path
    alice = UserFactory(username="alice")
    places = [
        PlaceFactory(name=name, category="cafe") for name in ("Cafe Onion", "Riverside Reading Room", "Hidden Gem")
    ]
    for place in places[:2]:
        for _ in range(3):
            InteractionFactory(place=place)
    InteractionFactory(place=places[2])  # a little evidence: a boost multiplies the score it has
    InteractionFactory(user=alice, place=places[0])
    ReviewFactory(place=places[1], text="조용한 카페")
    Keyword.objects.create(text="조용한", language="ko", tag_en="quiet")
    train_model("place")

    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "cora")
    page.fill("#id_password", "curator-pass-1")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    assert "Users" not in page.inner_text("#content-main")  # curators do not manage accounts
    shot(page, "admin-index")

    page.goto(f"{live_server.url}/admin/recommender/curatorrule/add/")
    page.select_option("#id_action", "boost")
    page.fill("#id_place", str(places[2].pk))
    page.fill("#id_factor", "50")
    page.fill("#id_note", "autumn feature")
    shot(page, "admin-rule-add")
    page.click("input[name=_save]")
    page.wait_for_selector(".messagelist")
    assert CuratorRule.objects.get().factor == 50
    assert CuratorRuleChange.objects.get().changed_by == curator
    shot(page, "admin-rules")

    page.click("text=Preview a feed")
    page.fill("#id_user", "alice")
    page.click("input[value=Preview]")
    after, before = page.inner_text("#content").split("Before rules")
    assert after.index("Hidden Gem") < after.index("Riverside Reading Room")  # the boost applies
    assert before.index("Riverside Reading Room") < before.index("Hidden Gem")
    shot(page, "admin-preview")

    page.goto(f"{live_server.url}/admin/recommender/modelversion/")
    assert "place-" in page.inner_text("#result_list")
    shot(page, "admin-model-versions")

    page.goto(f"{live_server.url}/admin/places/review/")
    shot(page, "admin-reviews")
    page.goto(f"{live_server.url}/admin/recommender/keyword/")
    shot(page, "admin-keywords")
