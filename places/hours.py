"""Opening hours: ``{"mon": [["09:00", "22:00"]], ...}``; a close before the open runs past midnight."""

from __future__ import annotations

from datetime import datetime, time

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _parse(value: str) -> time | None:
    try:
        hours, minutes = value.split(":")
        h, m = int(hours), int(minutes)
    except (AttributeError, ValueError):
        return None
    if h == 24 and m == 0:
        return time(23, 59, 59)
    if not (0 <= h < 24 and 0 <= m < 60):
        return None
    return time(h, m)


def is_open_at(hours: dict[str, list[list[str]]] | None, when: datetime) -> bool | None:
    """Whether a place is open at local time ``when``; None when its hours are unknown."""
    if not hours:
        return None
    day = DAYS[when.weekday()]
    previous = DAYS[(when.weekday() - 1) % 7]
    now = when.time()
    for start_s, end_s in hours.get(day, []) or []:
        start, end = _parse(start_s), _parse(end_s)
        if start is None or end is None:
            continue
        if start <= end and start <= now < end:
            return True
        if start > end and now >= start:  # opens today, closes after midnight
            return True
    for start_s, end_s in hours.get(previous, []) or []:
        start, end = _parse(start_s), _parse(end_s)
        if start is not None and end is not None and start > end and now < end:
            return True  # yesterday's late opening still running
    return False
