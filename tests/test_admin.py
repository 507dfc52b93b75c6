"""Curator tools in the Django admin: reachable by staff only, and each action does its job."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from pytest_django.fixtures import Settings

from places.models import Place, Review
from recommender.models import (
    CuratorRule,
    CuratorRuleChange,
    Keyword,
    ModelVersion,
    PipelineStatus,
    PlaceKeyword,
    ReviewKeyword,
)
from recommender.training import train_model
from tests.factories import ClipFactory, InteractionFactory, PlaceFactory, ReviewFactory, UserFactory

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"
    for model in admin.site._registry
    if model._meta.app_label in {"places", "clips", "recommender"}
]


@pytest.fixture
def staff_client(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


@pytest.mark.parametrize("url_name", CHANGELISTS)
def test_a_signed_in_person_without_staff_status_cannot_reach_any_curator_page(client: Client, url_name: str) -> None:
    client.force_login(UserFactory(username="mallory"))
    response = client.get(reverse(url_name))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize("url_name", CHANGELISTS)
def test_every_curator_list_page_loads_with_data(staff_client: Client, url_name: str) -> None:
    review = ReviewFactory(text="조용한 카페")
    keyword = Keyword.objects.create(text="조용한", language="ko", tag_en="quiet")
    ReviewKeyword.objects.create(review=review, keyword=keyword)
    ClipFactory(place=review.place)
    InteractionFactory(place=review.place)
    response = staff_client.get(reverse(url_name))
    assert response.status_code == 200


def test_a_rule_saved_in_the_admin_is_audited_with_its_author(staff_client: Client) -> None:
    place = PlaceFactory(name="Cafe Onion")
    response = staff_client.post(
        reverse("admin:recommender_curatorrule_add"),
        {"action": "boost", "scope": "all", "is_active": "on", "place": place.pk, "factor": "2.5", "note": "autumn"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = CuratorRule.objects.get()
    change = CuratorRuleChange.objects.get()
    assert change.changed_by is not None and change.changed_by.username == "boss"
    assert change.rule_id_value == rule.pk and change.action == "created"


def test_an_invalid_rule_is_refused_with_a_message_and_not_saved(staff_client: Client) -> None:
    response = staff_client.post(
        reverse("admin:recommender_curatorrule_add"),
        {"action": "boost", "scope": "all", "is_active": "on", "category": "cafe", "factor": "0.5"},
    )
    assert response.status_code == 200  # the form again, with errors
    assert "errornote" in response.content.decode()
    assert not CuratorRule.objects.exists() and not CuratorRuleChange.objects.exists()


def test_merging_keywords_moves_their_links_to_the_first(staff_client: Client) -> None:
    quiet = Keyword.objects.create(text="quiet", language="en", tag_en="quiet")
    calm = Keyword.objects.create(text="calm", language="en", tag_en="quiet")
    first, second = ReviewFactory(), ReviewFactory()
    ReviewKeyword.objects.create(review=first, keyword=quiet)
    ReviewKeyword.objects.create(review=first, keyword=calm, weight=0.9)
    ReviewKeyword.objects.create(review=second, keyword=calm)
    staff_client.post(
        reverse("admin:recommender_keyword_changelist"),
        {"action": "merge_into_first", "_selected_action": [quiet.pk, calm.pk]},
    )
    assert not Keyword.objects.filter(pk=calm.pk).exists()
    assert ReviewKeyword.objects.filter(keyword=quiet).count() == 2
    assert PlaceKeyword.objects.filter(keyword=quiet, place=second.place).exists()


def test_merging_keywords_moves_mutes_and_rebuilds_the_searchers_interest_vectors(staff_client: Client) -> None:
    import numpy as np

    from recommender.models import MutedKeyword, UserProfile
    from tests.factories import SearchQueryFactory

    vectors = np.eye(384, dtype=np.float32)
    river = Keyword.objects.create(text="river view", language="en", tag_en="river view", embedding=vectors[0])
    hangang = Keyword.objects.create(text="한강뷰", language="ko", tag_en="river view", embedding=vectors[1])
    muter, searcher = UserFactory(), UserFactory()
    MutedKeyword.objects.create(user=muter, keyword=hangang)  # she does not want it, in either name
    search = SearchQueryFactory(user=searcher, intent="interest", text="한강뷰 카페")
    search.keyword_links.create(keyword=hangang, weight=1.0)
    UserProfile.objects.create(user=searcher, interest_embedding=vectors[1])
    staff_client.post(
        reverse("admin:recommender_keyword_changelist"),
        {"action": "merge_into_first", "_selected_action": [river.pk, hangang.pk]},
    )
    assert MutedKeyword.objects.filter(user=muter, keyword=river).exists()
    # His search now names the merged keyword: his vector is its embedding, not the deleted one's.
    assert np.asarray(UserProfile.objects.get(user=searcher).interest_embedding)[0] == pytest.approx(1.0)


def test_hiding_a_keyword_takes_it_out_of_place_summaries_and_interest_vectors(staff_client: Client) -> None:
    import numpy as np

    from recommender.keywords import refresh_place_keywords
    from recommender.models import UserProfile
    from tests.factories import SearchQueryFactory

    vectors = np.eye(384, dtype=np.float32)
    scam = Keyword.objects.create(text="사기", language="ko", tag_en="scam", embedding=vectors[0])
    quiet = Keyword.objects.create(text="조용한", language="ko", tag_en="quiet", embedding=vectors[1])
    review = ReviewFactory()
    ReviewKeyword.objects.create(review=review, keyword=scam)
    ReviewKeyword.objects.create(review=review, keyword=quiet)
    refresh_place_keywords(review.place_id)
    searcher = UserFactory()
    search = SearchQueryFactory(user=searcher, intent="interest", text="사기 조용한")
    search.keyword_links.create(keyword=scam, weight=1.0)
    search.keyword_links.create(keyword=quiet, weight=1.0)
    UserProfile.objects.create(user=searcher, interest_embedding=(vectors[0] + vectors[1]) / 2**0.5)
    assert Place.objects.get(pk=review.place_id).keyword_summary == "scam, quiet"

    changelist = reverse("admin:recommender_keyword_changelist")
    staff_client.post(changelist, {"action": "hide", "_selected_action": [scam.pk]})
    assert Place.objects.get(pk=review.place_id).keyword_summary == "quiet"  # search and embeddings read it
    assert np.asarray(UserProfile.objects.get(user=searcher).interest_embedding)[0] == 0
    staff_client.post(changelist, {"action": "unhide", "_selected_action": [scam.pk]})
    assert Place.objects.get(pk=review.place_id).keyword_summary == "scam, quiet"
    # Relabelled in the keyword's own form: the summary reads the new label.
    response = staff_client.post(
        reverse("admin:recommender_keyword_change", args=[scam.pk]),
        {"text": "사기", "language": "ko", "tag_en": "rip-off", "is_hidden": ""},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Place.objects.get(pk=review.place_id).keyword_summary == "rip-off, quiet"


def test_a_review_removed_in_the_admin_leaves_its_places_keywords(staff_client: Client) -> None:
    from recommender.keywords import refresh_place_keywords

    scam = Keyword.objects.create(text="사기", language="ko", tag_en="scam")
    abusive, other = ReviewFactory(), ReviewFactory()
    ReviewKeyword.objects.create(review=abusive, keyword=scam)
    refresh_place_keywords(abusive.place_id)
    assert Place.objects.get(pk=abusive.place_id).keyword_summary == "scam"
    staff_client.post(reverse("admin:places_review_delete", args=[abusive.pk]), {"post": "yes"})
    assert not Review.objects.filter(pk=abusive.pk).exists()
    assert Place.objects.get(pk=abusive.place_id).keyword_summary == ""
    assert not PlaceKeyword.objects.filter(keyword=scam).exists()
    # The list's bulk delete too.
    ReviewKeyword.objects.create(review=other, keyword=scam)
    refresh_place_keywords(other.place_id)
    staff_client.post(
        reverse("admin:places_review_changelist"),
        {"action": "delete_selected", "_selected_action": [other.pk], "post": "yes"},
    )
    assert not Review.objects.exists() and Place.objects.get(pk=other.place_id).keyword_summary == ""


def test_a_review_written_in_the_admin_records_its_visit(staff_client: Client) -> None:
    from recommender.models import Interaction

    writer, place = UserFactory(), PlaceFactory()
    response = staff_client.post(
        reverse("admin:places_review_add"),
        {
            "user": writer.pk,
            "place": place.pk,
            "rating": 4,
            "text": "좋아요",
            "language": "ko",
            "source": "admin",
            "created_at_0": "2026-12-01",
            "created_at_1": "12:00:00",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    visit = Interaction.objects.get(user=writer, place=place)
    assert visit.kind == "visit" and visit.source == "review"


def test_a_search_deleted_in_the_admin_no_longer_shapes_the_interest_vector(staff_client: Client) -> None:
    import numpy as np

    from recommender.models import SearchQuery, UserProfile
    from tests.factories import SearchQueryFactory

    vectors = np.eye(384, dtype=np.float32)
    quiet = Keyword.objects.create(text="조용한", language="ko", tag_en="quiet", embedding=vectors[0])
    jazz = Keyword.objects.create(text="jazz", language="en", tag_en="jazz", embedding=vectors[1])
    person = UserFactory()
    for keyword in (quiet, jazz):
        SearchQueryFactory(user=person, intent="interest", text=keyword.text).keyword_links.create(keyword=keyword)
    UserProfile.objects.create(user=person, interest_embedding=(vectors[0] + vectors[1]) / 2**0.5)
    jazz_search = SearchQuery.objects.get(text="jazz")
    staff_client.post(reverse("admin:recommender_searchquery_delete", args=[jazz_search.pk]), {"post": "yes"})
    assert np.asarray(UserProfile.objects.get(user=person).interest_embedding)[1] == 0


def test_an_account_deleted_in_the_admin_is_deleted_as_the_person_would_delete_it(staff_client: Client) -> None:
    from unittest import mock

    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
    from rest_framework_simplejwt.tokens import RefreshToken

    from recommender.keywords import refresh_place_keywords

    leaver = User.objects.create_user("leaver")
    RefreshToken.for_user(leaver)  # an app still signed in
    scam = Keyword.objects.create(text="사기", language="ko", tag_en="scam")
    review = ReviewFactory(user=leaver)
    ReviewKeyword.objects.create(review=review, keyword=scam)
    refresh_place_keywords(review.place_id)
    with mock.patch("recommender.services.enqueue_on_commit") as enqueue:
        response = staff_client.post(reverse("admin:auth_user_delete", args=[leaver.pk]), {"post": "yes"})
    assert response.status_code == 302 and not User.objects.filter(username="leaver").exists()
    assert BlacklistedToken.objects.count() == 1  # the refresh token can no longer be used
    assert Place.objects.get(pk=review.place_id).keyword_summary == ""  # the review's keywords left with it
    enqueue.assert_called_once_with("workers.tasks.train_models")  # and the models forget the person


def test_hiding_a_keyword_reaches_people_whose_searches_are_not_extracted_yet(staff_client: Client) -> None:
    import numpy as np

    from recommender.models import UserProfile
    from recommender.services import start_with_interests

    vectors = np.eye(384, dtype=np.float32)
    scam = Keyword.objects.create(text="사기", language="ko", tag_en="scam", embedding=vectors[0])
    quiet = Keyword.objects.create(text="조용한", language="ko", tag_en="quiet", embedding=vectors[1])
    newcomer = UserFactory()
    start_with_interests(newcomer, [scam.pk, quiet.pk])  # no worker here: nothing extracted
    staff_client.post(
        reverse("admin:recommender_keyword_changelist"), {"action": "hide", "_selected_action": [scam.pk]}
    )
    assert np.asarray(UserProfile.objects.get(user=newcomer).interest_embedding)[0] == 0


def test_correcting_a_keywords_text_reaches_the_place_summaries(staff_client: Client) -> None:
    from recommender.keywords import refresh_place_keywords

    typo = Keyword.objects.create(text="조용헌", language="ko")  # no English tag: its text is the label
    review = ReviewFactory()
    ReviewKeyword.objects.create(review=review, keyword=typo)
    refresh_place_keywords(review.place_id)
    response = staff_client.post(
        reverse("admin:recommender_keyword_change", args=[typo.pk]),
        {"text": "조용한", "language": "ko", "tag_en": "", "is_hidden": ""},
    )
    assert response.status_code == 302
    assert Place.objects.get(pk=review.place_id).keyword_summary == "조용한"


def test_a_review_dated_ahead_in_the_admin_records_its_visit_now(staff_client: Client) -> None:
    import datetime as dt

    from django.utils import timezone

    from recommender.models import Interaction

    writer, place = UserFactory(), PlaceFactory()
    tomorrow = timezone.localtime() + dt.timedelta(days=1)
    response = staff_client.post(
        reverse("admin:places_review_add"),
        {
            "user": writer.pk, "place": place.pk, "rating": 4, "text": "", "language": "ko", "source": "admin",
            "created_at_0": tomorrow.strftime("%Y-%m-%d"), "created_at_1": tomorrow.strftime("%H:%M:%S"),
        },
    )  # fmt: skip
    assert response.status_code == 302  # was a 500: a visit in the future is refused
    assert Interaction.objects.get(user=writer, place=place).occurred_at <= timezone.now()


def test_deleting_several_accounts_in_the_admin_retrains_once(staff_client: Client) -> None:
    from unittest import mock

    leavers = [User.objects.create_user(f"leaver{i}") for i in range(3)]
    with mock.patch("recommender.services.enqueue_on_commit") as enqueue:
        staff_client.post(
            reverse("admin:auth_user_changelist"),
            {"action": "delete_selected", "_selected_action": [u.pk for u in leavers], "post": "yes"},
        )
    assert not User.objects.filter(username__startswith="leaver").exists()
    enqueue.assert_called_once_with("workers.tasks.train_models")


def test_re_running_extraction_marks_the_reviews_pending(staff_client: Client) -> None:
    review = ReviewFactory()
    Review.objects.filter(pk=review.pk).update(keywords_key="abc", extraction_failed_key="def", extraction_error="x")
    staff_client.post(
        reverse("admin:places_place_changelist"),
        {"action": "rerun_extraction", "_selected_action": [review.place_id]},
    )
    review.refresh_from_db()
    assert (review.keywords_key, review.extraction_failed_key, review.extraction_error) == ("", "", "")


def test_recomputing_embeddings_marks_the_places_stale(staff_client: Client) -> None:
    place = PlaceFactory()
    Place.objects.filter(pk=place.pk).update(embedding_key="abc")
    staff_client.post(
        reverse("admin:places_place_changelist"), {"action": "recompute_embeddings", "_selected_action": [place.pk]}
    )
    assert Place.objects.get(pk=place.pk).embedding_key == ""


def test_a_previous_model_version_can_be_made_live_again(
    staff_client: Client, settings: Settings, tmp_path: Path
) -> None:
    settings.MODEL_ARTIFACTS_DIR = tmp_path
    InteractionFactory(place=PlaceFactory())
    old = train_model("place")
    train_model("place")
    staff_client.post(
        reverse("admin:recommender_modelversion_changelist"), {"action": "make_live", "_selected_action": [old.pk]}
    )
    assert ModelVersion.objects.get(is_live=True) == old


@pytest.fixture
def curator_client(client: Client) -> Client:
    from django.contrib.auth.models import Group

    curator = UserFactory(username="cora", is_staff=True)
    curator.groups.add(Group.objects.get(name="Curators"))
    client.force_login(curator)
    return client


def test_a_curator_runs_the_catalogue_and_the_rules(curator_client: Client) -> None:
    PlaceFactory()
    for name in ("admin:places_place_changelist", "admin:recommender_curatorrule_add", "admin:clips_clip_changelist"):
        assert curator_client.get(reverse(name)).status_code == 200


def test_a_curator_cannot_see_or_edit_accounts_or_groups(curator_client: Client) -> None:
    victim = UserFactory(username="victim")
    assert curator_client.get(reverse("admin:auth_user_changelist")).status_code == 403
    assert curator_client.get(reverse("admin:auth_user_change", args=[victim.pk])).status_code == 403
    assert curator_client.get(reverse("admin:auth_group_changelist")).status_code == 403
    response = curator_client.post(reverse("admin:auth_user_change", args=[victim.pk]), {"is_superuser": "on"})
    assert response.status_code == 403
    victim.refresh_from_db()
    assert not victim.is_superuser and not victim.is_staff


def test_preview_shows_a_persons_feed_before_and_after_rules_with_score_parts(staff_client: Client) -> None:
    from recommender.curation import save_rule

    alice = UserFactory(username="alice")
    liked = PlaceFactory(name="liked one")
    InteractionFactory(user=alice, place=liked)
    blocked = PlaceFactory(name="Blocked Bakery")
    PlaceFactory(name="Other Cafe")
    save_rule(CuratorRule(action="block", place=blocked), None)

    page = staff_client.get(reverse("admin:recommender_preview_feed"), {"user": "alice"}).content.decode()

    after, before = page.split("Before rules")
    assert "Blocked Bakery" not in after and "Blocked Bakery" in before
    assert "Other Cafe" in after and "<td>liked one</td>" not in after  # seen: not recommended again
    assert "from liked one, which you saved or liked" in after  # but named as near what alice liked (no visit)
    assert "Popularity" in page and "Curator" in page


def test_preview_for_a_new_visitor_uses_chosen_interests_and_location(staff_client: Client) -> None:
    import numpy as np

    quiet = np.zeros(384, dtype=np.float32)
    quiet[0] = 1.0
    Keyword.objects.create(text="quiet", language="en", embedding=quiet)
    PlaceFactory(name="Quiet Place", embedding=quiet, latitude=37.55, longitude=126.92)
    loud = np.zeros(384, dtype=np.float32)
    loud[1] = 1.0
    PlaceFactory(name="Loud Place", embedding=loud, latitude=37.55, longitude=126.92)

    page = staff_client.get(
        reverse("admin:recommender_preview_feed"), {"keywords": "quiet, unknownword", "lat": "37.55", "lon": "126.92"}
    ).content.decode()

    after = page.split("Before rules")[0]
    assert after.index("Quiet Place") < after.index("Loud Place")
    assert "unknownword" in page and "distances from request" in page


def test_preview_with_chosen_interests_does_not_credit_the_persons_own_searches(staff_client: Client) -> None:
    """The chosen keywords replace the person's interest vector, so a reason may not name their searches."""
    import numpy as np

    from recommender.models import QueryIntent, SearchQueryKeyword
    from tests.factories import SearchQueryFactory

    quiet, loud = np.zeros(384, dtype=np.float32), np.zeros(384, dtype=np.float32)
    quiet[0], loud[0], loud[1] = 1.0, 0.6, 0.8  # the search still resembles the quiet place a little
    quiet_keyword = Keyword.objects.create(text="quiet", language="en", embedding=quiet)
    loud_keyword = Keyword.objects.create(text="loud", language="en", embedding=loud)
    place = PlaceFactory(name="Quiet Place", embedding=quiet)
    PlaceKeyword.objects.create(place=place, keyword=quiet_keyword, weight=1.0)
    alice = UserFactory(username="alice")
    search = SearchQueryFactory(user=alice, text="loud nights", language="en", intent=QueryIntent.INTEREST)
    SearchQueryKeyword.objects.create(query=search, keyword=loud_keyword)

    own = staff_client.get(reverse("admin:recommender_preview_feed"), {"user": "alice"}).content.decode()
    assert "search “loud nights”" in own  # her own interests: her search is the evidence
    chosen = staff_client.get(
        reverse("admin:recommender_preview_feed"), {"user": "alice", "keywords": "quiet"}
    ).content.decode()
    assert "Quiet Place" in chosen and "loud nights" not in chosen


