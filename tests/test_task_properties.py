"""Every Celery task is idempotent, and tasks are enqueued only once their row is committed (issue #9).

What this module proves, for every task of ``workers/tasks.py`` (a test fails when a task is added
there without being covered here), over small worlds that Hypothesis generates:

1. Running the task twice in a row leaves the state that running it once leaves (the state is
   fingerprinted after the first run and again after the second).
2. Two copies started at the same moment, in two threads with a database connection each (so the
   tasks' row locks, advisory locks and SKIP LOCKED claims really contend, on committed data),
   leave the state that one run leaves on an identical fresh world, and neither copy fails.
3. In both cases the LLM is asked about a row at most once: a second run finds the row done, and a
   second copy finds it locked (extraction holds an advisory lock per row while the LLM thinks).

What it found: two copies of ``train_models`` that published at the same moment made one copy
fail on "one live model per kind"; ``recommender.training.publish`` now takes a per-kind lock, and
``test_two_copies_of_train_models_publishing_at_the_same_moment_both_succeed`` forces that timing.

"The state" is a fingerprint of every row of every table of the places, clips and recommender apps
and of the users, plus the live ALS artifacts and the Celery messages the run sent (see
``fingerprint``). Left out, because they legitimately differ between two runs of one world:
- auto ids: rows are named by their place in the generated world ("review#2"), keywords by their
  (text, language), links by what they link; foreign keys are replaced by those names;
- wall-clock times of writes: ``auto_now``/``auto_now_add`` columns and ``User.date_joined``;
- lease and sweep times (``*_claimed_until``, ``PipelineStatus.swept_at``): kept as "set or not",
  only their value (now + lease) is left out;
- of a trained model: its ``version`` and ``artifact`` path (a timestamp and a random suffix by
  design), ``training_seconds``, and ``similarity_floor`` (an estimate from a random sample of
  embeddings, by design); and the retired versions: every training run appends a version by
  design, so only the live version of each kind, and its artifact's contents, are compared;
- of a blend tuning: how long it took, and its data ``fingerprint`` (it names the newest row ids);
- Celery messages are compared as the multiset of (task, row) they ask for: how the ids are cut
  into batches may differ when two sweeps share the work.
Vectors (embeddings, interest vectors, ALS factors) are compared with a tolerance of 1e-5.

A world: a few users, places and clips; reviews and searches written in Korean and English from
small word lists; interactions; some rows already processed by an earlier run of the pipeline; and
changes after that (reworded reviews, described or deleted places, muted interests, deleted
accounts …), so some processed rows are stale again. It is built through the
project's write functions (``places.services``, ``recommender.services``), with the factories
where there is none (users, the catalogue, curated keywords) and ORM saves where the admin edits.
The LLM is the local stand-in (tests/llm_standin.py), answering with keywords found in the text.

Enqueue-after-commit (the end of the module): a review, search, onboarding or account deletion
written through the web UI or the API inside a transaction that is rolled back sends no message and
runs no task; committed, it sends exactly its task, once, after the commit. Existing tests check
which task each API write asks for (tests/test_api_reviews.py, tests/test_api_activity.py,
tests/test_api_privacy.py), with on-commit callbacks captured but never rolled back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest
from celery import Task
from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connection, models, transaction
from django.db.backends.base.creation import TEST_DATABASE_PREFIX
from django.http import HttpResponse
from django.test import Client
from django.test.utils import setup_databases, teardown_databases
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pgvector.django import VectorField
from pytest_django.fixtures import Settings
from rest_framework.test import APIClient

from clips.models import Clip
from places import services as place_services
from places.models import Place, Review
from recommender import services
from recommender.enqueue import EXTRACT_QUERY, EXTRACT_REVIEW, TRAIN_MODELS
from recommender.keywords import KeywordInput, store_query_keywords, store_review_keywords
from recommender.models import InteractionKind, Keyword, ModelVersion, Polarity, SearchQuery
from tests.factories import ClipFactory, KeywordFactory, PlaceFactory, UserFactory
from tests.llm_standin import LLMStandIn, Reply
from tests.test_api_support import PASSWORD, client_for, make_user
from workers import tasks as task_module
from workers.celery import app as celery_app
from workers.extractor import detect_language
from workers.keywording import active_extractor

# Worlds per task and property: 4 keep the module under a minute on 2 shared cores; raise it with
# TASK_PROPERTY_EXAMPLES for a longer search (`make reliability` runs 25).
EXAMPLES = int(os.environ.get("TASK_PROPERTY_EXAMPLES", "4"))
PROPERTY = hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same worlds on every run: a failure here is reproducible
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],  # we reset per example
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the worlds are small already
)
CLOCK = dt.datetime(2025, 5, 1, 12, tzinfo=dt.UTC)  # reviews, searches and interactions are dated from here
LLM_SECONDS = 0.1  # how long the stand-in thinks when two copies run: both are then surely inside the task
VECTOR_TOLERANCE = 1e-5

# --- the words people write ----------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """A phrase the stand-in LLM recognises, and the keyword it answers with."""

    text: str
    tag: str
    polarity: str = "positive"


TERMS = {
    "ko": (
        Term("조용한", "quiet"),
        Term("한강뷰", "river view"),
        Term("브런치", "brunch"),
        Term("디저트", "dessert"),
        Term("친절한", "friendly staff"),
        Term("넓은", "spacious"),
        Term("시끄러운", "noisy", "negative"),
        Term("비싼", "expensive", "negative"),
    ),
    "en": (
        Term("quiet", "quiet"),
        Term("river view", "river view"),
        Term("cozy", "cozy"),
        Term("great coffee", "great coffee"),
        Term("rooftop", "rooftop"),
        Term("crowded", "crowded", "negative"),
        Term("slow service", "slow service", "negative"),
    ),
}
FILLERS = {
    "ko": ("카페", "분위기", "자리", "좋아요", "성수동", "연남동"),
    "en": ("café", "spot", "with a", "and", "in Mapo"),
}
ERRANDS = {"ko": ("영업시간", "주차", "전화번호"), "en": ("opening hours", "phone number", "parking")}  # task searches
PLACE_NAMES = ("카페 온도", "Onion Seongsu", "한강 루프탑", "Mapo Bakery", "연남 브런치")
CLIP_TITLES = ("성수 카페 투어", "Han river sunset", "브런치 맛집 vlog", "Rooftop bars of Seoul")
CATEGORIES = ("cafe", "restaurant", "bar", "bakery")
POLARITY = {"positive": Polarity.POSITIVE, "negative": Polarity.NEGATIVE, "neutral": Polarity.NEUTRAL}


def canned_answer(text: str) -> dict[str, Any]:
    """What the stand-in LLM answers for ``text``: the known phrases in it, first ones weighing most."""
    found = sorted(
        ((text.find(term.text), term) for terms in TERMS.values() for term in terms if term.text in text),
        key=lambda pair: pair[0],
    )
    keywords: list[dict[str, Any]] = []
    for _, term in found:
        if term.tag not in {k["tag_en"] for k in keywords}:  # the LLM client keeps one keyword per tag
            weight = round(1.0 - 0.1 * len(keywords), 1)
            keywords.append({"text": term.text, "tag_en": term.tag, "polarity": term.polarity, "weight": weight})
    errand = any(phrase in text for phrases in ERRANDS.values() for phrase in phrases)
    return {"keywords": keywords, "intent": "task" if errand else "interest"}


def keyword_inputs(text: str) -> list[KeywordInput]:
    """The canned answer as the LLM extractor hands it to the store functions."""
    return [
        KeywordInput(k["text"], detect_language(k["text"]), k["tag_en"], POLARITY[k["polarity"]], k["weight"])
        for k in canned_answer(text)["keywords"]
    ]


# --- the generated worlds -------------------------------------------------------------------


KEPT, CHANGED, DELETED = "kept", "changed", "deleted"  # what became of a row after the earlier run


@dataclass(frozen=True)
class PlaceSpec:
    name: str
    category: str
    description: str
    embedded: bool  # an earlier run embedded its text
    later: str  # then a curator changed its description (the admin), or deleted it
    new_description: str


@dataclass(frozen=True)
class ClipSpec:
    title: str
    caption: str
    place: int | None
    embedded: bool
    deleted_later: bool


@dataclass(frozen=True)
class ReviewSpec:
    user: int
    place: int
    rating: int | None
    text: str
    age_days: int
    extracted: bool  # an earlier run extracted its keywords
    later: str  # then its author added a sentence or deleted it
    added_text: str


@dataclass(frozen=True)
class SearchSpec:
    user: int
    text: str
    age_days: int
    extracted: bool


@dataclass(frozen=True)
class InteractionSpec:
    user: int
    place: int | None
    clip: int | None
    kind: str
    watched_fraction: float | None
    age_hours: int


@dataclass(frozen=True)
class WorldSpec:
    users: int
    places: tuple[PlaceSpec, ...]
    clips: tuple[ClipSpec, ...]
    curated_keywords: tuple[tuple[Term, bool], ...]  # (term, embedded)
    reviews: tuple[ReviewSpec, ...]
    searches: tuple[SearchSpec, ...]
    interactions: tuple[InteractionSpec, ...]
    extracted_keywords_embedded: bool
    muted: tuple[tuple[int, int], ...]  # later, (user, keyword): a person removed a learned interest
    accounts_deleted: frozenset[int]  # and last, these people deleted their accounts
    llm_fails: bool  # the LLM refuses the task's row for good (a 400): the failure is recorded
    target: int  # which row a one-row task is run on
    picks: frozenset[int] | None  # which rows a batch task is run on (None: all)


@st.composite
def phrases(draw: st.DrawFn, *, errands: bool = False) -> str:
    """A review or search text: known phrases and filler words, Korean, English or both."""
    language = draw(st.sampled_from(["ko", "en", "mixed"]))
    languages = ["ko", "en"] if language == "mixed" else [language]
    words = draw(st.lists(st.sampled_from([t.text for lang in languages for t in TERMS[lang]]), min_size=1, max_size=3))
    words += draw(st.lists(st.sampled_from([w for lang in languages for w in FILLERS[lang]]), max_size=2))
    if errands and draw(st.booleans()):
        words.append(draw(st.sampled_from([w for lang in languages for w in ERRANDS[lang]])))
    return " ".join(draw(st.permutations(words)))


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


@st.composite
def worlds(draw: st.DrawFn, task: str) -> WorldSpec:
    """A small world in which ``task`` has something to do (a clip to embed, a review to extract …)."""
    short = _short(task)
    users = draw(st.integers(1, 3))
    user = st.integers(0, users - 1)
    later = st.sampled_from([KEPT, KEPT, CHANGED, CHANGED, DELETED])
    places = tuple(
        PlaceSpec(
            name, draw(st.sampled_from(CATEGORIES)), draw(phrases()), draw(st.booleans()), draw(later), draw(phrases())
        )
        for name in draw(st.lists(st.sampled_from(PLACE_NAMES), min_size=1, max_size=3, unique=True))
    )
    place = st.integers(0, len(places) - 1)
    clips = tuple(
        ClipSpec(title, draw(phrases()), draw(st.none() | place), draw(st.booleans()), draw(st.booleans()))
        for title in draw(
            st.lists(st.sampled_from(CLIP_TITLES), min_size=int(short == "embed_clips"), max_size=2, unique=True)
        )
    )
    curated = tuple(
        (term, draw(st.booleans()))
        for term in draw(
            st.lists(
                st.sampled_from([t for terms in TERMS.values() for t in terms]),
                min_size=int(short == "embed_keywords"),
                max_size=2,
                unique_by=lambda t: t.text,
            )
        )
    )
    reviews = tuple(
        draw(
            st.lists(
                st.builds(
                    ReviewSpec,
                    user=user,
                    place=place,
                    rating=st.none() | st.integers(1, 5),
                    text=phrases(),
                    age_days=st.integers(0, 60),
                    extracted=st.booleans(),
                    later=later,
                    added_text=phrases(),
                ),
                min_size=int(short in ("extract_review_keywords", "sweep_pending")),
                max_size=3,
            )
        )
    )
    searches = tuple(
        draw(
            st.lists(
                st.builds(
                    SearchSpec,
                    user=user,
                    text=phrases(errands=True),
                    age_days=st.integers(0, 60),
                    extracted=st.booleans(),
                ),
                min_size=int(short == "extract_query_keywords"),
                max_size=3,
            )
        )
    )
    interactions = []
    for _ in range(draw(st.integers(int(short == "train_models") * 2, 5))):
        on_clip = bool(clips) and draw(st.booleans())
        kinds = InteractionKind.values if on_clip else [k for k in InteractionKind.values if k != InteractionKind.WATCH]
        kind = draw(st.sampled_from(kinds))
        interactions.append(
            InteractionSpec(
                user=draw(user),
                place=None if on_clip else draw(place),
                clip=draw(st.integers(0, len(clips) - 1)) if on_clip else None,
                kind=kind,
                watched_fraction=draw(st.sampled_from([0.1, 0.5, 1.0])) if kind == InteractionKind.WATCH else None,
                age_hours=draw(st.integers(1, 500)),
            )
        )
    return WorldSpec(
        users=users,
        places=places,
        clips=clips,
        curated_keywords=curated,
        reviews=reviews,
        searches=searches,
        interactions=tuple(interactions),
        extracted_keywords_embedded=draw(st.booleans()),
        muted=tuple(draw(st.lists(st.tuples(user, st.integers(0, 5)), max_size=1))),
        accounts_deleted=draw(st.frozensets(user, max_size=1)),
        llm_fails=draw(st.sampled_from([False, False, False, True])),
        target=draw(st.integers(0, 5)),
        picks=draw(st.none() | st.frozensets(st.integers(0, 5), min_size=1, max_size=3)),
    )


@dataclass
class World:
    """A built world: its rows' ids by kind, in creation order, and each row's name in the world."""

    ids: dict[str, list[int]] = field(default_factory=dict)
    names: dict[tuple[str, int], str] = field(default_factory=dict)  # (model label, id) -> "review#0"

    def add(self, kind: str, row: models.Model) -> None:
        ids = self.ids.setdefault(kind, [])
        self.names[(row._meta.label, row.pk)] = f"{kind}#{len(ids)}"
        ids.append(row.pk)


def _keyword_ids() -> list[int]:
    return list(Keyword.objects.order_by("text", "language").values_list("pk", flat=True))


def earlier_embedding(text: str) -> list[float]:
    """The vector an earlier run stored (its value does not matter here, only that it is there)."""
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big"))
    vector = rng.normal(size=django_settings.EMBEDDING_DIMENSIONS)
    return (vector / np.linalg.norm(vector)).tolist()


def mark_embedded(model: type[Place] | type[Clip] | type[Keyword], pk: int) -> None:
    """As if an earlier run had embedded the row's current text with the current model."""
    manager: Any = model._default_manager
    row = manager.with_embedding_source(django_settings.EMBEDDING_MODEL).filter(pk=pk)
    source, key = row.values_list("embedding_source", "embedding_source_key").get()
    manager.filter(pk=pk).update(embedding=earlier_embedding(source or ""), embedding_key=key)


