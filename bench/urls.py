"""The app's URLs plus ``/bench/plain/``: a plain Django view, the feed suite's baseline.

Served only by ``bench.wsgi`` (the feed suite's gunicorn), never by the app itself.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import cast

from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path

from recommender.urls import urlpatterns as app_urlpatterns


@lru_cache(maxsize=1)
def _body() -> bytes:
    # A real feed response saved by the suite: the baseline sends the same bytes, precomputed.
    return Path(os.environ["BENCH_PLAIN_BODY"]).read_bytes()


def plain_feed(request: HttpRequest) -> HttpResponse:
    """The same JSON as a feed response, without computing anything."""
    return HttpResponse(_body(), content_type="application/json")


urlpatterns: list[URLPattern | URLResolver] = [
    path("bench/plain/", plain_feed),
    *cast(list[URLPattern | URLResolver], app_urlpatterns),
]
