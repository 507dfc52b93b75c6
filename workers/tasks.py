"""Celery tasks: thin, take ids, refetch, return early if the row is gone or already done.

Every task is safe to run twice or concurrently: results are written with conditional UPDATEs
keyed on the source text (places.pipeline), so a duplicate or late run changes nothing. Extraction
also holds a PostgreSQL advisory lock on its row while it asks the LLM, so two copies of one task
(a redelivery racing a re-sweep) never pay for two LLM calls; a killed worker's lock dies with its
connection.
Reliability settings (acks_late, reject on worker loss, time limits) are global in settings.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import timedelta
from typing import Any, Literal, cast

from celery import shared_task
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from clips.models import Clip
from places.models import Place, Review
from recommender.keywords import (
    record_extraction_failure,
    refresh_interest_vector,
    store_query_keywords,
    store_review_keywords,
)
from recommender.models import Keyword, PipelineStatus, SearchQuery, SearchQueryKeyword
from workers.embeddings import encode
from workers.keywording import Extraction, active_extractor
from workers.llm import LLMPermanentError, LLMTransientError

# One batch encodes in ~0.5 s on 2 cores with the default model (~250 sentences/s).
EMBED_BATCH_SIZE = 128

# Transient LLM errors (timeouts, 429, 5xx) retry with capped, jittered backoff; if they never
# clear, the row stays stale and a later sweep enqueues it again: delayed, never lost.
LLM_RETRY: dict[str, Any] = {
    "autoretry_for": (LLMTransientError,),
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 5,
}


# --- embeddings ------------------------------------------------------------------------------


def _embed(model: type[Place] | type[Clip] | type[Keyword], ids: list[int]) -> int:
    """Embed the rows among ``ids`` whose source text changed since their last embedding."""
    name = settings.EMBEDDING_MODEL
    manager: Any = model._default_manager
    rows = list(
        manager.needing_embedding(name).filter(pk__in=ids).values_list("pk", "embedding_source", "embedding_source_key")
    )
    if not rows:
        return 0
    vectors = encode([source or "" for _, source, _ in rows])
    with transaction.atomic():  # one commit, two statements per batch
        # Only rows whose text is still the one we embedded (an edit meanwhile leaves the row
        # stale); the row locks keep an edit from slipping in between this check and the write.
        current = dict(
            manager.with_embedding_source(name)
            .select_for_update(of=("self",))
            .filter(pk__in=[pk for pk, _, _ in rows])
            .values_list("pk", "embedding_source_key")
        )
        fresh = [
            model(pk=pk, embedding=vector, embedding_key=key, embedding_claimed_until=None)
            for (pk, _, key), vector in zip(rows, vectors, strict=True)
            if current.get(pk) == key
        ]
        manager.bulk_update(fresh, ["embedding", "embedding_key", "embedding_claimed_until"])
    return len(rows)


@shared_task
def embed_places(place_ids: list[int]) -> int:
    """Compute and store content embeddings of these places; returns how many needed it."""
    return _embed(Place, place_ids)


@shared_task
def embed_clips(clip_ids: list[int]) -> int:
    """Compute and store content embeddings of these clips; returns how many needed it."""
    return _embed(Clip, clip_ids)


@shared_task
def embed_keywords(keyword_ids: list[int]) -> int:
    """Compute and store embeddings of these keywords; returns how many needed it."""
    return _embed(Keyword, keyword_ids)


# --- keyword extraction ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Extracted:
    extractor_id: str
    key: str
    row: dict[str, Any]
    extraction: Extraction


def _extract(
    model: type[Review] | type[SearchQuery], row_id: int, kind: Literal["review", "query"]
) -> _Extracted | str:
    """Run the active extractor on a row whose current text still needs it.

    Returns the outcome word ("gone", "done", "failed") when there is nothing to store.
    Transient LLM errors propagate, so the task retries; permanent ones are recorded on the row.
    """
    extractor = active_extractor()
    manager: Any = model._default_manager
    row = cast(dict[str, Any] | None, manager.with_keywords_source(extractor.id).filter(pk=row_id).values().first())
    if row is None:
        return "gone"
    key = row["keywords_source_key"]
    if key in (row["keywords_key"], row["extraction_failed_key"]):
        return "done"
    try:
        extraction = extractor.extract(row["text"], kind=kind)
    except LLMPermanentError as exc:
        record_extraction_failure(model, row_id, key, f"{type(exc).__name__}: {exc}")
        return "failed"
    return _Extracted(extractor.id, key, row, extraction)


@contextmanager
def _exclusive(model: type[Model], row_id: int) -> Iterator[bool]:
    """A session advisory lock on one row, if no other task holds it; released on exit or disconnect."""
    lock = (zlib.crc32(model._meta.label_lower.encode()) & 0x7FFFFFFF, row_id & 0x7FFFFFFF)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", lock)
        acquired = bool(cursor.fetchone()[0])
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", lock)


@shared_task(**LLM_RETRY)
def extract_review_keywords(review_id: int) -> str:
    """Extract a review's keywords and refresh its place's keyword profile."""
    with _exclusive(Review, review_id) as mine:
        if not mine:
            return "busy"  # another copy of this task is on it
        result = _extract(Review, review_id, "review")
        if isinstance(result, str):
            return result
        stored = store_review_keywords(review_id, result.extractor_id, result.key, result.extraction.keywords)
        return "stored" if stored else "changed"


@shared_task(**LLM_RETRY)
def extract_query_keywords(query_id: int) -> str:
    """Turn a search into intent + keywords, embed new keywords, rebuild the user's interests."""
    with _exclusive(SearchQuery, query_id) as mine:
        if not mine:
            return "busy"
        result = _extract(SearchQuery, query_id, "query")
        if isinstance(result, _Extracted):
            keyword_ids = store_query_keywords(
                query_id, result.extractor_id, result.key, result.extraction.intent, result.extraction.keywords
            )
            if keyword_ids is None:
                return "changed"
            outcome = "stored"
        elif result == "done":
            # Possibly the redelivery of a run that died after storing the keywords: finish the
            # steps after it (both are no-ops when they are done already).
            links = SearchQueryKeyword.objects.filter(query_id=query_id)
            keyword_ids = list(links.values_list("keyword_id", flat=True))
            outcome = "done"
        else:
            return result
    _embed(Keyword, keyword_ids)  # the interest vector is built from keyword embeddings
    user_id = SearchQuery.objects.filter(pk=query_id).values_list("user_id", flat=True).first()
    if user_id is not None:
        refresh_interest_vector(user_id)
    return outcome