@pytest.mark.parametrize(
    ("params", "message"),
    [({"user": "nobody"}, "No person with username"), ({"lat": "abc", "lon": "1"}, "must be numbers"),
     ({"lat": "95", "lon": "1"}, "Give both latitude")],
)  # fmt: skip
def test_preview_explains_bad_input_instead_of_failing(
    staff_client: Client, params: dict[str, str], message: str
) -> None:
    response = staff_client.get(reverse("admin:recommender_preview_feed"), params)
    assert response.status_code == 200 and message in response.content.decode()


def test_pipeline_health_lists_pending_and_failed_work_and_retries_failures(staff_client: Client) -> None:
    from workers.tasks import sweep_pending

    ReviewFactory()  # pending: never extracted
    broken = ReviewFactory()
    Review.objects.filter(pk=broken.pk).update(extraction_failed_key="k", extraction_error="LLMPermanentError: 400")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("workers.tasks.extract_review_keywords.delay", lambda *a: None)
        patch.setattr("workers.tasks.embed_places.delay", lambda *a: None)
        sweep_pending()
    page = staff_client.get(reverse("admin:recommender_pipelinestatus_changelist")).content.decode()
    assert "LLMPermanentError: 400" in page
    reviews = PipelineStatus.objects.get(kind="reviews")
    assert reviews.failed == 1 and reviews.pending >= 1
    staff_client.post(
        reverse("admin:recommender_pipelinestatus_changelist"),
        {"action": "retry_failed", "_selected_action": [reviews.pk]},
    )
    assert Review.objects.get(pk=broken.pk).extraction_failed_key == ""
