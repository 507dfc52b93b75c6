"""Project-level endpoints that are not pages. The pages live in recommender/web/."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from recommender.web.feed import home

__all__ = ["healthz", "home"]


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness + database check for load balancers: 200 when the database answers, else 503."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means "not ready"
        return JsonResponse({"status": "unavailable", "database": str(exc.__class__.__name__)}, status=503)
    return JsonResponse({"status": "ok"})
