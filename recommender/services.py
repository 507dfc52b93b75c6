"""The one place each write action lives, shared by the web UI, the API, the admin and tasks.

Read-side entry points are re-exported here too, so callers import actions from one module.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from clips.models import Clip
from places import services as place_services
from places.models import Place, Review
from recommender import feed_cache
from recommender.enqueue import EXTRACT_QUERY, EXTRACT_REVIEW, TRAIN_MODELS, enqueue_on_commit
from recommender.feeds import Feed, FeedRequest, not_liked_places, recommend
from recommender.keywords import (
    provisional_interest_vector,
    recency_weight,
    refresh_interest_vector,
    refresh_places_keywords,
)
from recommender.models import (
    Interaction,
    InteractionKind,
    Keyword,
    MutedKeyword,
    PlaceKeyword,
    QueryIntent,
    ReviewKeyword,
    SearchQuery,
    SearchQueryKeyword,
    UserProfile,
    interaction_weight,
)
from recommender.quota import spend_llm_quota

__all__ = [
    "Feed",
    "FeedRequest",
    "InvalidAction",
    "interest_profile",
    "recommend",
    "record_interaction",
    "record_search",
    "write_review",
]

MAX_SEARCH_LENGTH = 500


# Idempotency keys the app writes itself (a review's visit, a web page's viewing, the demo data
# that load_demo keeps in step); a client's event id may not start with one, or it could stand in
# for (and so suppress) the app's own event, or be rewritten by the next load_demo.
RESERVED_KEY_PREFIXES = ("review:", "web-watch:", "web-feedback:", "demo:")


def review_visit_key(review_pk: int) -> str:
    return f"review:{review_pk}"


def web_watch_key(clip_pk: int, view_id: str) -> str:
    return f"web-watch:{clip_pk}:{view_id}"


def web_feedback_key(item_type: str, item_pk: int, action: str, nonce: str) -> str:
    """One like / save / dislike per rendered button: a double click (or a resent form) counts once."""
    return f"web-feedback:{item_type}:{item_pk}:{action}:{nonce}"


class InvalidAction(ValueError):
    """The action cannot be recorded as asked; the message says why, for a 400 response."""


def record_interaction(
    user: User,
    item: Place | Clip,
    kind: str,
    *,
    watched_fraction: float | None = None,
    occurred_at: datetime | None = None,
    idempotency_key: str | None = None,
    source: str = "app",
) -> tuple[Interaction, bool]:
    """Record one event; returns (interaction, created). A repeated idempotency key is a no-op."""
    if kind not in InteractionKind.values:
        raise InvalidAction(f"unknown interaction kind {kind!r}; use one of {', '.join(InteractionKind.values)}")
    if kind == InteractionKind.WATCH:
        if not isinstance(item, Clip):
            raise InvalidAction("only clips can be watched")
        if watched_fraction is None or not (0.0 <= watched_fraction <= 1.0) or math.isnan(watched_fraction):
            raise InvalidAction("a watch needs watched_fraction between 0 and 1")
    elif watched_fraction is not None:
        raise InvalidAction("watched_fraction is only for watch events")
    now = timezone.now()
    when = occurred_at or now
    if when > now + settings.INTERACTION_MAX_CLOCK_SKEW:
        raise InvalidAction("occurred_at is in the future")
    fields = {
        "user": user,
        "place": item if isinstance(item, Place) else None,
        "clip": item if isinstance(item, Clip) else None,
        "kind": kind,
        "weight": interaction_weight(kind, watched_fraction),
        "watched_fraction": watched_fraction,
        "occurred_at": when,
        "idempotency_key": idempotency_key,
        "source": source,
    }
    if idempotency_key is None:
        created = Interaction.objects.create(**fields)
        feed_cache.touch_person(user.pk)  # after the write: the next feed reflects this event
        return created, True
    try:
        with transaction.atomic():
            created = Interaction.objects.create(**fields)
            feed_cache.touch_person(user.pk)
            return created, True
    except IntegrityError:
        existing = Interaction.objects.filter(user=user, idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        if kind == InteractionKind.WATCH and existing.kind == kind and watched_fraction is not None:
            # Progress reports of one viewing share a key: keep the furthest point reached, and
            # let the next feed reflect it (the first report refreshed it at a smaller weight).
            if Interaction.objects.filter(pk=existing.pk, watched_fraction__lt=watched_fraction).update(
                watched_fraction=watched_fraction, weight=fields["weight"]
            ):
                feed_cache.touch_person(user.pk)
            existing.refresh_from_db()
        return existing, False


def write_review(user: User, place: Place, *, rating: int | None = None, text: str = "") -> Review:
    """Write a person's review of a place (places.services.create_review) and record the visit
    it implies. A second review of the same place is refused (``ReviewError``): edit the first.

    The importers and ``evaluate`` read a review as a visit too: from the next feed on, the place
    counts in the person's history (and their next training) and leaves their place feeds. The
    visit's idempotency key is the review's, so it is recorded once however the review is saved.
    """
    with transaction.atomic():
        # One review per person and place, as the web form keeps it (it edits yours if you wrote
        # one): the place's row is locked so two posts at once cannot both pass the check.
        Place.objects.select_for_update().filter(pk=place.pk).first()
        own = Review.objects.filter(user_id=user.pk, place_id=place.pk).values_list("pk", flat=True).first()
        if own is not None:
            raise place_services.ReviewError(
                f"you already reviewed this place; change that review instead (PATCH /api/v1/reviews/{own}/)"
            )
        review = place_services.create_review(user=user, place=place, rating=rating, text=text)
        record_review_visit(review)
        enqueue_on_commit(EXTRACT_REVIEW, review.pk)  # its keywords, right after commit
    return review


def record_review_visit(review: Review) -> None:
    """The visit a review implies (recorded once, by the review's key): from the next feed on the
    place counts in the person's history and leaves their place feeds."""
    record_interaction(
        review.user,
        review.place,
        InteractionKind.VISIT,
        occurred_at=min(review.created_at, timezone.now()),  # a curator may date a review ahead
        idempotency_key=review_visit_key(review.pk),
        source="review",
    )


def edit_review(user: User, review_id: int, **changes: Any) -> Review:
    """Change the rating and/or text of the person's own review (places.services.update_review).

    Their feeds are refreshed: the rating decides whether reasons may call the place liked
    (``REVIEW_LOW_RATING``). Someone else's review raises ``Review.DoesNotExist``.
    """
    review = place_services.update_review(user=user, review_id=review_id, **changes)
    feed_cache.touch_person(user.pk)
    enqueue_on_commit(EXTRACT_REVIEW, review.pk)  # a new text is extracted again (the same text: a no-op)
    return review


def remove_reviews(review_ids: Sequence[int]) -> int:
    """A curator's removal of reviews, anyone's (the admin): their places' keywords are recomputed
    without them and their writers' feeds refreshed, as when a person deletes their own
    (``delete_review``); the visits they recorded stay. Returns how many were removed."""
    with transaction.atomic():
        rows = list(Review.objects.filter(pk__in=review_ids).values_list("place_id", "user_id"))
        Review.objects.filter(pk__in=review_ids).delete()
        refresh_places_keywords(place_id for place_id, _ in rows)
        for user_id in sorted({user_id for _, user_id in rows}):
            feed_cache.touch_person(user_id)
    return len(rows)


def delete_review(user: User, review_id: int) -> int:
    """Delete the person's own review; returns its place's id. The place's keywords are recomputed
    without it and the person's feeds refreshed; the visit it recorded stays (they did go).
    Someone else's review raises ``Review.DoesNotExist``."""
    place_id = Review.objects.filter(pk=review_id, user_id=user.pk).values_list("place_id", flat=True).first()
    if place_id is None:
        raise Review.DoesNotExist(f"no review {review_id} by this user")
    remove_reviews([review_id])
    return place_id


def record_search(user: User, text: str) -> SearchQuery:
    """Record a search; the workers turn it into intent + interest keywords (cold start)."""
    text = " ".join(text.split())
    if not text:
        raise InvalidAction("a search needs some text")
    if len(text) > MAX_SEARCH_LENGTH:
        raise InvalidAction(f"a search is at most {MAX_SEARCH_LENGTH} characters")
    spend_llm_quota(user)
    search = SearchQuery.objects.create(user=user, text=text, created_at=timezone.now())
    feed_cache.touch_person(user.pk)  # after the write (outside a transaction it fires at once)
    return search


@dataclass
class ProfileKeyword:
    keyword_id: int
    text: str
    tag_en: str
    weight: float
    sources: set[str] = field(default_factory=set)


def interest_profile(user: User, *, limit: int = 20) -> list[ProfileKeyword]:
    """What the system believes the person likes: keywords from searches, reviews and liked places.

    Searches count by recency; keywords of places the person engaged with positively count by the
    keyword's weight at that place; the person's own review keywords by their polarity.
    """
    now = timezone.now()
    found: dict[int, ProfileKeyword] = {}

    def add(keyword_id: int, text: str, tag: str, weight: float, source: str) -> None:
        entry = found.setdefault(keyword_id, ProfileKeyword(keyword_id, text, tag, 0.0))
        entry.weight += weight
        entry.sources.add(source)

    for keyword_id, text, tag, weight, created in (
        SearchQueryKeyword.objects.filter(
            query__user=user, query__intent=QueryIntent.INTEREST, keyword__is_hidden=False
        )
        .order_by("-query__created_at")
        .values_list(  # the newest, when there are more
            "keyword_id", "keyword__text", "keyword__tag_en", "weight", "query__created_at"
        )[:500]
    ):
        add(keyword_id, text, tag, weight * recency_weight(created, now, settings.INTEREST_HALF_LIFE_DAYS), "search")
    for keyword_id, text, tag, weight, polarity in (
        ReviewKeyword.objects.filter(review__user=user, keyword__is_hidden=False)
        .order_by("-review__created_at")
        .values_list("keyword_id", "keyword__text", "keyword__tag_en", "weight", "polarity")[:500]
    ):
        add(keyword_id, text, tag, weight * polarity, "review")
    # Places the person acted on (not merely saw or clicked) and whose events add up to a positive
    # net weight, as the feeds read "liked": a place clicked and then disliked is not liked, nor
    # one their own review rates low.
    liked_places = (
        Interaction.objects.filter(user=user, place__isnull=False)
        .values("place_id")
        .annotate(
            last=Max("occurred_at"),
            net=Sum("weight"),
            acted=Count("pk", filter=~Q(kind__in=[InteractionKind.VIEW, InteractionKind.CLICK])),
        )
        .filter(net__gt=0, acted__gt=0)
        .exclude(not_liked_places(user.pk))  # been there and rated it low, or disliked it since: not liked
        .order_by("-last")
        .values_list("place_id", flat=True)[:50]
    )
    for keyword_id, text, tag, weight in (
        PlaceKeyword.objects.filter(place_id__in=list(liked_places), keyword__is_hidden=False, weight__gt=0)
        .order_by("-weight")
        .values_list("keyword_id", "keyword__text", "keyword__tag_en", "weight")[:1000]
    ):
        add(keyword_id, text, tag, weight, "liked")
    muted = set(MutedKeyword.objects.filter(user=user).values_list("keyword_id", flat=True))
    ranked = sorted((k for k in found.values() if k.weight > 0 and k.keyword_id not in muted), key=lambda k: -k.weight)
    return ranked[:limit]


def mute_keyword(user: User, keyword_id: int) -> bool:
    """Remove a learned interest: it leaves the profile, the interest vector and the reasons.

    Returns False for an unknown keyword. Muting twice is harmless.
    """
    if not Keyword.objects.filter(pk=keyword_id).exists():
        return False
    with transaction.atomic():
        MutedKeyword.objects.get_or_create(user=user, keyword_id=keyword_id)
        refresh_interest_vector(user.pk)  # also refreshes the person's cached feeds
    return True


def unmute_keyword(user: User, keyword_id: int) -> bool:
    """Undo ``mute_keyword``; returns whether the keyword had been muted."""
    with transaction.atomic():
        deleted, _ = MutedKeyword.objects.filter(user=user, keyword_id=keyword_id).delete()
        if deleted:
            refresh_interest_vector(user.pk)
    return bool(deleted)


MAX_ONBOARDING_KEYWORDS = 16


def start_with_interests(user: User, keyword_ids: list[int], text: str = "") -> list[SearchQuery]:
    """Record the picked interests (and an optional typed search) as searches, and set the interest vector.

    Each pick is recorded as a search of the keyword's text, so the worker extracts it like any
    search and later rebuilds the vector from it. Until then the vector is the unit mean of the
    picked keywords' stored embeddings (``keywords.provisional_interest_vector``, which rebuilds it
    from the same searches when a keyword is muted): no model runs in the request, and the next feed
    already leans towards the picks. Returns the recorded searches.
    """
    keywords = list(
        Keyword.objects.filter(pk__in=keyword_ids[:MAX_ONBOARDING_KEYWORDS], is_hidden=False).order_by("pk")
    )
    texts = [keyword.text for keyword in keywords]
    if text.strip():
        texts.append(text)
    vector = provisional_interest_vector(texts, user_id=user.pk)  # the picks, known keywords typed; not muted
    with transaction.atomic():
        searches = [record_search(user, t) for t in texts]
        for search in searches:  # each recorded search refreshes the person's cached feeds
            enqueue_on_commit(EXTRACT_QUERY, search.pk)
        if vector is not None:
            UserProfile.objects.update_or_create(user=user, defaults={"interest_embedding": vector})
    return searches


def delete_account(user: User) -> None:
    """Delete the person and, by cascade, their reviews, interactions, searches and profile.

    Their refresh tokens are blacklisted first (the rows outlive the user, SET_NULL), so a
    stolen token cannot be refreshed after the account is gone. The places they reviewed get
    their keyword profiles rebuilt without them, and the ALS models are retrained after commit
    so the person's interactions leave the item factors too.
    """
    delete_accounts([user])


def delete_accounts(users: Sequence[User]) -> int:
    """``delete_account`` for several people at once (a curator's bulk delete): one transaction,
    and one retraining after it rather than one per person. Returns how many were deleted."""
    ids = [user.pk for user in users]
    with transaction.atomic():
        tokens = OutstandingToken.objects.filter(user_id__in=ids)
        BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in tokens], ignore_conflicts=True)
        reviewed = set(Review.objects.filter(user_id__in=ids).values_list("place_id", flat=True))
        User.objects.filter(pk__in=ids).delete()
        refresh_places_keywords(reviewed)
        enqueue_on_commit(TRAIN_MODELS)
    return len(users)
