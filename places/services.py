"""Review write actions: one function per action, shared by the API, the web UI and the admin.

Every function that changes an existing review takes the acting user and looks the review up
*through* that user, so another person's review is indistinguishable from a missing one
(``Review.DoesNotExist``, a 404 to the API) and can never be changed.
Keyword extraction is not started here (places must not import the workers): callers enqueue it
after commit, and the pipeline sweep catches any review whose text changed without it.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import transaction
from django.utils import timezone

from places.models import Place, Review
from recommender.quota import spend_llm_quota

MAX_REVIEW_LENGTH = 5000  # ~2 pages; longer texts are pasted articles, not reviews
_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")

# Marks a keyword argument the caller did not pass (``None`` means "clear the rating").
UNSET: Any = object()


class ReviewError(ValueError):
    """The review cannot be written as asked; the message says why, for a 400 response."""


def _guess_language(text: str) -> str:
    if not text:
        return ""
    return "ko" if _HANGUL.search(text) else "en"


def _clean(rating: int | None, text: str) -> tuple[int | None, str]:
    text = text.strip()
    if rating is not None and (isinstance(rating, bool) or not 1 <= rating <= 5):
        raise ReviewError("rating must be between 1 and 5")
    if len(text) > MAX_REVIEW_LENGTH:
        raise ReviewError(f"a review is at most {MAX_REVIEW_LENGTH} characters")
    if rating is None and not text:
        raise ReviewError("a review needs a rating or some text")
    return rating, text


def create_review(*, user: Any, place: Place, rating: int | None = None, text: str = "") -> Review:
    """Write a new review by ``user`` of an active ``place``."""
    if not place.is_active:
        raise ReviewError("this place is no longer listed")
    rating, text = _clean(rating, text)
    if text:
        spend_llm_quota(user)  # its text goes to the LLM
    return Review.objects.create(
        user=user, place=place, rating=rating, text=text, language=_guess_language(text), created_at=timezone.now()
    )


def update_review(*, user: Any, review_id: int, rating: int | None = UNSET, text: str = UNSET) -> Review:
    """Change the rating and/or text of ``user``'s own review; others' raise ``Review.DoesNotExist``."""
    with transaction.atomic():
        review = Review.objects.select_for_update().get(pk=review_id, user_id=user.pk)
        new_rating = review.rating if rating is UNSET else rating
        new_text = review.text if text is UNSET else text
        if new_text != review.text and new_text.strip():
            spend_llm_quota(user)  # a new text is extracted again
        review.rating, review.text = _clean(new_rating, new_text)
        review.language = _guess_language(review.text)
        review.save(update_fields=["rating", "text", "language", "updated_at"])
    return review