def extract_earlier(model: type[Review] | type[SearchQuery], pk: int, text: str) -> None:
    """As if an earlier run had extracted the row's keywords: what the extraction task stores."""
    extractor_id = active_extractor().id
    manager: Any = model._default_manager
    key = manager.with_keywords_source(extractor_id).values_list("keywords_source_key", flat=True).get(pk=pk)
    if model is Review:
        store_review_keywords(pk, extractor_id, key, keyword_inputs(text))
    else:
        store_query_keywords(pk, extractor_id, key, canned_answer(text)["intent"], keyword_inputs(text))


def build_world(spec: WorldSpec) -> World:
    world = World()
    # Deleting an account asks for a retrain after commit; that message is the world's, not the task's.
    with mock.patch("recommender.enqueue.send"):
        users = [UserFactory(username=f"user{i}") for i in range(spec.users)]
        for user in users:
            world.add("user", user)
        places = [PlaceFactory(name=p.name, category=p.category, description=p.description) for p in spec.places]
        for place in places:
            world.add("place", place)
        clips = [
            ClipFactory(title=c.title, caption=c.caption, place=None if c.place is None else places[c.place])
            for c in spec.clips
        ]
        for clip in clips:
            world.add("clip", clip)
        curated = [
            KeywordFactory(text=t.text, language=detect_language(t.text), tag_en=t.tag)
            for t, _ in spec.curated_keywords
        ]
        for r in spec.reviews:
            review = place_services.create_review(
                user=users[r.user], place=places[r.place], rating=r.rating, text=r.text
            )
            Review.objects.filter(pk=review.pk).update(created_at=CLOCK - dt.timedelta(days=r.age_days))
            world.add("review", review)
        for s in spec.searches:
            search = services.record_search(users[s.user], s.text)
            SearchQuery.objects.filter(pk=search.pk).update(created_at=CLOCK - dt.timedelta(days=s.age_days))
            world.add("search", search)
        for i in spec.interactions:
            item = places[i.place] if i.place is not None else clips[i.clip or 0]
            interaction, _ = services.record_interaction(
                users[i.user],
                item,
                i.kind,
                watched_fraction=i.watched_fraction,
                occurred_at=CLOCK - dt.timedelta(hours=i.age_hours),
            )
            world.add("interaction", interaction)

        # An earlier run of the pipeline processed some rows ...
        for r, pk in zip(spec.reviews, world.ids.get("review", []), strict=True):
            if r.extracted:
                extract_earlier(Review, pk, r.text)
        for s, pk in zip(spec.searches, world.ids.get("search", []), strict=True):
            if s.extracted:
                extract_earlier(SearchQuery, pk, s.text)
        for p, place in zip(spec.places, places, strict=True):
            if p.embedded:
                mark_embedded(Place, place.pk)
        for c, clip in zip(spec.clips, clips, strict=True):
            if c.embedded:
                mark_embedded(Clip, clip.pk)
        for (_, embedded), keyword in zip(spec.curated_keywords, curated, strict=True):
            if embedded:
                mark_embedded(Keyword, keyword.pk)
        if spec.extracted_keywords_embedded:
            for pk in Keyword.objects.exclude(pk__in=[k.pk for k in curated]).values_list("pk", flat=True):
                mark_embedded(Keyword, pk)

        # ... and then people and curators changed things.
        for r, pk in zip(spec.reviews, world.ids.get("review", []), strict=True):
            owner = users[r.user]
            if r.later == CHANGED:
                place_services.update_review(user=owner, review_id=pk, text=f"{r.text} {r.added_text}")
            elif r.later == DELETED:
                services.delete_review(owner, pk)  # what the web UI and the API do
        for p, place in zip(spec.places, places, strict=True):
            if p.later == CHANGED:  # the admin's change form
                place.description = p.new_description
                place.save()
            elif p.later == DELETED:
                place.delete()
        for c, clip in zip(spec.clips, clips, strict=True):
            if c.deleted_later:
                clip.delete()
        keywords = _keyword_ids()
        for who, which in spec.muted:
            if keywords:
                services.mute_keyword(users[who], keywords[which % len(keywords)])
        for who in sorted(spec.accounts_deleted):
            services.delete_account(users[who])
    return world


