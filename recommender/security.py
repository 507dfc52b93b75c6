"""Log-in protection: who a client is, what a locked-out log-in gets back (django-axes calls both;
see AXES_* in settings), and the per-address rate of the web's log-in and sign-up forms."""

from __future__ import annotations

import math
from typing import Any

from axes.helpers import get_cool_off
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from recommender.api.exceptions import error_body


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """429 with Retry-After: the API's JSON error shape under /api/, a page everywhere else."""
    cool_off = get_cool_off(request)
    minutes = max(1, math.ceil(cool_off.total_seconds() / 60)) if cool_off else None
    message = _("Too many failed log-in attempts. Try again in %(minutes)s minutes.") % {"minutes": minutes}
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse(error_body("locked_out", message), status=429)
    else:
        response = render(request, "registration/locked_out.html", {"message": message}, status=429)
    if cool_off:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response


def client_ip(request: HttpRequest) -> str:
    """The client's address as the API's throttles see it (DRF's ``get_ident``: ``REMOTE_ADDR``,
    or behind ``API_TRUSTED_PROXIES`` proxies of your own the address that many hops back in
    X-Forwarded-For). django-axes uses it, so behind a proxy one guesser does not lock an account
    for everyone coming through that proxy."""
    from rest_framework.throttling import BaseThrottle

    return str(BaseThrottle().get_ident(request) or "")  # type: ignore[arg-type]  # reads only META and headers


class _AuthFormView:
    throttle_scope = "auth"


def auth_form_throttled(request: HttpRequest) -> HttpResponse | None:
    """The web's log-in, sign-up and admin log-in forms, posted: at most the API's "auth" rate per
    address (sign-up and log-in share it), so a script can neither spray passwords across many
    accounts nor make accounts (each with its own LLM quota) faster from the web than from the API.
    None when the request may go on; a 429 page when not."""
    from recommender.api.throttling import ScopedThrottle

    throttle = ScopedThrottle()
    view = _AuthFormView()
    if throttle.allow_request(request, view):  # DRF's throttles read only META, headers and user
        return None
    wait = throttle.wait()
    message = _("Too many attempts from your address. Try again in a minute.")
    response = render(request, "registration/locked_out.html", {"message": message}, status=429)
    if wait is not None:
        response["Retry-After"] = str(max(1, math.ceil(wait)))
    return response
