"""A place's page (details, hours, map, keywords, reviews, similar places, clips) and your review of it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from places import services as place_services
from places.hours import DAYS, is_open_at
from places.models import Place, Review
from recommender import services
from recommender.api.queries import keywords_for, review_stats, similar_items
from recommender.quota import QuotaExceeded
from recommender.web.common import login_required_then_back, page_of
from recommender.web.forms import ReviewForm

DETAIL_KEYWORDS = 20
SIMILAR = 6
CLIPS = 12
REVIEWS_PER_PAGE = 10


def opening_hours_rows(hours: dict[str, Any] | None, now: datetime) -> list[dict[str, Any]]:
    """One row per weekday, Monday first: its label, its intervals as text, and whether it is today."""
    rows = []
    for index, day in enumerate(DAYS):
        intervals = (hours or {}).get(day) or []
        text = ", ".join(f"{start}–{end}" for start, end in intervals if start and end)
        rows.append({"label": WEEKDAYS[index], "text": text, "today": index == now.weekday()})
    return rows


def _own_review(request: HttpRequest, place: Place) -> Review | None:
    if not request.user.is_authenticated:
        return None
    return Review.objects.filter(place=place, user_id=request.user.pk).order_by("-created_at", "-pk").first()


@require_safe
def place_detail(request: HttpRequest, place_id: int) -> HttpResponse:
    return _place_page(request, place_id)


def _place_page(request: HttpRequest, place_id: int, form: ReviewForm | None = None, status: int = 200) -> HttpResponse:
    """The place page; a refused review posted to it comes back here with its errors (status 400)."""
    place = get_object_or_404(Place, pk=place_id, is_active=True)
    local = timezone.now().astimezone(ZoneInfo(settings.PLACE_TIME_ZONE))
    own = _own_review(request, place)
    if form is None:
        form = ReviewForm(initial={"rating": own.rating, "text": own.text} if own else None)
    reviews = Review.objects.filter(place=place).select_related("user").order_by("-created_at", "-pk")
    context = {
        "place": place,
        "keywords": keywords_for("place", [place.pk], DETAIL_KEYWORDS)[place.pk],
        "stats": review_stats(place.pk),
        "hours": opening_hours_rows(place.opening_hours, local),
        "open_now": is_open_at(place.opening_hours, local),
        "reviews": page_of(request, reviews, REVIEWS_PER_PAGE),
        "own_review": own,
        "form": form,
        "similar": similar_items(place, SIMILAR),
        "clips": place.clips.filter(is_active=True).order_by("-pk")[:CLIPS],
    }
    if request.method == "POST":  # a refused review shown again: its page, not the form's action, is "here"
        request.page_path = reverse("place", args=[place.pk])  # type: ignore[attr-defined]
    return render(request, "web/place.html", context, status=status)


@require_POST
@login_required_then_back
def review_save(request: HttpRequest, place_id: int) -> HttpResponse:
    """Write your review of this place, or change it if you already wrote one; keywords follow."""
    place = get_object_or_404(Place, pk=place_id, is_active=True)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        return _place_page(request, place_id, form=form, status=400)
    own = _own_review(request, place)
    rating, text = form.cleaned_data["rating"], form.cleaned_data["text"]
    try:
        if own is None:
            services.write_review(cast(User, request.user), place, rating=rating, text=text)
            messages.success(request, _("Thanks for your review! Its keywords appear here shortly."))
        else:
            services.edit_review(cast(User, request.user), own.pk, rating=rating, text=text)
            messages.success(request, _("Your review was updated."))
    except (place_services.ReviewError, QuotaExceeded) as exc:
        form.add_error(None, str(exc))
        return _place_page(request, place_id, form=form, status=429 if isinstance(exc, QuotaExceeded) else 400)
    return redirect(reverse("place", args=[place.pk]) + "#your-review")


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def review_edit(request: HttpRequest, review_id: int) -> HttpResponse:
    """Edit one of your reviews on its own page; someone else's review is a 404."""
    review = get_object_or_404(Review.objects.select_related("place"), pk=review_id, user_id=request.user.pk)
    if request.method == "POST":
        form = ReviewForm(request.POST)
        if form.is_valid():
            try:
                services.edit_review(
                    cast(User, request.user),
                    review.pk,
                    rating=form.cleaned_data["rating"],
                    text=form.cleaned_data["text"],
                )
            except (place_services.ReviewError, QuotaExceeded) as exc:
                form.add_error(None, str(exc))
            except Review.DoesNotExist:
                raise Http404 from None
            else:
                messages.success(request, _("Your review was updated."))
                return redirect(reverse("place", args=[review.place_id]) + "#your-review")
    else:
        form = ReviewForm(initial={"rating": review.rating, "text": review.text})
    return render(request, "web/review_edit.html", {"review": review, "form": form}, status=400 if form.errors else 200)


@require_POST
@login_required_then_back
def review_delete(request: HttpRequest, review_id: int) -> HttpResponse:
    """Delete one of your reviews; the place's keywords are recomputed without it."""
    try:
        place_id = services.delete_review(cast(User, request.user), review_id)
    except Review.DoesNotExist:
        raise Http404 from None
    messages.success(request, _("Your review was deleted."))
    return redirect("place", place_id=place_id)