# --- how each task is called ----------------------------------------------------------------


def _some(ids: list[int], spec: WorldSpec) -> list[int]:
    if spec.picks is None:
        return list(ids)
    return list(dict.fromkeys(ids[i % len(ids)] for i in sorted(spec.picks))) if ids else []


def _one(ids: list[int], spec: WorldSpec) -> int:
    return ids[spec.target % len(ids)] if ids else 0  # 0: a row that never existed


# Each task's arguments in a built world (a deleted row's id is a valid argument: the task skips it).
TASK_ARGUMENTS: dict[str, Callable[[WorldSpec, World], tuple[Any, ...]]] = {
    "workers.tasks.embed_places": lambda spec, world: (_some(world.ids.get("place", []), spec),),
    "workers.tasks.embed_clips": lambda spec, world: (_some(world.ids.get("clip", []), spec),),
    "workers.tasks.embed_keywords": lambda spec, world: (_some(_keyword_ids(), spec),),
    "workers.tasks.extract_review_keywords": lambda spec, world: (_one(world.ids.get("review", []), spec),),
    "workers.tasks.extract_query_keywords": lambda spec, world: (_one(world.ids.get("search", []), spec),),
    "workers.tasks.sweep_pending": lambda spec, world: (),
    "workers.tasks.train_models": lambda spec, world: (),
    "workers.tasks.tune_blends": lambda spec, world: (),
}
# The rows a message to each task is about (its ids argument), for naming them in the fingerprint.
MESSAGE_ROWS: dict[str, type[models.Model]] = {
    "workers.tasks.embed_places": Place,
    "workers.tasks.embed_clips": Clip,
    "workers.tasks.embed_keywords": Keyword,
    "workers.tasks.extract_review_keywords": Review,
    "workers.tasks.extract_query_keywords": SearchQuery,
}
EXTRACTS = {"workers.tasks.extract_review_keywords": Review, "workers.tasks.extract_query_keywords": SearchQuery}