# --- the sweep -------------------------------------------------------------------------------


def _claim(pending: QuerySet[Any], claim_field: str, limit: int) -> list[int]:
    """Mark up to ``limit`` pending, unclaimed rows as claimed and return their ids.

    A conditional UPDATE under SKIP LOCKED: two sweeps running at once never claim the same row,
    and a row whose message was lost (Redis emptied) is claimable again after the lease.
    """
    now = timezone.now()
    unclaimed = Q(**{f"{claim_field}__isnull": True}) | Q(**{f"{claim_field}__lt": now})
    model: type[Model] = pending.model
    with transaction.atomic():
        candidates = list(pending.filter(unclaimed).order_by("pk").values_list("pk", flat=True)[:limit])
        ids = list(
            model._default_manager.select_for_update(skip_locked=True)
            .filter(pk__in=candidates)
            .filter(unclaimed)
            .values_list("pk", flat=True)
        )
        model._default_manager.filter(pk__in=ids).update(
            **{claim_field: now + timedelta(seconds=settings.PIPELINE_CLAIM_SECONDS)}
        )
    return ids


def pending_work() -> dict[str, QuerySet[Any]]:
    """Rows whose keywords or embeddings are missing or stale, by kind (derived from data)."""
    extractor_id = active_extractor().id
    model_name = settings.EMBEDDING_MODEL
    return {
        "reviews": Review.objects.needing_keywords(extractor_id),
        "searches": SearchQuery.objects.needing_keywords(extractor_id),
        "places": Place.objects.needing_embedding(model_name),
        "clips": Clip.objects.needing_embedding(model_name),
        "keywords": Keyword.objects.needing_embedding(model_name),
    }


