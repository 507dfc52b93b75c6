"""Tasks run in a real Celery worker process over Redis, against the real database."""

from __future__ import annotations

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