def celery_tasks_of(module: Any) -> set[str]:
    """The Celery tasks a module defines: bound to its names, or registered under its name."""
    bound = {obj.name for obj in vars(module).values() if isinstance(obj, Task)}
    registered = {name for name in celery_app.tasks if name.startswith(f"{module.__name__}.")}
    return bound | registered


# --- the fingerprint ------------------------------------------------------------------------

STATE_APPS = ("places", "clips", "recommender")
TABLES_KEPT = {"django_migrations", "django_content_type", "auth_permission", "auth_group", "auth_group_permissions"}
WALL_CLOCK = {"auth.User": {"date_joined"}}  # set to "now" at creation, like auto_now_add columns
# A trained model's name (timestamp + random suffix) and file path, and how long training took.
RUN_IDENTITY = {
    "recommender.ModelVersion": {"version", "artifact", "training_seconds"},
    "recommender.BlendTuning": {"seconds", "fingerprint"},
}
SET_OR_NOT = {"embedding_claimed_until", "extraction_claimed_until", "swept_at"}  # now + lease / now
SAMPLED = "similarity_floor"  # ModelVersion.params and artifact meta: a mean over a random sample, by design
ONLY_LIVE = {"recommender.ModelVersion": models.Q(is_live=True)}  # retired versions: the log of past runs


