"""Small helpers every page module uses: safe redirects, location and page parameters."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from recommender.web.forms import MAX_PAGE, LocationForm


def safe_next(request: HttpRequest, default: str = "/") -> str:
    """The ``next`` parameter if it points at this site, else ``default`` (no open redirects)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


def redirect_back(request: HttpRequest, default: str = "/") -> HttpResponseRedirect:
    return HttpResponseRedirect(safe_next(request, default))


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
    paginator = Paginator(items, per_page)
    raw = request.GET.get(param, "1")
    try:
        number = int(raw)
    except ValueError:
        number = -1
    if not 1 <= number <= min(paginator.num_pages, MAX_PAGE):
        if raw != "1":
            messages.info(request, _("That page does not exist; showing the nearest one."))
        number = 1 if number < 1 else paginator.num_pages
    return paginator.page(number)
