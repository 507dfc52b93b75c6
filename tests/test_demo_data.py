"""The seeded demo data: a pure, reproducible generator and an idempotent ``load_demo``."""

from __future__ import annotations

import re
from collections import Counter
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.validators import URLValidator
from django.db.models import Count, Q
from django.test import RequestFactory

from clips.models import Clip
from places.models import Place, Review
from recommender import demo
from recommender.models import Interaction, InteractionKind, PlaceKeyword, SearchQuery, interaction_weight

HANGUL = re.compile(r"[\uac00-\ud7a3]")
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")
SEOUL_LAT = (37.41, 37.72)
SEOUL_LON = (126.76, 127.19)
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
SEED = 42  # load_demo's defaults: --seed 42 --users 60 --places 150


def load(*args: str) -> str:
    out = StringIO()
    call_command("load_demo", "--no-progress", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def demo_users():
    return get_user_model().objects.filter(
        Q(username__startswith=demo.USERNAME_PREFIX) | Q(username=demo.DEMO_LOGIN_USERNAME)
    )


def snapshot() -> dict[str, set]:
    """Identity of every demo row, to compare two loads."""
    return {
        "users": set(demo_users().values_list("id", "username", "first_name")),
        "places": set(Place.objects.filter(source="demo").values_list("id", "external_id", "name", "latitude")),
        "clips": set(Clip.objects.filter(source="demo").values_list("id", "external_id", "title", "place_id")),
        "reviews": set(Review.objects.filter(source="demo").values_list("id", "external_id", "rating", "text")),
        "interactions": set(
            Interaction.objects.filter(source="demo").values_list("id", "user_id", "idempotency_key", "kind")
        ),
        "searches": set(SearchQuery.objects.filter(source="demo").values_list("id", "external_id", "text")),
        "place keywords": set(
            PlaceKeyword.objects.filter(source="demo").values_list("id", "place_id", "keyword_id", "weight")
        ),
    }


@pytest.fixture
def loaded() -> str:
    return load()


# --- Pure generator ---------------------------------------------------------------------------


def test_same_seed_generates_identical_data():
    assert demo.generate(seed=7, users=20, places=40) == demo.generate(seed=7, users=20, places=40)


def test_different_seed_generates_different_data():
    first, second = demo.generate(seed=7, users=20, places=40), demo.generate(seed=8, users=20, places=40)
    assert [p.name for p in first.places] != [p.name for p in second.places]
    assert first.interactions != second.interactions


def test_generated_sizes_follow_the_arguments():
    data = demo.generate(seed=1, users=25, places=40)
    assert len(data.places) == 40
    assert len(data.clips) == 60  # ~1.5 per place
    assert len([u for u in data.users if u.username.startswith(demo.USERNAME_PREFIX)]) == 25
    assert data.user(demo.DEMO_LOGIN_USERNAME).favourite_traits


def test_every_review_has_its_visit_as_one_written_in_the_app_does():
    # A review after a like, a save or a dislike: the export reads a review as a visit, so without
    # its own visit the data would come back from an export with visits it never had.
    data = demo.generate(seed=SEED, users=60, places=150)
    visits = {(e.username, e.place_index) for e in data.interactions if e.kind == "visit"}
    assert all((r.username, r.place_index) in visits for r in data.reviews)
    assert len({(e.username, e.key) for e in data.interactions}) == len(data.interactions)  # keys stay unique


def test_small_data_sets_still_have_cold_start_people_and_new_items():
    data = demo.generate(seed=3, users=10, places=12)
    per_user = Counter(e.username for e in data.interactions)
    regular = [u.username for u in data.users if u.username != demo.DEMO_LOGIN_USERNAME]
    assert any(per_user[name] == 0 for name in regular)
    assert any(per_user[name] in (1, 2) for name in regular)
    touched = {e.place_index for e in data.interactions}
    assert any(p.index not in touched for p in data.places)


# --- Loaded structure -------------------------------------------------------------------------


@pytest.mark.django_db
def test_load_prints_a_count_per_model(loaded):
    counts = demo.demo_counts()
    assert counts["places"] == 150
    assert counts["clips"] == 225
    assert counts["users"] == 61  # 60 people + the demo login
    for label, count in counts.items():
        assert count > 0, label
        assert re.search(rf"{label}\s+{count}\b", loaded), label


@pytest.mark.django_db
def test_reviews_are_in_korean_and_english_with_a_few_mixed(loaded):
    reviews = list(Review.objects.filter(source="demo").values_list("text", "language"))
    korean = [text for text, language in reviews if language == "ko"]
    english = [text for text, language in reviews if language == "en"]
    assert all(HANGUL.search(text) for text in korean)
    assert sum(not HANGUL.search(text) for text in english) > 0.8 * len(english)
    share_ko = len(korean) / len(reviews)
    assert 0.45 < share_ko < 0.8
    mixed = [text for text, _ in reviews if HANGUL.search(text) and LATIN_WORD.search(text)]
    assert 0 < len(mixed) < 0.2 * len(reviews)


@pytest.mark.django_db
def test_places_lie_in_seoul_near_their_district_centre(loaded):
    centres = {d.ko: (d.lat, d.lon) for d in demo.DISTRICTS}
    places = list(Place.objects.filter(source="demo"))
    assert {p.district for p in places} == set(centres)
    for place in places:
        assert place.latitude is not None and place.longitude is not None
        assert SEOUL_LAT[0] < place.latitude < SEOUL_LAT[1]
        assert SEOUL_LON[0] < place.longitude < SEOUL_LON[1]
        assert demo.distance_m(place.latitude, place.longitude, *centres[place.district]) < 1000, place.name
        assert place.address.startswith("서울 ")
        assert place.embedding is None


@pytest.mark.django_db
def test_opening_hours_have_closed_days_and_late_nights(loaded):
    closed_days = late_nights = 0
    for hours in Place.objects.filter(source="demo").values_list("opening_hours", flat=True):
        assert set(hours) == set(demo.WEEKDAYS)
        for intervals in hours.values():
            closed_days += not intervals
            for opens, closes in intervals:
                assert HHMM.match(opens) and HHMM.match(closes)
                late_nights += closes < opens
    assert closed_days > 0
    assert late_nights > 0


@pytest.mark.django_db
def test_cold_start_people_and_untouched_items_exist(loaded):
    per_user = Counter(dict(demo_users().annotate(n=Count("interactions")).values_list("username", "n")))
    assert sum(n == 0 for n in per_user.values()) >= 3
    assert sum(n in (1, 2) for n in per_user.values()) >= 3
    assert max(per_user.values()) >= 5 * sorted(per_user.values())[len(per_user) // 2]  # heavy tail
    assert Place.objects.filter(source="demo", interactions__isnull=True).exists()
    assert Clip.objects.filter(source="demo", interactions__isnull=True).exists()


@pytest.mark.django_db
def test_likes_favour_each_persons_favourite_traits(loaded):
    tastes = {u.username: set(u.favourite_traits) for u in demo.generate(seed=SEED).users}
    key_by_en = {t.en: t.key for t in demo.TRAITS}
    place_traits: dict[int, set[str]] = {}
    links = PlaceKeyword.objects.filter(source="demo", keyword__language="en").values_list("place_id", "keyword__text")
    for place_id, text in links:
        place_traits.setdefault(place_id, set()).add(key_by_en[text])
    likes = Interaction.objects.filter(source="demo", kind="like", place__isnull=False)
    liked = [(username, place_id) for username, place_id in likes.values_list("user__username", "place_id")]
    assert len(liked) > 50
    liked_share = sum(bool(tastes[u] & place_traits[p]) for u, p in liked) / len(liked)
    # Chance: a place picked uniformly at random shares a trait with the liker's favourites.
    chance = sum(
        sum(bool(tastes[u] & traits) for traits in place_traits.values()) / len(place_traits) for u, _ in liked
    ) / len(liked)
    assert liked_share > chance + 0.2, (liked_share, chance)


@pytest.mark.django_db
def test_only_watches_have_a_watched_fraction_within_0_and_1(loaded):
    events = Interaction.objects.filter(source="demo")
    watches = events.filter(kind=InteractionKind.WATCH)
    assert watches.exists()
    assert not watches.filter(watched_fraction__isnull=True).exists()
    assert not watches.filter(Q(watched_fraction__lt=0) | Q(watched_fraction__gt=1)).exists()
    assert not events.exclude(kind=InteractionKind.WATCH).filter(watched_fraction__isnull=False).exists()
    assert not watches.filter(clip__isnull=True).exists()
    for kind, fraction, weight in events.values_list("kind", "watched_fraction", "weight"):
        assert weight == pytest.approx(interaction_weight(kind, fraction))


@pytest.mark.django_db
def test_clips_have_valid_urls_durations_and_bilingual_titles(loaded):
    validate = URLValidator()
    clips = list(Clip.objects.filter(source="demo"))
    for clip in clips:
        validate(clip.media_url)
        validate(clip.thumbnail_url)
        assert clip.media_url.startswith("https://example.com/")
        assert clip.duration_seconds is not None and 8 <= clip.duration_seconds <= 90
        assert clip.creator.startswith("@")
        if clip.language == "ko":
            assert HANGUL.search(clip.title), clip.title
    assert {c.language for c in clips} == {"ko", "en"}
    about_places = sum(c.place_id is not None for c in clips)
    assert 0.6 * len(clips) < about_places < len(clips)


@pytest.mark.django_db
def test_searches_are_bilingual_with_a_few_task_searches(loaded):
    texts = list(SearchQuery.objects.filter(source="demo").values_list("text", "language"))
    assert {language for _, language in texts} == {"ko", "en"}
    task_texts = {text for text, _ in demo.TASK_SEARCHES}
    tasks = sum(text in task_texts for text, _ in texts)
    assert 0 < tasks < 0.3 * len(texts)


# --- Idempotency, reset, login ----------------------------------------------------------------


@pytest.mark.django_db
def test_loading_twice_leaves_the_same_rows(loaded):
    before, counts = snapshot(), demo.demo_counts()
    load()
    assert demo.demo_counts() == counts
    assert snapshot() == before


@pytest.mark.django_db
def test_a_smaller_reload_drops_rows_the_larger_load_left(loaded):
    load("--users", "10", "--places", "20")
    counts = demo.demo_counts()
    assert counts["places"] == 20
    assert counts["users"] == 11
    assert counts["clips"] == 30


@pytest.mark.django_db
def test_reset_recreates_demo_rows_and_keeps_other_rows(loaded):
    own_place = Place.objects.create(name="Not demo", source="manual")
    before_ids = set(Place.objects.filter(source="demo").values_list("id", flat=True))
    counts = demo.demo_counts()
    out = load("--reset")
    assert demo.demo_counts() == counts
    assert before_ids.isdisjoint(Place.objects.filter(source="demo").values_list("id", flat=True))
    assert Place.objects.filter(pk=own_place.pk).exists()
    assert "places" in out


@pytest.mark.django_db
def test_demo_login_authenticates_and_has_a_little_history(loaded):
    request = RequestFactory().post("/accounts/login/")  # as the log-in page does (django-axes needs it)
    user = authenticate(request, username=demo.DEMO_LOGIN_USERNAME, password=demo.DEMO_LOGIN_PASSWORD)
    assert user is not None
    assert 5 <= user.interactions.count() <= 30
    assert user.searches.exists()
    assert authenticate(request, username=demo.DEMO_LOGIN_USERNAME, password="wrong") is None


@pytest.mark.django_db
def test_generated_people_have_persona_names_and_no_usable_password(loaded):
    person = get_user_model().objects.get(username=f"{demo.USERNAME_PREFIX}0")
    assert person.first_name
    assert not person.has_usable_password()
