"""Server-rendered pages. Thin: parse, call a service, render."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from clips.models import Clip
from places.models import Place


def home(request: HttpRequest) -> HttpResponse:
    context = {
        "place_count": Place.objects.filter(is_active=True).count(),
        "clip_count": Clip.objects.filter(is_active=True).count(),
        "places": Place.objects.filter(is_active=True).order_by("-id")[:12],
        "clips": Clip.objects.filter(is_active=True).order_by("-id")[:12],
    }
    return render(request, "home.html", context)


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness + database check for load balancers: 200 when the database answers, else 503."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means "not ready"
        return JsonResponse({"status": "unavailable", "database": str(exc.__class__.__name__)}, status=503)
    return JsonResponse({"status": "ok"})
