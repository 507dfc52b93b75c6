"""A small load test in CI (the full one: ``python manage.py loadtest``, figures in README)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import load
from tests.factories import PlaceFactory


@pytest.mark.django_db(transaction=True)
def test_a_short_mixed_load_has_no_failures_and_loses_no_acknowledged_write(tmp_path: Path) -> None:
    for n in range(20):
        PlaceFactory(name=f"카페 {n}", latitude=37.5 + n / 1000, longitude=127.0)
    result = load.run(clients=6, seconds=10, workers=2, out_dir=tmp_path)
    print("\n" + result.table())
    assert result.requests > 50
    assert result.failures == 0, result.table()
    assert all(result.acknowledged[kind] > 0 for kind in ("review", "search", "interaction")), result.acknowledged
    assert result.missing == {"review": 0, "search": 0, "interaction": 0}
