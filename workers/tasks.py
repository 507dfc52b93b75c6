"""Celery tasks: thin, take ids, refetch, skip rows that are gone, safe to re-run.

Reliability settings (acks_late, reject on worker loss, time limits) are global in settings.
"""

from __future__ import annotations

from celery import shared_task
from django.db.models import Model, QuerySet

from clips.models import Clip
from places.models import Place
from workers.embeddings import encode

# One batch encodes in ~0.5 s on 2 cores with the default model (~250 sentences/s).
EMBED_BATCH_SIZE = 128
# A sweep enqueues at most this many batches, so a huge backlog drains over several sweeps.
SWEEP_MAX_BATCHES = 50


def _embed_rows(queryset: QuerySet[Place] | QuerySet[Clip]) -> int:
    rows: list[Place | Clip] = list(queryset)
    if not rows:
        return 0
    vectors = encode([row.embedding_text() for row in rows])
    model: type[Model] = type(rows[0])
    for row, vector in zip(rows, vectors, strict=True):
        # update(), not save(): never overwrite fields a request changed meanwhile.
        model._default_manager.filter(pk=row.pk).update(embedding=vector)
    return len(rows)


@shared_task
def embed_places(place_ids: list[int]) -> int:
    """Compute and store content embeddings of these places; returns how many still existed."""
    return _embed_rows(Place.objects.filter(pk__in=place_ids))


@shared_task
def embed_clips(clip_ids: list[int]) -> int:
    """Compute and store content embeddings of these clips; returns how many still existed."""
    return _embed_rows(Clip.objects.filter(pk__in=clip_ids))


@shared_task
def sweep_missing_embeddings() -> int:
    """Find places and clips with no embedding yet and enqueue them in batches.

    The database, not the queue, is the record of pending work: an emptied broker only delays it.
    """
    enqueued = 0
    for model, task in ((Place, embed_places), (Clip, embed_clips)):
        ids = list(
            model._default_manager.filter(embedding__isnull=True)
            .order_by("pk")
            .values_list("pk", flat=True)[: EMBED_BATCH_SIZE * SWEEP_MAX_BATCHES]
        )
        for start in range(0, len(ids), EMBED_BATCH_SIZE):
            task.delay(ids[start : start + EMBED_BATCH_SIZE])
            enqueued += 1
    return enqueued
