"""Cold start from the first screen: which keywords to offer, and who still needs onboarding.

The write action itself, ``services.start_with_interests``, is shared with other entry points.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import Count, Q

from recommender.models import Interaction, Keyword, SearchQuery, UserProfile


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
