"""Search places and clips with filters. Submitting a search records it (POST, then redirect to GET)."""

from __future__ import annotations

from typing import cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from clips.models import Clip
from places.models import Place
from recommender import services
from recommender.api.queries import filter_catalogue, keywords_for
from recommender.enqueue import EXTRACT_QUERY, enqueue_on_commit
from recommender.quota import QuotaExceeded
from recommender.web.common import page_of
from recommender.web.forms import SearchForm

PER_PAGE = 12
LIST_KEYWORDS = 4


@require_http_methods(["GET", "HEAD", "POST"])
def search(request: HttpRequest) -> HttpResponse:
    """GET shows results (reads only); POST records a signed-in person's query, then redirects to GET."""
    if request.method == "POST":
        return _record_and_redirect(request)
    form = SearchForm(request.GET or None)
    context: dict[str, object] = {"form": form, "searched": False}
    if form.is_bound and form.is_valid():
        params = form.catalogue_params()
        kind = form.cleaned_data["kind"]
        context["searched"] = True
        context["kind"] = kind
        # Places and clips shown together page on their own (?place_page=, ?clip_page=): the next
        # page of places keeps the clips where they were.
        place_param, clip_param = ("place_page", "clip_page") if kind == "all" else ("page", "page")
        if kind in ("all", "place"):
            found = filter_catalogue(Place.objects.filter(is_active=True), "place", params)
            places = page_of(request, found, PER_PAGE, place_param)
            context["places"] = places
            context["place_keywords"] = keywords_for("place", [p.pk for p in places], LIST_KEYWORDS)
            context["place_pager"] = {"param": place_param, "query_string": _query_without(request, place_param)}
        if kind in ("all", "clip"):
            queryset = Clip.objects.filter(is_active=True).select_related("place")
            clips = page_of(request, filter_catalogue(queryset, "clip", params), PER_PAGE, clip_param)
            context["clips"] = clips
            context["clip_pager"] = {"param": clip_param, "query_string": _query_without(request, clip_param)}
    status = 400 if form.is_bound and not form.is_valid() else 200
    context["categories"] = _distinct("category")
    context["districts"] = _distinct("district")
    return render(request, "web/search.html", context, status=status)


def _record_and_redirect(request: HttpRequest) -> HttpResponse:
    form = SearchForm(request.POST)
    if not form.is_valid():  # shown again with what was typed and chosen, and every filter's options
        request.page_path = reverse("search")  # type: ignore[attr-defined]
        context = {
            "form": form,
            "searched": False,
            "categories": _distinct("category"),
            "districts": _distinct("district"),
        }
        return render(request, "web/search.html", context, status=400)
    text = form.cleaned_data.get("q") or ""
    if request.user.is_authenticated and text.strip():
        try:
            query = services.record_search(cast(User, request.user), text)
        except services.InvalidAction:
            pass  # nothing worth remembering (e.g. only spaces); the results page still shows
        except QuotaExceeded as exc:
            messages.warning(request, str(exc))  # the results still show; the search is not remembered
        else:
            enqueue_on_commit(EXTRACT_QUERY, query.pk)
    fields = {k: v for k, v in request.POST.items() if k in form.fields and v not in ("", None)}
    return HttpResponseRedirect(f"{reverse('search')}?{urlencode(fields)}")


def _query_without(request: HttpRequest, param: str) -> str:
    query = request.GET.copy()
    query.pop(param, None)
    return query.urlencode()


def _distinct(field: str) -> list[str]:
    """Values offered in the filter drop-downs (the catalogue has tens of them, not thousands)."""
    values = Place.objects.filter(is_active=True).exclude(**{field: ""}).values_list(field, flat=True)
    return list(values.distinct().order_by(field)[:200])
