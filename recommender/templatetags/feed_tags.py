"""Rendering a feed item's reason ("why am I seeing this") in the active language."""

from __future__ import annotations

from typing import Any

from django import template
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
    elif code == "collaborative":
        line = _("People with tastes like yours liked this")
    elif code == "nearby":
        line = _("Nearby · %(distance)s km") % {"distance": reason.get("distance_km", "")}
    else:
        line = _("Popular right now")
    keywords = [k for k in reason.get("keywords", []) if k][:2]
    return " · ".join([line, *keywords])


@register.filter
def km(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.1f} km" if value >= 1 else f"{value * 1000:.0f} m"
