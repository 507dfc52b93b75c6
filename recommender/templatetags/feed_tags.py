"""Rendering a feed item's reason ("why am I seeing this") and keywords in the active language."""

from __future__ import annotations

import math
import uuid
from typing import Any

from django import template
from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag
def reason_text(reason: dict[str, Any]) -> str:
    """One line: the main reason, then up to two keywords, e.g. "Because you searched '한강 카페' · quiet"."""
    code = reason.get("code")
    if code == "search":
        line = _("Because you searched “%(query)s”") % {"query": reason.get("query", "")}
    elif code == "similar":
        line = _("Similar to %(item)s, which you liked") % {"item": reason.get("item", "")}
    elif code == "collaborative" and reason.get("item") and reason.get("via") == "clips":
        line = _("People who watched “%(item)s” also watched this") % {"item": reason["item"]}
    elif code == "collaborative" and reason.get("item"):
        line = _("People who went to %(item)s also went here") % {"item": reason["item"]}
    elif code == "collaborative":
        line = _("People with tastes like yours liked this")
    elif code == "new_match":
        line = _("New here, and like what people with your taste enjoy")
    elif code == "interests":
        line = _("Matches the interests you picked")
    elif code == "nearby" and reason.get("near"):
        # "been" false: the place was only saved or liked (a clip only liked), never visited (watched).
        been = reason.get("been", True)
        if reason.get("via") == "clips":
            text = (
                _("%(distance)s km from %(place)s, seen in clips you watched")
                if been
                else _("%(distance)s km from %(place)s, seen in clips you liked")
            )
        else:
            text = (
                _("%(distance)s km from %(place)s, where you have been")
                if been
                else _("%(distance)s km from %(place)s, which you saved or liked")
            )
        line = text % {"distance": reason.get("distance_km", ""), "place": reason["near"]}
    elif code == "nearby":
        line = _("Nearby · %(distance)s km") % {"distance": reason.get("distance_km", "")}
    elif code == "usual_area" and reason.get("via") == "clips":
        text = (
            _("In %(area)s, seen in clips you watched")
            if reason.get("been", True)
            else _("In %(area)s, seen in clips you liked")
        )
        line = text % {"area": reason.get("area", "")}
    elif code == "usual_area":
        text = (
            _("In %(area)s, where you often go")
            if reason.get("been", True)
            else _("In %(area)s, near places you saved or liked")
        )
        line = text % {"area": reason.get("area", "")}
    elif code == "pinned":
        line = _("Featured by our editors")
    else:
        line = _("Popular right now")
    labels = reason.get("keywords", [])
    texts = reason.get("keyword_texts") or labels  # feeds cached before keyword_texts: the labels
    if len(texts) != len(labels):
        texts = labels
    keywords = [keyword_label(text, label) for text, label in zip(texts, labels, strict=True) if label][:2]
    return " · ".join([line, *keywords])


@register.simple_tag
def form_nonce() -> str:
    """A fresh token per rendered form (recommender.web.actions.feedback): sent twice, it counts once."""
    return uuid.uuid4().hex


@register.filter
def km(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.1f} km" if value >= 1 else f"{value * 1000:.0f} m"


def keyword_label(text: str, tag_en: str, *, both: bool = False) -> str:
    """A keyword in the reader's language: the original text for Korean, the English tag otherwise.

    ``both`` shows the two when they differ ("조용한 · quiet"), for choosing interests.
    """
    if both and tag_en and tag_en.casefold() != text.casefold():
        return f"{text} · {tag_en}"
    if (get_language() or "en").startswith("ko"):
        return text or tag_en
    return tag_en or text


@register.simple_tag
def keyword(entry: Any) -> str:
    """``{% keyword kw %}`` for a Keyword, a ProfileKeyword or a ``keywords_for`` dict."""
    if isinstance(entry, dict):
        return keyword_label(entry.get("text", ""), entry.get("tag_en", ""))
    return keyword_label(getattr(entry, "text", ""), getattr(entry, "tag_en", ""))


@register.simple_tag
def map_tile(latitude: float, longitude: float, zoom: int = 16) -> dict[str, Any] | None:
    """The one MAP_TILE_URL tile holding (lat, lon) and the marker's pixel offset in it; None without tiles."""
    if not settings.MAP_TILE_URL:
        return None
    n = 2**zoom
    x = (longitude + 180.0) / 360.0 * n
    lat = math.radians(latitude)
    y = (1.0 - math.asinh(math.tan(lat)) / math.pi) / 2.0 * n
    url = settings.MAP_TILE_URL.replace("{z}", str(zoom)).replace("{x}", str(int(x))).replace("{y}", str(int(y)))
    return {"url": url, "left": round((x - int(x)) * 256), "top": round((y - int(y)) * 256)}


@register.filter
def get_item(mapping: dict[Any, Any] | None, key: Any) -> Any:
    """``{{ mapping|get_item:key }}``: a dict lookup by a variable key (None when absent)."""
    return (mapping or {}).get(key)


@register.filter
def stars(rating: int | None) -> str:
    """A 1..5 rating as filled and empty stars ("★★★★☆")."""
    if not rating:
        return ""
    n = max(0, min(5, int(rating)))
    return "★" * n + "☆" * (5 - n)
