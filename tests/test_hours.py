"""Opening hours, including late nights past midnight."""

from __future__ import annotations

import datetime as dt

from places.hours import is_open_at

WED = dt.date(2026, 11, 25)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute))


def test_open_during_hours_and_closed_outside() -> None:
    hours = {"wed": [["09:00", "18:00"]]}
    assert is_open_at(hours, at(WED, 9)) is True
    assert is_open_at(hours, at(WED, 17, 59)) is True
    assert is_open_at(hours, at(WED, 18)) is False
    assert is_open_at(hours, at(WED + dt.timedelta(days=1), 12)) is False  # no Thursday hours: closed


def test_late_night_hours_run_past_midnight_into_the_next_day() -> None:
    hours = {"wed": [["18:00", "02:00"]]}
    assert is_open_at(hours, at(WED, 23)) is True
    assert is_open_at(hours, at(WED + dt.timedelta(days=1), 1, 30)) is True
    assert is_open_at(hours, at(WED + dt.timedelta(days=1), 2, 30)) is False


def test_split_shifts_and_unknown_or_malformed_hours() -> None:
    hours = {"wed": [["11:00", "14:00"], ["17:00", "21:00"], ["bad", "value"]]}
    assert is_open_at(hours, at(WED, 15)) is False
    assert is_open_at(hours, at(WED, 18)) is True
    assert is_open_at({}, at(WED, 12)) is None
    assert is_open_at(None, at(WED, 12)) is None
    assert is_open_at({"wed": [["00:00", "24:00"]]}, at(WED, 23, 59)) is True
