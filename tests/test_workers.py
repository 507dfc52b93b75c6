"""Tasks run in a real Celery worker process over Redis, against the real database."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import numpy as np
import pytest

from places.models import Place
from tests.conftest import WorkerHandle, wait_for
from tests.factories import ClipFactory, PlaceFactory
from workers.tasks import embed_clips, embed_places

pytestmark = pytest.mark.worker


def test_worker_embeds_a_place_sent_over_redis(celery_worker_process: WorkerHandle) -> None:
    place = PlaceFactory(name="조용한 한강뷰 카페", category="cafe", description="Quiet, river view")

    celery_worker_process.send(embed_places, [place.pk])

    def embedded() -> bool:
        return Place.objects.filter(pk=place.pk, embedding__isnull=False).exists()

    assert wait_for(embedded), f"worker did not store an embedding; its log:\n{celery_worker_process.log()}"
    vector = np.asarray(Place.objects.get(pk=place.pk).embedding)
    assert vector.shape == (384,)
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-3)
    assert "embed_places" in celery_worker_process.log() and "succeeded" in celery_worker_process.log()


def test_worker_survives_a_task_for_a_deleted_row_and_runs_the_next(celery_worker_process: WorkerHandle) -> None:
    gone = ClipFactory()
    gone_id = gone.pk
    gone.delete()
    clip = ClipFactory(title="Seongsu bakery tour")

    celery_worker_process.send(embed_clips, [gone_id])
    celery_worker_process.send(embed_clips, [clip.pk])

    clip.refresh_from_db()
    assert wait_for(lambda: type(clip).objects.filter(pk=clip.pk, embedding__isnull=False).exists())
    log = celery_worker_process.log()
    assert "succeeded in" in log and ": 0" in log  # the deleted clip's task embedded nothing, without failing
    assert "Traceback" not in log


@pytest.mark.shared_data
def test_worker_sweep_fills_keywords_and_embeddings_for_imported_korean_cafes(
    celery_worker_process: WorkerHandle, shared_data: Path
) -> None:
    from django.core.management import call_command

    from places.models import Review
    from recommender.models import ReviewKeyword
    from workers.tasks import pending_work, sweep_pending

    call_command("import_data", "korean_cafes", str(shared_data / "korean_cafes"), "--limit", "30", stdout=StringIO())
    assert Review.objects.count() == 30

    celery_worker_process.send(sweep_pending)

    def nothing_pending() -> bool:
        counts = {kind: qs.count() for kind, qs in pending_work().items()}
        if counts["reviews"] == 0 and any(counts.values()):
            celery_worker_process.send(sweep_pending)  # place embeddings go stale once keywords land
        return not any(counts.values())

    assert wait_for(nothing_pending, timeout=240, interval=1.0), celery_worker_process.log()[-3000:]
    assert ReviewKeyword.objects.values("review").distinct().count() >= 25  # a few reviews have no keywords
    assert not Place.objects.filter(embedding__isnull=True).exists()
    assert "Traceback" not in celery_worker_process.log()
