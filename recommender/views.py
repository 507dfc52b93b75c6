"""Project-level endpoints that are not pages. The pages live in recommender/web/."""

from __future__ import annotations

import sys

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views.decorators.http import require_safe

from recommender.api.exceptions import error_body, unavailable_message
from recommender.web.feed import home

__all__ = ["healthz", "home", "server_error"]

RETRY_AFTER_SECONDS = 5


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a 503 with Retry-After when the database or Redis is down, else the plain 500 page.

    Called while the exception is being handled; JSON in the API's error shape under /api/.
    """
    outage = unavailable_message(sys.exc_info()[1])
    status = 503 if outage is not None else 500
    response: HttpResponse
    if request.path.startswith("/api/"):
        body = (
            error_body("unavailable", outage)
            if outage is not None
            else error_body("server_error", "Something went wrong on our side; it has been logged.")
        )
        response = JsonResponse(body, status=status)
    else:
        response = HttpResponse(loader.get_template(f"{status}.html").render(), status=status)
    if outage is not None:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness + database check for load balancers: 200 when the database answers, else 503."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means "not ready"
        return JsonResponse({"status": "unavailable", "database": str(exc.__class__.__name__)}, status=503)
    return JsonResponse({"status": "ok"})
