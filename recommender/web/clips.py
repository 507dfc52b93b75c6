"""A clip's page (video, caption, keywords, its place, more like it) and the watch-progress endpoint."""

from __future__ import annotations

import uuid
from typing import cast

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST, require_safe

from clips.models import Clip
from recommender import services
from recommender.api.queries import keywords_for, similar_items
from recommender.models import InteractionKind
from recommender.web.forms import WatchForm

DETAIL_KEYWORDS = 15
SIMILAR = 6


@require_safe
def clip_detail(request: HttpRequest, clip_id: int) -> HttpResponse:
    clip = get_object_or_404(Clip.objects.select_related("place"), pk=clip_id, is_active=True)
    context = {
        "clip": clip,
        "keywords": keywords_for("clip", [clip.pk], DETAIL_KEYWORDS)[clip.pk],
        "similar": similar_items(clip, SIMILAR),
        # One watch event per page view: the page's posts share this key, so a resent or
        # repeated report of the same viewing is not counted twice (record_interaction).
        "view_id": uuid.uuid4().hex,
    }
    return render(request, "web/clip.html", context)


@require_POST
def clip_watch(request: HttpRequest, clip_id: int) -> JsonResponse:
    """Record how much of the clip was watched in this page view (sent by static/js/app.js)."""
    if not request.user.is_authenticated:
        return JsonResponse({"status": "ignored", "reason": "not signed in"}, status=401)
    clip = get_object_or_404(Clip, pk=clip_id, is_active=True)
    form = WatchForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"status": "error", "errors": form.errors.get_json_data()}, status=400)
    try:
        _, created = services.record_interaction(
            cast(User, request.user),
            clip,
            InteractionKind.WATCH,
            watched_fraction=form.cleaned_data["fraction"],
            idempotency_key=services.web_watch_key(clip.pk, form.cleaned_data["view_id"]),
            source="web",
        )
    except services.InvalidAction as exc:
        return JsonResponse({"status": "error", "message": str(exc)}, status=400)
    return JsonResponse({"status": "created" if created else "duplicate"})
