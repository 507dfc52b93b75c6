"""Server-rendered pages. Thin: parse, call a service, render."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from recommender.services import FeedRequest, recommend

HOME_FEED_SIZE = 12


def home(request: HttpRequest) -> HttpResponse:
    places = recommend(request.user, FeedRequest(kind="place", limit=HOME_FEED_SIZE))
    clips = recommend(request.user, FeedRequest(kind="clip", limit=HOME_FEED_SIZE))
    return render(request, "home.html", {"places": places, "clips": clips})


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness + database check for load balancers: 200 when the database answers, else 503."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means "not ready"
        return JsonResponse({"status": "unavailable", "database": str(exc.__class__.__name__)}, status=503)
    return JsonResponse({"status": "ok"})