def state_models() -> list[type[models.Model]]:
    return [User, *(model for app in STATE_APPS for model in apps.get_app_config(app).get_models())]


def _volatile(label: str, f: models.Field[Any, Any]) -> bool:
    auto_time = getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    return auto_time or f.name in WALL_CLOCK.get(label, set()) | RUN_IDENTITY.get(label, set())


@dataclass(frozen=True)
class Snapshot:
    rows: dict[str, list[str]]  # table -> its rows as canonical JSON lines, sorted
    vectors: dict[str, np.ndarray]  # "table row .column" -> vector (compared with a tolerance)

    @property
    def digest(self) -> str:
        """A hash of it all, vectors rounded (for the failure message; comparisons use a tolerance)."""
        vectors = {key: np.round(vector, 4).tolist() for key, vector in self.vectors.items()}
        blob = json.dumps({"rows": self.rows, "vectors": vectors}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()


class Names:
    """Natural names of rows: the world's names, keywords by content."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.keywords = {
            pk: f"keyword {text}/{lang}" for pk, text, lang in Keyword.objects.values_list("pk", "text", "language")
        }

    def of(self, model: Any, pk: Any) -> str | None:
        if pk is None:
            return None
        if model is Keyword:
            return self.keywords.get(pk, "a deleted keyword")
        name = self.world.names.get((model._meta.label, pk))
        assert name is not None, f"{model._meta.label} {pk} is not a row of the world: give it a natural name"
        return name


def fingerprint(world: World, sent: list[tuple[str, tuple[Any, ...]]]) -> Snapshot:
    """Every row of the state tables, minus what legitimately differs between runs (module docstring)."""
    names = Names(world)
    rows: dict[str, list[str]] = {}
    vectors: dict[str, np.ndarray] = {}
    for model in state_models():
        label = model._meta.label
        fields = [f for f in model._meta.concrete_fields if not _volatile(label, f)]
        queryset = model._default_manager.filter(ONLY_LIVE.get(label, models.Q()))
        lines = []
        for values in queryset.values_list(*[f.attname for f in fields]):
            record: dict[str, Any] = {}
            row_vectors = {}
            for f, value in zip(fields, values, strict=True):
                if f.primary_key:
                    if (label, value) in world.names:
                        record["row"] = world.names[(label, value)]
                elif f.is_relation:
                    record[f.name] = names.of(f.related_model, value)
                elif isinstance(f, VectorField):
                    record[f.name] = None if value is None else "a vector"
                    if value is not None:
                        row_vectors[f.name] = np.asarray(value, dtype=np.float64)
                elif f.name in SET_OR_NOT:
                    record[f.name] = value is not None
                elif label == "recommender.ModelVersion" and f.name == "params":
                    record[f.name] = {k: v for k, v in value.items() if k != SAMPLED}
                else:
                    record[f.name] = value
            line = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str)
            lines.append(line)
            for column, vector in row_vectors.items():
                vectors[f"{label} {record.get('row', line)} .{column}"] = vector
        rows[label] = sorted(lines)
    rows["live model artifacts"] = live_artifacts(names, vectors)
    rows["messages sent"] = sorted(
        f"{task} {names.of(MESSAGE_ROWS[task], pk)}" if task in MESSAGE_ROWS else f"{task} {list(args)}"
        for task, args in sent
        for pk in (_flatten(args) if task in MESSAGE_ROWS else [None])
    )
    return Snapshot(rows, vectors)


def _flatten(args: tuple[Any, ...]) -> list[int]:
    return [pk for arg in args for pk in (arg if isinstance(arg, list) else [arg])]


def live_artifacts(names: Names, vectors: dict[str, np.ndarray]) -> list[str]:
    """The contents of each live model's file: ids named, factors as vectors, no version or sample."""
    lines = []
    for kind, artifact in ModelVersion.objects.filter(is_live=True).values_list("kind", "artifact"):
        items: type[Place] | type[Clip] = Place if kind == "place" else Clip
        with np.load(Path(django_settings.MODEL_ARTIFACTS_DIR) / artifact, allow_pickle=False) as data:
            for name in sorted(data.files):
                array = data[name]
                if name == "header":
                    header = json.loads(bytes(array).decode())
                    header.pop("version")
                    header.get("meta", {}).pop(SAMPLED, None)
                    lines.append(f"{kind} header {json.dumps(header, sort_keys=True)}")
                elif name in ("user_ids", "item_ids"):
                    owner = User if name == "user_ids" else items
                    lines.append(f"{kind} {name} {[names.of(owner, int(pk)) for pk in array]}")
                else:
                    vectors[f"{kind} artifact {name}"] = np.asarray(array, dtype=np.float64)
    return lines


def assert_same_state(once: Snapshot, other: Snapshot, how: str) -> None:
    problems = []
    for table in sorted(set(once.rows) | set(other.rows)):
        after_once, after_other = Counter(once.rows.get(table, [])), Counter(other.rows.get(table, []))
        if after_once != after_other:
            problems.append(
                f"{table}:\n    only after one run: {list((after_once - after_other).elements())[:4]}"
                f"\n    only after {how}: {list((after_other - after_once).elements())[:4]}"
            )
    for key in sorted(set(once.vectors) | set(other.vectors)):
        a, b = once.vectors.get(key), other.vectors.get(key)
        if a is None or b is None or a.shape != b.shape or not np.allclose(a, b, rtol=0, atol=VECTOR_TOLERANCE):
            gap = "missing" if a is None or b is None or a.shape != b.shape else f"{np.abs(a - b).max():.2e}"
            problems.append(f"vector {key[:300]}: {gap}")
    assert not problems, f"{how} left another state than one run ({once.digest[:12]} vs {other.digest[:12]}):\n" + (
        "\n".join(problems)
    )


# --- running tasks --------------------------------------------------------------------------


def empty_the_database() -> None:
    """Empty every table but Django's bookkeeping, before each world and scene (DELETEs: a TRUNCATE is slow)."""
    assert connection.settings_dict["NAME"].startswith(TEST_DATABASE_PREFIX), "not on the test database"
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    with transaction.atomic(), connection.cursor() as cursor:  # foreign keys are checked at commit
        for table in sorted(set(tables) - TABLES_KEPT):
            cursor.execute(f'DELETE FROM "{table}"')  # Django's own table names
    cache.clear()  # the LLM quota counters


@contextlib.contextmanager
def capturing_messages(sent: list[tuple[str, tuple[Any, ...]]]) -> Iterator[None]:
    """Record every Celery message instead of sending it (``task.delay`` and ``send_task`` alike)."""
    lock = threading.Lock()

    def apply_async(task: Task, args: Any = None, kwargs: Any = None, **options: Any) -> None:
        with lock:
            sent.append((task.name, tuple(args or ())))

    def send_task(name: str, args: Any = None, kwargs: Any = None, **options: Any) -> None:
        with lock:
            sent.append((name, tuple(args or ())))

    with mock.patch.object(Task, "apply_async", apply_async), mock.patch.object(celery_app, "send_task", send_task):
        yield


def at_the_same_moment(*calls: Callable[[], object]) -> None:
    """Run the calls in threads released together; each thread uses, then closes, its own connection."""
    start = threading.Barrier(len(calls))
    failures: list[BaseException] = []

    def run(call: Callable[[], object]) -> None:
        try:
            start.wait(timeout=30)
            call()
        except BaseException as exc:  # re-raised below, in the test's thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a copy of the task hung"
    if failures:
        raise failures[0]


@dataclass
class Lab:
    llm: LLMStandIn

    def once_and_again(self, spec: WorldSpec, name: str) -> tuple[Snapshot, Snapshot]:
        """Build ``spec`` afresh; run task ``name`` and fingerprint; run it again and fingerprint."""
        world, run = self.fresh(spec, name, slow=False)
        sent: list[tuple[str, tuple[Any, ...]]] = []
        with capturing_messages(sent):
            run()
            once = fingerprint(world, sent)  # reads only
            run()
        self.assert_llm_asked_at_most_once_per_row(name, "twice")
        return once, fingerprint(world, sent)

    def once(self, spec: WorldSpec, name: str) -> Snapshot:
        world, run = self.fresh(spec, name, slow=False)
        sent: list[tuple[str, tuple[Any, ...]]] = []
        with capturing_messages(sent):
            run()
        self.assert_llm_asked_at_most_once_per_row(name, "once")
        return fingerprint(world, sent)

    def two_copies_at_once(self, spec: WorldSpec, name: str) -> Snapshot:
        world, run = self.fresh(spec, name, slow=True)
        sent: list[tuple[str, tuple[Any, ...]]] = []
        with capturing_messages(sent):
            at_the_same_moment(run, run)
        self.assert_llm_asked_at_most_once_per_row(name, "as two copies at once")
        return fingerprint(world, sent)

    def fresh(self, spec: WorldSpec, name: str, *, slow: bool) -> tuple[World, Callable[[], object]]:
        """An empty database, then ``spec`` built; the task ready to run with its arguments in it."""
        empty_the_database()
        world = build_world(spec)
        task, args = celery_app.tasks[name], TASK_ARGUMENTS[name](spec, world)
        self.llm.requests.clear()
        self.llm.script(self.llm_reply(spec, name, args, slow=slow))
        return world, lambda: task(*args)

    @staticmethod
    def llm_reply(spec: WorldSpec, name: str, args: tuple[Any, ...], *, slow: bool) -> Reply:
        if name not in EXTRACTS:
            return Reply.status(500)  # never asked: only extraction calls the LLM
        if spec.llm_fails:
            return Reply.status(400, body='{"error": "this text cannot be processed"}')
        text = EXTRACTS[name]._default_manager.filter(pk=args[0]).values_list("text", flat=True).first() or ""
        return Reply.slow(LLM_SECONDS, canned_answer(text)) if slow else Reply.keywords(canned_answer(text))

    def assert_llm_asked_at_most_once_per_row(self, name: str, how: str) -> None:
        asked = Counter(request.data for request in self.llm.chat_requests())
        assert all(times == 1 for times in asked.values()), f"{_short(name)} run {how}: the LLM was asked {asked}"


@pytest.fixture
def pipeline_settings(settings: Settings, llm_standin: LLMStandIn, tmp_path: Path) -> None:
    settings.LLM_BASE_URL = llm_standin.base_url
    settings.LLM_MODEL = "stand-in"
    settings.LLM_MAX_RETRIES = 0
    settings.LLM_TIMEOUT_SECONDS = 10.0
    settings.MODEL_ARTIFACTS_DIR = tmp_path / "models"
    settings.ALS_FACTORS, settings.ALS_ITERATIONS = 8, 5  # small models train fast; their size does not matter here


@pytest.fixture(scope="module")
def committed_db(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Real commits, as with ``transactional_db``: the copies of a task run on other connections.

    ``transactional_db`` empties the database with a TRUNCATE of every table after each test, over a
    second on this machine (33 tests: 40 s); these tests empty it with DELETEs themselves
    (``empty_the_database``, before each world and each scene) and once more when the module is done.
    """
    with django_db_blocker.unblock():
        created = None
        if not connection.settings_dict["NAME"].startswith(TEST_DATABASE_PREFIX):
            # pytest-django creates the test database only for sessions with a db/transactional_db test.
            created = setup_databases(verbosity=0, interactive=False, aliases={DEFAULT_DB_ALIAS})
        empty_the_database()
        try:
            yield
        finally:
            empty_the_database()
            if created is not None:
                teardown_databases(created, verbosity=0)


@pytest.fixture
def lab(committed_db: None, pipeline_settings: None, llm_standin: LLMStandIn) -> Lab:
    """An empty database with real commits, and the stand-in LLM."""
    empty_the_database()
    return Lab(llm_standin)


# --- the properties -------------------------------------------------------------------------


def test_every_celery_task_in_workers_tasks_is_covered_by_the_properties() -> None:
    tasks = celery_tasks_of(task_module)
    assert len(tasks) >= 7, tasks  # the module's tasks are found at all
    assert tasks == set(TASK_ARGUMENTS), (
        f"not covered: {sorted(tasks - set(TASK_ARGUMENTS))}; gone: {sorted(set(TASK_ARGUMENTS) - tasks)}. "
        "Say in TASK_ARGUMENTS how to call a new task, and in MESSAGE_ROWS which rows its messages are about."
    )


@pytest.mark.parametrize("name", [pytest.param(name, id=_short(name)) for name in sorted(TASK_ARGUMENTS)])
@given(data=st.data())
@PROPERTY
def test_running_a_task_twice_leaves_the_state_of_running_it_once(lab: Lab, name: str, data: st.DataObject) -> None:
    once, twice = lab.once_and_again(data.draw(worlds(name), label="world"), name)
    assert_same_state(once, twice, "running it twice")


@pytest.mark.parametrize("name", [pytest.param(name, id=_short(name)) for name in sorted(TASK_ARGUMENTS)])
@given(data=st.data())
@PROPERTY
def test_two_copies_at_the_same_moment_leave_the_state_of_running_it_once(
    lab: Lab, name: str, data: st.DataObject
) -> None:
    spec = data.draw(worlds(name), label="world")
    assert_same_state(lab.once(spec, name), lab.two_copies_at_once(spec, name), "two copies at once")


def test_two_copies_of_train_models_publishing_at_the_same_moment_both_succeed(lab: Lab) -> None:
    """The interleaving the property above hit by chance, forced: each copy retires the live version
    (there is none yet, so it locks nothing), then waits until the other has too, then marks its own.
    Before publish took a per-kind lock, the second copy failed on "one live model per kind"."""
    users = [UserFactory(username=f"user{i}") for i in range(3)]
    places = [PlaceFactory(name=name) for name in PLACE_NAMES[:3]]
    for n, user in enumerate(users):
        for place in places[: n + 1]:
            services.record_interaction(user, place, InteractionKind.LIKE, occurred_at=CLOCK)
    both_retired = threading.Barrier(2)

    def after_retiring_wait_for_the_other_copy(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        if sql.startswith('UPDATE "recommender_modelversion"') and params and params[0] is False:
            with contextlib.suppress(threading.BrokenBarrierError):  # a fix that serialises never meets here
                both_retired.wait(timeout=3)
        return result

    def train() -> None:
        with connection.execute_wrapper(after_retiring_wait_for_the_other_copy):
            task_module.train_models()

    at_the_same_moment(train, train)

    assert ModelVersion.objects.filter(kind="place", is_live=True).count() == 1


# --- enqueued only after commit -------------------------------------------------------------


@dataclass
class Scene:
    alice: User
    place: Place  # not reviewed by Alice yet
    review: Review  # Alice's review of another place
    api: APIClient
    web: Client


@dataclass(frozen=True)
class WritePath:
    name: str
    request: Callable[[Scene], HttpResponse]
    status: int
    task: str
    messages: int = 1


WRITE_PATHS = [
    WritePath(
        "API: write a review",
        lambda s: s.api.post(
            f"/api/v1/places/{s.place.pk}/reviews/", {"rating": 4, "text": "조용한 한강뷰"}, format="json"
        ),
        201,
        EXTRACT_REVIEW,
    ),
    WritePath(
        "API: edit a review",
        lambda s: s.api.patch(f"/api/v1/reviews/{s.review.pk}/", {"text": "crowded but great coffee"}, format="json"),
        200,
        EXTRACT_REVIEW,
    ),
    WritePath(
        "API: search",
        lambda s: s.api.post("/api/v1/searches/", {"text": "성수동 조용한 카페"}, format="json"),
        201,
        EXTRACT_QUERY,
    ),
    WritePath(
        "API: delete the account",
        lambda s: s.api.delete("/api/v1/me/", {"password": PASSWORD}, format="json"),
        204,
        TRAIN_MODELS,
    ),
    WritePath(
        "web: write a review",
        lambda s: s.web.post(f"/places/{s.place.pk}/review/", {"rating": "4", "text": "cozy spot, great coffee"}),
        302,
        EXTRACT_REVIEW,
    ),
    WritePath(
        "web: edit a review",
        lambda s: s.web.post(f"/reviews/{s.review.pk}/edit/", {"rating": "3", "text": "시끄러운 브런치 카페"}),
        302,
        EXTRACT_REVIEW,
    ),
    WritePath("web: search", lambda s: s.web.post("/search/", {"q": "rooftop river view"}), 302, EXTRACT_QUERY),
    WritePath(
        "web: onboarding",
        lambda s: s.web.post("/welcome/", {"keywords": [_onboarding_keyword()], "text": "브런치 디저트"}),
        302,
        EXTRACT_QUERY,
        messages=2,  # the picked keyword and the typed text are two searches
    ),
    WritePath(
        "web: delete the account", lambda s: s.web.post("/me/delete/", {"password": PASSWORD}), 302, TRAIN_MODELS
    ),
]


def _onboarding_keyword() -> int:
    return Keyword.objects.get(text="한강뷰").pk


@dataclass
class Broker:
    """Stands in for Celery's broker: records each message and runs it at once, as an idle worker would."""

    sent: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)


@pytest.fixture
def broker() -> Iterator[Broker]:
    broker = Broker()

    def send_task(name: str, args: Any = None, kwargs: Any = None, **options: Any) -> None:
        broker.sent.append((name, tuple(args or ())))
        broker.results.append(celery_app.tasks[name](*(args or ())))

    with mock.patch.object(celery_app, "send_task", send_task):
        yield broker


@pytest.fixture
def scene(committed_db: None, pipeline_settings: None, settings: Settings) -> Scene:
    empty_the_database()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # a fast hash: not tested here
    alice = make_user("alice")
    place, reviewed = PlaceFactory(name="카페 온도"), PlaceFactory(name="Mapo Bakery")
    review = place_services.create_review(user=alice, place=reviewed, rating=5, text="quiet spot")
    keyword = KeywordFactory(text="한강뷰", language="ko", tag_en="river view", embedding=earlier_embedding("한강뷰"))
    reviewed.keyword_links.create(keyword=keyword, weight=1.0, count=1)  # offered at onboarding
    web = Client()
    web.force_login(alice)
    return Scene(alice, place, review, client_for(alice), web)


def what_was_written() -> list[list[Any]]:
    """The rows the write paths create, change or delete."""
    return [
        list(User.objects.order_by("pk").values_list("pk", flat=True)),
        list(Review.objects.order_by("pk").values_list("pk", "rating", "text")),
        list(SearchQuery.objects.order_by("pk").values_list("pk", "text")),
    ]


@pytest.mark.parametrize("path", WRITE_PATHS, ids=lambda path: path.name)
def test_a_write_rolled_back_after_the_request_enqueues_and_runs_no_task(
    scene: Scene, broker: Broker, llm_standin: LLMStandIn, path: WritePath
) -> None:
    before = what_was_written()
    with transaction.atomic():  # the outermost block: a real transaction, rolled back below
        response = path.request(scene)
        assert response.status_code == path.status, response.content[:300]
        assert what_was_written() != before  # the request did write, inside the transaction
        transaction.set_rollback(True)

    assert broker.sent == []
    assert llm_standin.chat_requests() == []  # no extraction ran
    assert not ModelVersion.objects.exists()  # no training ran
    assert what_was_written() == before


@pytest.mark.parametrize("path", WRITE_PATHS, ids=lambda path: path.name)
def test_a_committed_write_enqueues_its_task_once_after_the_commit(
    scene: Scene, broker: Broker, llm_standin: LLMStandIn, path: WritePath
) -> None:
    with transaction.atomic():
        response = path.request(scene)
        assert response.status_code == path.status, response.content[:300]
        assert broker.sent == []  # not before the commit: a worker could not see the row yet

    assert [task for task, _ in broker.sent] == [path.task] * path.messages
    if path.task in (EXTRACT_REVIEW, EXTRACT_QUERY):
        rows = Review if path.task == EXTRACT_REVIEW else SearchQuery
        ids = [args[0] for _, args in broker.sent]
        assert rows.objects.filter(pk__in=ids).count() == len(set(ids)) == path.messages  # the rows just written
        assert broker.results == ["stored"] * path.messages  # the worker found them committed
        assert len(llm_standin.chat_requests()) == path.messages
    else:
        assert broker.sent == [(TRAIN_MODELS, ())] and not User.objects.filter(pk=scene.alice.pk).exists()
