"""Home: the place and clip feeds, and the onboarding block for people the system knows nothing about."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from recommender.feed_cache import cached_recommend
from recommender.models import Keyword
from recommender.quota import QuotaExceeded
from recommender.services import FeedRequest, InvalidAction, start_with_interests
from recommender.templatetags.feed_tags import keyword_label
from recommender.web.common import location_from, login_required_then_back
from recommender.web.forms import OnboardingForm
from recommender.web.onboarding import needs_onboarding, popular_keywords

HOME_FEED_SIZE = 12
ONBOARDING_TAGS = 16


def _onboarding_form(data: Any = None) -> tuple[OnboardingForm, list]:
    """The interest picker: the most used keywords; when posted, also any visible keyword picked
    (a worker may have changed the top tags since the page was shown: a pick stays a pick)."""
    tags = popular_keywords(ONBOARDING_TAGS)
    if data is not None:
        shown = {k.pk for k in tags}
        picked = [int(v) for v in data.getlist("keywords") if v.isascii() and v.isdigit() and len(v) < 19]
        tags += list(Keyword.objects.filter(pk__in=picked, is_hidden=False).exclude(pk__in=shown).order_by("pk"))
    choices = [(k.pk, keyword_label(k.text, k.tag_en, both=True)) for k in tags]
    return OnboardingForm(data, keyword_choices=choices), tags


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return _home_page(request)


def _home_page(request: HttpRequest, form: OnboardingForm | None = None, tags: list | None = None) -> HttpResponse:
    """The feeds, and the onboarding block (``form``: a posted one shown again with its errors)."""
    location = location_from(request)
    lat, lon = location if location else (None, None)
    places = cached_recommend(
        request.user, FeedRequest(kind="place", limit=HOME_FEED_SIZE, latitude=lat, longitude=lon)
    )
    clips = cached_recommend(request.user, FeedRequest(kind="clip", limit=HOME_FEED_SIZE, latitude=lat, longitude=lon))
    user = request.user
    show_onboarding = form is not None or not user.is_authenticated or needs_onboarding(cast(User, user))
    if form is None:
        form, tags = _onboarding_form() if show_onboarding else (None, [])
    else:
        request.page_path = reverse("home")  # type: ignore[attr-defined]
    return render(
        request,
        "home.html",
        {
            "places": places,
            "clips": clips,
            "location": location,
            "show_onboarding": show_onboarding and (bool(places.items or clips.items) or bool(form and form.is_bound)),
            "onboarding_form": form,
            "tags": tags,
        },
        status=400 if form is not None and form.is_bound else 200,
    )


@require_POST
@login_required_then_back
def onboarding(request: HttpRequest) -> HttpResponse:
    form, tags = _onboarding_form(request.POST)
    if not form.is_valid():  # shown again with what was ticked and typed, and why
        return _home_page(request, form, tags)
    try:
        start_with_interests(cast(User, request.user), form.cleaned_data["keywords"], form.cleaned_data["text"])
    except (InvalidAction, QuotaExceeded) as exc:
        messages.error(request, str(exc))
        return redirect("home")
    messages.success(request, _("Thanks! Your feed now follows what you picked."))
    return redirect("home")
