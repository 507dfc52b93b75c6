"""Home: the place and clip feeds, and the onboarding block for people the system knows nothing about."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from recommender.feed_cache import cached_recommend
from recommender.quota import QuotaExceeded
from recommender.services import FeedRequest, InvalidAction, start_with_interests
from recommender.templatetags.feed_tags import keyword_label
from recommender.web.common import location_from
from recommender.web.forms import OnboardingForm
from recommender.web.onboarding import needs_onboarding, popular_keywords

HOME_FEED_SIZE = 12
ONBOARDING_TAGS = 16


def _onboarding_form(data: dict | None = None) -> tuple[OnboardingForm, list]:
    tags = popular_keywords(ONBOARDING_TAGS)
    choices = [(k.pk, keyword_label(k.text, k.tag_en, both=True)) for k in tags]
    return OnboardingForm(data, keyword_choices=choices), tags


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    location = location_from(request)
    lat, lon = location if location else (None, None)
    places = cached_recommend(
        request.user, FeedRequest(kind="place", limit=HOME_FEED_SIZE, latitude=lat, longitude=lon)
    )
    clips = cached_recommend(request.user, FeedRequest(kind="clip", limit=HOME_FEED_SIZE, latitude=lat, longitude=lon))
    user = request.user
    show_onboarding = not user.is_authenticated or needs_onboarding(cast(User, user))
    form, tags = _onboarding_form() if show_onboarding else (None, [])
    return render(
        request,
        "home.html",
        {
            "places": places,
            "clips": clips,
            "location": location,
            "show_onboarding": show_onboarding and bool(places.items or clips.items),
            "onboarding_form": form,
            "tags": tags,
            "next": request.get_full_path(),
        },
    )


@require_POST
@login_required
def onboarding(request: HttpRequest) -> HttpResponse:
    form, _tags = _onboarding_form(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("home")
    try:
        start_with_interests(cast(User, request.user), form.cleaned_data["keywords"], form.cleaned_data["text"])
    except (InvalidAction, QuotaExceeded) as exc:
        messages.error(request, str(exc))
        return redirect("home")
    messages.success(request, _("Thanks! Your feed now follows what you picked."))
    return redirect("home")
