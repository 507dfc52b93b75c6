"""Dataset importers: one module per input format, each exposing ``run(ctx)``."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from recommender.importers.base import ImportContext

# FORMAT -> (module, default --source)
FORMATS: dict[str, tuple[str, str]] = {
    "generic": ("generic", "csv"),
    "korean_cafes": ("korean_cafes", "kakao"),
    "foursquare": ("foursquare", "foursquare"),
    "yelp": ("yelp", "yelp"),
    "kuairec": ("kuairec", "kuairec"),
    "microlens": ("microlens", "microlens"),
    "lastfm": ("lastfm", "lastfm"),
}


def get_importer(fmt: str) -> Callable[[ImportContext], None]:
    """The ``run`` function of format ``fmt``."""
    module = import_module(f"recommender.importers.{FORMATS[fmt][0]}")
    run: Callable[[ImportContext], None] = module.run
    return run