@shared_task
def sweep_pending() -> dict[str, int]:
    """Enqueue pending work in batches; the database, not the queue, is the record of it."""
    limit = settings.PIPELINE_SWEEP_LIMIT
    pending = pending_work()
    enqueued: dict[str, int] = {}
    review_ids = _claim(pending["reviews"], "extraction_claimed_until", limit)
    query_ids = _claim(pending["searches"], "extraction_claimed_until", limit)
    for review_id in review_ids:
        extract_review_keywords.delay(review_id)
    for query_id in query_ids:
        extract_query_keywords.delay(query_id)
    enqueued["reviews"], enqueued["searches"] = len(review_ids), len(query_ids)
    for kind, task in (("places", embed_places), ("clips", embed_clips), ("keywords", embed_keywords)):
        ids = _claim(pending[kind], "embedding_claimed_until", limit)
        for start in range(0, len(ids), EMBED_BATCH_SIZE):
            task.delay(ids[start : start + EMBED_BATCH_SIZE])
        enqueued[kind] = len(ids)
    record_pipeline_status(pending)
    return enqueued


def record_pipeline_status(pending: dict[str, QuerySet[Any]]) -> None:
    """Store pending and failed counts for the admin's pipeline health page."""
    now = timezone.now()
    failed_rows: dict[str, QuerySet[Any]] = {
        "reviews": Review.objects.exclude(extraction_failed_key=""),
        "searches": SearchQuery.objects.exclude(extraction_failed_key=""),
    }
    for kind, queryset in pending.items():
        failed = failed_rows.get(kind)
        last_error = ""
        if failed is not None:
            last_error = failed.order_by("-pk").values_list("extraction_error", flat=True).first() or ""
        PipelineStatus.objects.update_or_create(
            kind=kind,
            defaults={
                "pending": queryset.count(),
                "failed": failed.count() if failed is not None else 0,
                "last_error": last_error,
                "swept_at": now,
            },
        )


# --- training --------------------------------------------------------------------------------


# Under CELERY_VISIBILITY_TIMEOUT's default hour (recommender.E011 checks every task's limit).
@shared_task(soft_time_limit=3300, time_limit=3500)
def train_models() -> dict[str, str]:
    """Retrain the ALS model of every item kind that has interactions; publish each new version."""
    from recommender.models import ItemKind, ModelVersion
    from recommender.ranking.als import ALSParams
    from recommender.training import NotEnoughData, holdout_metrics, train_model

    outcome = {}
    for kind in ItemKind:
        try:
            row = train_model(kind)
        except NotEnoughData as exc:
            outcome[kind.value] = f"skipped: {exc}"
            continue
        outcome[kind.value] = row.version
        # Held-out figures for the record (a second fit, with the version's own ALS settings, tuned
        # or not): after publishing, so serving never waits.
        params = ALSParams(**{f.name: row.params[f.name] for f in fields(ALSParams)})
        share = row.params.get("blend", {}).get("neighbours")  # a tuned share, else the setting
        metrics = holdout_metrics(kind, params, neighbours_share=share)
        ModelVersion.objects.filter(pk=row.pk).update(metrics=metrics)
    return outcome


# Under CELERY_VISIBILITY_TIMEOUT's default hour, so Redis never hands a running tuning to a second
# worker (that copy would find the lock taken and stop, but the hour would be lost to it).
@shared_task(soft_time_limit=3300, time_limit=3500)
def tune_blends() -> dict[str, str]:
    """Auto-tune the blend of every item kind on its own data (recommender/tuning.py), then
    retrain where that changes what is served. Idempotent: unchanged data is not tuned again,
    and one tuning per kind runs at a time across workers."""
    from recommender.models import ItemKind
    from recommender.tuning import TuningBusy, tune_catalogue

    if not settings.BLEND_AUTO_TUNE:
        return {"all": "skipped: BLEND_AUTO_TUNE is off"}
    outcome = {}
    retrain = False
    for kind in ItemKind:
        try:
            done = tune_catalogue(kind)
        except TuningBusy as exc:
            outcome[kind.value] = f"skipped: {exc}"
            continue
        outcome[kind.value] = f"{done.row.status} (tuning {done.row.pk})"
        retrain |= done.changes_serving
    if retrain:
        train_models.delay()
    return outcome
