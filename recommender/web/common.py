"""Small helpers every page module uses: safe redirects, location and page parameters."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from recommender.web.forms import MAX_PAGE, LocationForm


def safe_next(request: HttpRequest, default: str = "/", *, or_referer: bool = False) -> str:
    """The ``next`` parameter (with ``or_referer``, else the page the request came from) if it
    points at this site, else ``default`` (no open redirects)."""
    candidates = [request.POST.get("next"), request.GET.get("next")]
    if or_referer:
        candidates.append(request.META.get("HTTP_REFERER"))
    for target in candidates:
        if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
            return target
    return default


def redirect_back(request: HttpRequest, default: str = "/") -> HttpResponseRedirect:
    return HttpResponseRedirect(safe_next(request, default))


def page_path(request: HttpRequest) -> str:
    """Where the person is, for "come back here" links (the language switch, feedback buttons): the
    page's own path; a page rendered by a POST-only action (a refused review, a search with an
    error) names its page in ``request.page_path``, since the action's address answers only POST."""
    named = getattr(request, "page_path", None)
    if named:
        return str(named)
    return request.get_full_path()  # a form shown again at its own address (log-in, sign-up) is that page


def page_context(request: HttpRequest) -> dict[str, str]:
    """Template context processor: ``page_path`` (above) on every page."""
    return {"page_path": page_path(request)}


def login_required_then_back(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """``login_required`` for POST-only actions: after logging in, the person returns to the page
    the form was on (its ``next``), not to the action's URL, which a browser would GET (a 405)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(safe_next(request, or_referer=True))
        return view(request, *args, **kwargs)

    return wrapped


def location_from(request: HttpRequest) -> tuple[float, float] | None:
    """``?lat=&lon=`` if valid; a bad value is ignored with a message, never an error page."""
    form = LocationForm(request.GET)
    if not request.GET.get("lat") and not request.GET.get("lon"):
        return None
    location = form.location()
    if location is None:
        messages.warning(request, _("That location could not be read, so distances are not shown."))
    return location


def page_of(request: HttpRequest, items: QuerySet | list, per_page: int, param: str = "page") -> Page:
    """The page named by ``?<param>=``; one that is not a number or is past the end shows the last one, with a note."""
    # At most MAX_PAGE pages: the pager's last page then has no "next" that would snap back.
    paginator = Paginator(items[: MAX_PAGE * per_page], per_page)
    raw = request.GET.get(param, "1")
    try:
        number = int(raw)
    except ValueError:
        number = -1
    if not 1 <= number <= paginator.num_pages:
        if raw != "1":
            messages.info(request, _("That page does not exist; showing the nearest one."))
        number = 1 if number < 1 else paginator.num_pages
    return paginator.page(number)
