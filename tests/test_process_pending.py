"""process_pending works through the pipeline backlog and reports what it did."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from places.models import Place, Review
from recommender.models import ReviewKeyword
from tests.factories import PlaceFactory, ReviewFactory
from workers.tasks import pending_work

pytestmark = pytest.mark.django_db


def test_inline_processing_fills_keywords_and_embeddings_for_everything() -> None:
    place = PlaceFactory(name="카페 온도")
    ReviewFactory(place=place, text="조용하고 공부하기 좋아요", language="ko")
    ReviewFactory(place=place, text="Lovely river view, great coffee")
    out, err = StringIO(), StringIO()

    call_command("process_pending", "--inline", stdout=out, stderr=err)

    assert all(qs.count() == 0 for qs in pending_work().values())
    assert ReviewKeyword.objects.values("review").distinct().count() == Review.objects.count()
    assert not Place.objects.filter(embedding__isnull=True).exists()
    assert "pending work" in err.getvalue()  # the progress bar
    assert "rows processed" in out.getvalue()


def test_nothing_pending_says_so() -> None:
    out = StringIO()
    call_command("process_pending", "--inline", stdout=out, stderr=StringIO())
    assert out.getvalue().strip() == "Nothing pending."


@pytest.mark.parametrize(("option", "value"), [("--batch", "0"), ("--batch", "-1"), ("--timeout", "0")])
def test_a_batch_or_timeout_that_cannot_work_is_refused(option: str, value: str) -> None:
    from django.core.management.base import CommandError

    ReviewFactory(text="조용해요")  # something pending: -1 was a traceback, 0 spun until the timeout
    with pytest.raises(CommandError, match=f"{option} must be"):
        call_command("process_pending", "--inline", option, value, stdout=StringIO(), stderr=StringIO())
