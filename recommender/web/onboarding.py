"""Cold start from the first screen: a new person picks interests and the feed fills at once.

``start_with_interests`` is a write action and belongs with the others in recommender/services.py;
it lives here until it is moved (the web UI is its only caller so far).
"""

from __future__ import annotations

import numpy as np
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count, Q

from recommender import services
from recommender.enqueue import EXTRACT_QUERY, enqueue_on_commit
from recommender.models import Interaction, Keyword, SearchQuery, UserProfile

MAX_CHOSEN = 16


def popular_keywords(limit: int = 16) -> list[Keyword]:
    """Visible keywords with an embedding that the most places and clips carry (the onboarding tags)."""
    return list(
        Keyword.objects.filter(is_hidden=False, embedding__isnull=False)
        .annotate(
            uses=Count("place_links", distinct=True, filter=Q(place_links__weight__gt=0))
            + Count("clip_links", distinct=True, filter=Q(clip_links__weight__gt=0))
        )
        .filter(uses__gt=0)
        .order_by("-uses", "pk")[:limit]
    )


def needs_onboarding(user: User) -> bool:
    """A signed-in person with no interactions, no searches and no interest vector yet."""
    if Interaction.objects.filter(user=user).exists() or SearchQuery.objects.filter(user=user).exists():
        return False
    return not UserProfile.objects.filter(user=user, interest_embedding__isnull=False).exists()


def start_with_interests(user: User, keyword_ids: list[int], text: str = "") -> list[SearchQuery]:
    """Record the picked interests (and an optional typed search) as searches, and set the interest vector.

    Each pick is recorded as a search of the keyword's text, so the worker extracts it like any
    search and later rebuilds the vector from it. Until then the vector is the unit mean of the
    picked keywords' stored embeddings: no model runs in the request, and the next feed already
    leans towards the picks. Returns the recorded searches.
    """
    keywords = list(Keyword.objects.filter(pk__in=keyword_ids[:MAX_CHOSEN], is_hidden=False).order_by("pk"))
    texts = [keyword.text for keyword in keywords]
    if text.strip():
        texts.append(text)
    vectors = [np.asarray(k.embedding, dtype=np.float64) for k in keywords if k.embedding is not None]
    if text.strip():  # words of a typed search that are known keywords count too
        words = [w for w in text.split() if w][:8]
        matches = Keyword.objects.filter(is_hidden=False, embedding__isnull=False).filter(
            Q(text__in=words) | Q(tag_en__in=words) | Q(text__iexact=text.strip()) | Q(tag_en__iexact=text.strip())
        )
        vectors.extend(np.asarray(v, dtype=np.float64) for v in matches.values_list("embedding", flat=True)[:16])
    with transaction.atomic():
        searches = [services.record_search(user, t) for t in texts]
        for search in searches:
            enqueue_on_commit(EXTRACT_QUERY, search.pk)
        if vectors:
            mean = np.mean(vectors, axis=0)
            norm = float(np.linalg.norm(mean))
            if norm > 0:
                UserProfile.objects.update_or_create(
                    user=user, defaults={"interest_embedding": (mean / norm).astype(np.float32)}
                )
    return searches
