"""Extra fields in a write change nothing: every write, web and API, with protected fields added.

Each write of the authorization matrix (tests/test_authorization_matrix.py) is sent by Alice with
its valid body plus fields nobody may set that way: an owner (Bob), staff flags, keywords,
embeddings, scores and weights, timestamps, ids, moderation state. The write must still work (so
the check is not vacuous) and none of the extra fields may take effect.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction

from clips.models import Clip
from places.models import Place, Review
from recommender.models import Interaction, Keyword, MutedKeyword, SearchQuery, UserProfile
from tests import test_authorization_matrix as matrix
from tests.test_authorization_matrix import MATRIX, World, client_for, request, served, url_for

pytestmark = pytest.mark.django_db

# Shared fixtures (pytest finds fixtures by name in the module).
fast_passwords = matrix.fast_passwords
world = matrix.world

INJECTED = "injected-keyword-93b1"
LONG_AGO = "2001-02-03T04:05:06Z"
HUGE = 12345.0
NEW_ID = 987654321


def protected_fields(world: World) -> dict[str, Any]:
    bob = world.users["bob"].pk
    return {
        # ownership
        "user": bob, "user_id": bob, "owner": bob, "author": bob, "created_by": bob,
        # privileges
        "is_staff": True, "is_superuser": True, "is_active": False, "groups": [1], "user_permissions": [1],
        # derived data
        "keywords": [INJECTED], "keyword_summary": INJECTED, "tag_en": INJECTED, "intent": "task",
        "embedding": [1.0] * 384, "interest_embedding": [1.0] * 384, "score": HUGE, "weight": HUGE,
        "rating_average": HUGE, "extraction_error": INJECTED, "keywords_key": INJECTED,
        "extraction_failed_key": INJECTED, "embedding_key": INJECTED, "source": INJECTED,
        # identity and time
        "id": NEW_ID, "pk": NEW_ID, "created_at": LONG_AGO, "updated_at": LONG_AGO, "date_joined": LONG_AGO,
        "last_login": LONG_AGO,
    }  # fmt: skip


def with_protected_fields(body: dict[str, Any], world: World, api: bool) -> dict[str, Any]:
    extra = protected_fields(world)
    if not api:  # a form post carries flat values
        extra = {k: v for k, v in extra.items() if not isinstance(v, list) or k == "groups"}
    body = {**extra, **body}  # the real fields keep their valid values
    if "events" in body:
        body["events"] = [{**extra, **event} for event in body["events"]]
    return body


WRITES = [
    (route, method)
    for route, ops in sorted(MATRIX.items())
    for method, op in ops.items()
    if method != "get" and op.data is not None
]


def owned_by_bob(bob: User) -> dict[str, int]:
    return {
        "reviews": Review.objects.filter(user=bob).count(),
        "interactions": Interaction.objects.filter(user=bob).count(),
        "searches": SearchQuery.objects.filter(user=bob).count(),
        "muted": MutedKeyword.objects.filter(user=bob).count(),
        "profiles": UserProfile.objects.filter(user=bob).count(),
    }


def effects_of_protected_fields(world: World) -> list[str]:
    """Every trace the protected fields would leave if any of them took effect."""
    long_ago = dt.datetime(2001, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
    found = []
    if User.objects.filter(is_superuser=True).exclude(username="admin").exists():
        found.append("a new superuser")
    if User.objects.filter(is_staff=True).exclude(username__in=["admin", "curator"]).exists():
        found.append("a new staff member")
    if User.objects.filter(groups__isnull=False).exclude(username="curator").exists():
        found.append("a new group membership")
    if User.objects.filter(date_joined__lte=long_ago).exists() or User.objects.filter(last_login__lte=long_ago):
        found.append("a user's dates set by the client")
    if Keyword.objects.filter(text=INJECTED).exists() or Keyword.objects.filter(tag_en=INJECTED).exists():
        found.append("an injected keyword")
    if Place.objects.filter(keyword_summary__icontains=INJECTED).exists():
        found.append("an injected keyword summary")
    if Review.objects.filter(created_at__lte=long_ago).exists() or Review.objects.filter(extraction_error=INJECTED):
        found.append("a review's dates or pipeline state set by the client")
    if Review.objects.filter(keywords_key=INJECTED).exists() or Review.objects.filter(pk=NEW_ID).exists():
        found.append("a review's pipeline key or id set by the client")
    if Interaction.objects.filter(weight=HUGE).exists() or Interaction.objects.filter(source=INJECTED).exists():
        found.append("an interaction's weight or source set by the client")
    if Interaction.objects.filter(pk=NEW_ID).exists() or Interaction.objects.filter(created_at__lte=long_ago):
        found.append("an interaction's id or creation time set by the client")
    if SearchQuery.objects.filter(created_at__lte=long_ago).exists() or SearchQuery.objects.filter(pk=NEW_ID):
        found.append("a search's id or time set by the client")
    if SearchQuery.objects.filter(keywords_key=INJECTED).exists():
        found.append("a search's pipeline key set by the client")
    if UserProfile.objects.filter(interest_embedding__isnull=False).exists():
        found.append("an interest embedding set by the client")
    if not Place.objects.filter(pk=world.place.pk, is_active=True).exists():
        found.append("the place deactivated")
    if not Clip.objects.filter(pk=world.clip.pk, is_active=True).exists():
        found.append("the clip deactivated")
    return found


@pytest.mark.parametrize(("route", "method"), WRITES)
def test_protected_fields_in_a_write_change_nothing(world: World, route: str, method: str) -> None:
    api = route.startswith("api/v1/")
    role = "anonymous" if route in ("accounts/signup/", "api/v1/auth/signup/") else "alice"
    body = with_protected_fields(MATRIX[route][method].data(world, role), world, api)
    bob = world.users["bob"]
    with transaction.atomic():
        before = owned_by_bob(bob)
        response = request(client_for(role, world, route), method, url_for(route, world), body, api)
        assert served(response), (response.status_code, response.content[:300])
        connection.check_constraints()
        assert effects_of_protected_fields(world) == []
        assert owned_by_bob(bob) == before, "a write on someone else's behalf"
        transaction.set_rollback(True)


def test_the_checks_see_each_kind_of_effect(world: World) -> None:
    """The effect detector can fail: each protected field, set directly, is noticed."""
    alice = world.users["alice"]
    with transaction.atomic():
        User.objects.filter(pk=alice.pk).update(is_staff=True)
        Review.objects.filter(pk=world.review.pk).update(created_at="2001-02-03T04:05:06Z")
        Interaction.objects.filter(user=alice).update(weight=HUGE)
        Keyword.objects.create(text=INJECTED, language="en")
        assert effects_of_protected_fields(world) == [
            "a new staff member",
            "an injected keyword",
            "a review's dates or pipeline state set by the client",
            "an interaction's weight or source set by the client",
        ]
        transaction.set_rollback(True)
