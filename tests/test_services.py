"""Write actions shared by every entry point, and the readable interest profile."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from recommender.models import Interaction, Keyword, Polarity, QueryIntent, SearchQuery
from recommender.services import InvalidAction, interest_profile, record_interaction, record_search, write_review
from tests.factories import ClipFactory, PlaceFactory, ReviewFactory, SearchQueryFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_like_is_recorded_with_its_default_weight() -> None:
    alice, place = UserFactory(), PlaceFactory()
    interaction, created = record_interaction(alice, place, "like")
    assert created and interaction.place == place and interaction.weight == 4.0


def test_a_retried_upload_with_the_same_key_is_not_counted_twice() -> None:
    alice, clip = UserFactory(), ClipFactory()
    first, created = record_interaction(alice, clip, "watch", watched_fraction=0.5, idempotency_key="evt-1")
    again, created_again = record_interaction(alice, clip, "watch", watched_fraction=0.5, idempotency_key="evt-1")
    assert created and not created_again and again.pk == first.pk
    assert Interaction.objects.count() == 1


@pytest.mark.parametrize(
    ("kind", "fraction", "message"),
    [
        ("love", None, "unknown interaction kind 'love'"),
        ("watch", None, "watched_fraction between 0 and 1"),
        ("watch", 1.5, "watched_fraction between 0 and 1"),
        ("like", 0.5, "only for watch events"),
    ],
)
def test_invalid_events_are_refused_with_a_reason_and_nothing_is_stored(
    kind: str, fraction: float | None, message: str
) -> None:
    with pytest.raises(InvalidAction, match=message):
        record_interaction(UserFactory(), ClipFactory(), kind, watched_fraction=fraction)
    assert Interaction.objects.count() == 0


def test_places_cannot_be_watched_and_events_cannot_come_from_the_future() -> None:
    with pytest.raises(InvalidAction, match="only clips"):
        record_interaction(UserFactory(), PlaceFactory(), "watch", watched_fraction=1.0)
    with pytest.raises(InvalidAction, match="future"):
        record_interaction(UserFactory(), PlaceFactory(), "like", occurred_at=timezone.now() + dt.timedelta(hours=1))


def test_a_search_is_recorded_trimmed_and_refused_when_empty_or_too_long() -> None:
    alice = UserFactory()
    query = record_search(alice, "  성수동   조용한 카페 ")
    assert SearchQuery.objects.get(pk=query.pk).text == "성수동 조용한 카페"
    with pytest.raises(InvalidAction, match="some text"):
        record_search(alice, "   ")
    with pytest.raises(InvalidAction, match="at most 500"):
        record_search(alice, "x" * 501)
    assert SearchQuery.objects.count() == 1


def test_the_interest_profile_combines_searches_reviews_and_liked_places() -> None:
    alice = UserFactory()
    quiet = Keyword.objects.create(text="조용한", language="ko", tag_en="quiet")
    view = Keyword.objects.create(text="river view", language="en", tag_en="river view")
    noisy = Keyword.objects.create(text="시끄러운", language="ko", tag_en="noisy")
    hidden = Keyword.objects.create(text="spam", language="en", is_hidden=True)
    search = SearchQueryFactory(user=alice, intent=QueryIntent.INTEREST)
    search.keyword_links.create(keyword=quiet, weight=1.0)
    search.keyword_links.create(keyword=hidden, weight=1.0)
    task = SearchQueryFactory(user=alice, intent=QueryIntent.TASK)
    task.keyword_links.create(keyword=noisy, weight=1.0)
    review = ReviewFactory(user=alice)
    review.keyword_links.create(keyword=noisy, weight=1.0, polarity=Polarity.NEGATIVE)
    place = PlaceFactory()
    place.keyword_links.create(keyword=view, weight=0.8, source="reviews")
    record_interaction(alice, place, "save")

    profile = interest_profile(alice)

    assert [k.tag_en for k in profile] == ["quiet", "river view"]
    assert profile[0].sources == {"search"} and profile[1].sources == {"liked"}


def test_places_only_seen_or_clicked_then_disliked_lend_the_profile_no_keywords() -> None:
    alice = UserFactory()
    saved, seen, regretted = PlaceFactory(), PlaceFactory(), PlaceFactory()
    for place, tag in ((saved, "rooftop"), (seen, "vinyl"), (regretted, "loud")):
        place.keyword_links.create(keyword=Keyword.objects.create(text=tag, language="en", tag_en=tag), weight=1.0)
    record_interaction(alice, saved, "save")
    record_interaction(alice, seen, "view")  # shown in a list: no sign of taste
    record_interaction(alice, regretted, "click")
    record_interaction(alice, regretted, "dislike")  # net -3: not liked

    assert [k.tag_en for k in interest_profile(alice)] == ["rooftop"]


def test_a_place_reviewed_with_a_low_rating_lends_the_profile_no_keywords(settings: Any) -> None:
    alice = UserFactory()
    fine, poor = PlaceFactory(), PlaceFactory()
    for place, tag in ((fine, "rooftop"), (poor, "loud")):
        place.keyword_links.create(keyword=Keyword.objects.create(text=tag, language="en", tag_en=tag), weight=1.0)
    write_review(alice, fine, rating=3)
    write_review(alice, poor, rating=2)  # both reviews record their visits

    assert [k.tag_en for k in interest_profile(alice)] == ["rooftop"]
    settings.REVIEW_LOW_RATING = 0
    assert {k.tag_en for k in interest_profile(alice)} == {"rooftop", "loud"}


def test_a_heavy_searchers_profile_keeps_their_newest_searches() -> None:
    # 100 old searches with 500 keyword links fill the cut; the newest search must not be the one cut.
    from recommender.models import SearchQueryKeyword

    user = UserFactory()
    old = timezone.now() - dt.timedelta(days=60)
    words = Keyword.objects.bulk_create([Keyword(text=f"old {i}", language="en") for i in range(500)])
    searches = SearchQuery.objects.bulk_create(
        [SearchQuery(user=user, text=f"q{i}", created_at=old, intent=QueryIntent.INTEREST) for i in range(100)]
    )
    SearchQueryKeyword.objects.bulk_create(
        [SearchQueryKeyword(query=searches[i // 5], keyword=k, weight=0.2) for i, k in enumerate(words)]
    )
    fresh = SearchQuery.objects.create(
        user=user, text="한강 카페", created_at=timezone.now(), intent=QueryIntent.INTEREST
    )
    fresh.keyword_links.create(keyword=Keyword.objects.create(text="한강 카페", language="ko"), weight=1.0)
    assert interest_profile(user, limit=50)[0].text == "한강 카페"


def test_a_muted_interest_leaves_the_profile_and_the_interest_vector_until_unmuted() -> None:
    import numpy as np

    from recommender.models import UserProfile
    from recommender.services import mute_keyword, unmute_keyword

    alice = UserFactory()
    vectors = np.eye(384, dtype=np.float32)
    quiet = Keyword.objects.create(text="quiet", language="en", tag_en="quiet", embedding=vectors[0])
    view = Keyword.objects.create(text="river view", language="en", tag_en="river view", embedding=vectors[1])
    search = SearchQueryFactory(user=alice, intent=QueryIntent.INTEREST)
    search.keyword_links.create(keyword=quiet, weight=1.0)
    search.keyword_links.create(keyword=view, weight=0.5)

    assert mute_keyword(alice, quiet.pk) is True
    assert [k.tag_en for k in interest_profile(alice)] == ["river view"]
    vector = np.asarray(UserProfile.objects.get(user=alice).interest_embedding)
    assert vector[0] == 0 and vector[1] > 0.99

    assert unmute_keyword(alice, quiet.pk) is True
    assert [k.tag_en for k in interest_profile(alice)] == ["quiet", "river view"]
    assert np.asarray(UserProfile.objects.get(user=alice).interest_embedding)[0] > 0.5
    assert mute_keyword(alice, 999999) is False and unmute_keyword(alice, quiet.pk) is False


def test_a_keyword_muted_before_any_search_is_extracted_leaves_the_onboarding_vector_at_once() -> None:
    import numpy as np

    from recommender.models import UserProfile
    from recommender.services import mute_keyword, start_with_interests, unmute_keyword

    alice = UserFactory()
    vectors = np.eye(384, dtype=np.float32)
    quiet = Keyword.objects.create(text="조용한", language="ko", tag_en="quiet", embedding=vectors[0])
    view = Keyword.objects.create(text="river view", language="en", tag_en="river view", embedding=vectors[1])
    start_with_interests(alice, [quiet.pk, view.pk])  # no worker runs here: nothing is extracted

    def vector() -> np.ndarray:
        return np.asarray(UserProfile.objects.get(user=alice).interest_embedding)

    assert vector()[0] == pytest.approx(vector()[1]) == pytest.approx(2**-0.5)
    mute_keyword(alice, quiet.pk)
    assert vector()[0] == 0 and vector()[1] == pytest.approx(1.0)
    unmute_keyword(alice, quiet.pk)
    assert vector()[0] == pytest.approx(2**-0.5)
    mute_keyword(alice, quiet.pk)
    mute_keyword(alice, view.pk)  # nothing left to lean towards
    assert UserProfile.objects.get(user=alice).interest_embedding is None


def test_onboarding_leaves_out_muted_keywords_and_matches_names_whatever_their_case() -> None:
    import numpy as np

    from recommender.models import MutedKeyword, UserProfile
    from recommender.services import start_with_interests

    alice = UserFactory()
    vectors = np.eye(384, dtype=np.float32)
    quiet = Keyword.objects.create(text="조용한", language="ko", tag_en="quiet", embedding=vectors[0])
    Keyword.objects.create(text="jazz bar", language="en", tag_en="jazz bar", embedding=vectors[1])
    MutedKeyword.objects.create(user=alice, keyword=quiet)
    start_with_interests(alice, [quiet.pk], "Jazz Bar")  # a muted pick, and a tag typed in capitals
    vector = np.asarray(UserProfile.objects.get(user=alice).interest_embedding)
    assert vector[1] == pytest.approx(1.0) and vector[0] == 0


def test_progress_reports_of_one_viewing_keep_the_furthest_point_reached() -> None:
    alice, clip = UserFactory(), ClipFactory()
    record_interaction(alice, clip, "watch", watched_fraction=0.4, idempotency_key="view-1")
    record_interaction(alice, clip, "watch", watched_fraction=1.0, idempotency_key="view-1")
    record_interaction(alice, clip, "watch", watched_fraction=0.7, idempotency_key="view-1")  # a late, older report
    watch = Interaction.objects.get()
    assert watch.watched_fraction == 1.0 and watch.weight == pytest.approx(5.0)
