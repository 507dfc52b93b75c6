"""Auto-tuning: the blend weights and ALS settings picked on the catalogue's own data.

``evaluate --tune`` shows that the weights that serve one catalogue best are not another's
(korean_cafes wants popularity 0.2, foursquare 16). ``tune_catalogue`` runs the same grid on the
app's own data: the database is exported in the generic format (one snapshot), a validation split
is carved from it (seeded), and every candidate is scored by NDCG@10 over validation people with
history or searches. The pick is stored as a ``BlendTuning`` row; the next ``train_model`` fits
ALS with its settings and writes its weights into the model artifact, so serving, publishing and
rolling back move weights and factors together (``feeds.blend_config`` reads them from the model).

Nothing is adopted on too little data (``BLEND_TUNE_MIN_USERS`` validation people) or when no
candidate beats the settings' own blend on validation; unchanged data is not tuned twice.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TextIO

import numpy as np
from django.conf import settings
from django.db.models import Count, Max

from places.models import Review
from recommender.db import LockBusy, advisory_lock
from recommender.evaluation import (
    Embedder,
    EvalOptions,
    cached_embedder,
    confirm_tuning,
    search_vectors,
    tune_blend,
    validation_split,
)
from recommender.evaluation.datasets import load_generic
from recommender.exporting import export_generic
from recommender.feeds import blend_config, tuning_key
from recommender.models import DEFAULT_KIND_WEIGHTS, BlendTuning, Interaction, ItemKind, SearchQuery, TuningStatus
from recommender.ranking.blend import BlendConfig
from recommender.training import TUNED_ALS, default_params, neighbour_params

BLEND_FIELDS = frozenset(f.name for f in fields(BlendConfig))


class TuningBusy(Exception):
    """Another process is tuning this kind right now."""


@dataclass(frozen=True)
class Outcome:
    """What ``tune_catalogue`` did: the tuning now in force and the latest one before the call
    (the same row when nothing had changed, so nothing ran)."""

    row: BlendTuning
    previous: BlendTuning | None

    @property
    def ran(self) -> bool:
        return self.previous is None or self.previous.pk != self.row.pk

    @property
    def changes_serving(self) -> bool:
        """Whether a retrain would serve other weights than now: a new tuning that tuned, or one
        that ends an earlier adopted tuning."""
        was_tuned = self.previous is not None and self.previous.status == TuningStatus.TUNED
        return self.ran and (self.row.status == TuningStatus.TUNED or was_tuned)


def fingerprint(kind: str) -> str:
    """Which data and starting settings a tuning saw: counts and newest ids of the interactions
    with items of ``kind``, of reviews and searches, and a hash of the settings it starts from."""
    kind = ItemKind(kind)
    column = "place" if kind == ItemKind.PLACE else "clip"
    counted = {
        "events": Interaction.objects.filter(**{f"{column}__isnull": False}),
        "searches": SearchQuery.objects.all(),
    }
    if kind == ItemKind.PLACE:
        counted["reviews"] = Review.objects.all()
    parts = []
    for name, queryset in counted.items():
        found = queryset.aggregate(n=Count("id"), newest=Max("id"))
        parts.append(f"{name} {found['n']}/{found['newest'] or 0}")
    return " ".join([*parts, f"settings {tuning_key()}"])


def latest_tuning(kind: str) -> BlendTuning | None:
    return BlendTuning.objects.filter(kind=kind).order_by("-created_at", "-pk").first()


def adopted_tuning(kind: str) -> BlendTuning | None:
    """The tuning the next training of ``kind`` serves: the latest, if it tuned, auto-tuning is
    on and the settings are still those it started from."""
    if not settings.BLEND_AUTO_TUNE:
        return None
    latest = latest_tuning(kind)
    if latest is None or latest.status != TuningStatus.TUNED or latest.settings_key != tuning_key():
        return None
    return latest


def _embedder(progress: TextIO | None) -> Embedder:
    """The app's embedding model, cached per text next to the model artifacts."""
    from workers import embeddings

    def encode(texts: list[str], kind: str) -> np.ndarray:
        return embeddings.encode(texts, kind="query" if kind == "query" else "passage")

    cache = Path(settings.MODEL_ARTIFACTS_DIR) / "tune-cache"
    return cached_embedder(encode, settings.EMBEDDING_MODEL, cache, progress=progress)


def tune_catalogue(kind: str, *, force: bool = False, progress: TextIO | None = None) -> Outcome:
    """Tune the blend of ``kind`` on the database's data and record it as a ``BlendTuning`` row,
    unless data and settings are unchanged since the latest one (and not ``force``).

    Raises TuningBusy when another process (worker or command) is tuning ``kind``.
    """
    kind = ItemKind(kind)
    with _lock(kind):
        seen = fingerprint(kind)
        latest = latest_tuning(kind)
        if latest is not None and latest.fingerprint == seen and not force:
            return Outcome(latest, latest)
        return Outcome(_tune(kind, seen, progress), latest)


def _tune(kind: ItemKind, seen: str, progress: TextIO | None) -> BlendTuning:
    started = time.monotonic()
    options = EvalOptions(
        seed=0,
        als=default_params(),
        blend=blend_config(),
        tune_users=settings.BLEND_TUNE_USERS,
        neighbours=neighbour_params(),
    )
    with tempfile.TemporaryDirectory(prefix="tune-") as folder:
        export_generic(Path(folder), item_type=kind.value)
        # As training sees it: the interactions only (importers write a review's visit themselves).
        weights = {str(k): v for k, v in DEFAULT_KIND_WEIGHTS.items()}
        dataset = load_generic(Path(folder), weights, reviews_as_visits=False)
    row = BlendTuning(
        kind=kind,
        fingerprint=seen,
        settings_key=tuning_key(),
        users=dataset.n_users,
        items=dataset.n_items,
        pairs=len(dataset.users),
        embedding_model=settings.EMBEDDING_MODEL,
    )
    train = np.ones(len(dataset.users), dtype=bool)
    # Counted before anything is embedded: a catalogue too small to tune costs one export.
    _, _, users = validation_split(dataset, train, options, set(dataset.searches))
    row.validation_users = len(users)
    if len(users) < settings.BLEND_TUNE_MIN_USERS:
        row.status = TuningStatus.SKIPPED
        row.note = (
            f"{len(users)} validation people with history or searches, fewer than BLEND_TUNE_MIN_USERS "
            f"({settings.BLEND_TUNE_MIN_USERS}): the settings are served"
        )
    else:
        embed = _embedder(progress) if dataset.has_text else None
        searches = search_vectors(dataset, embed) if embed is not None else {}
        found = tune_blend(dataset, train, options, embed, searches, progress)
        row.als = {name: getattr(found.als, name) for name in TUNED_ALS}
        row.blend = {name: getattr(found.config, name) for name in found.table[0] if name in BLEND_FIELDS}
        row.val_ndcg, row.val_ndcg_settings = found.score, found.start_score
        row.validation_users = found.validation_users  # those ranked (searchers only with text)
        row.grid_size = len(found.table)
        if found.score <= found.start_score:
            row.status = TuningStatus.KEPT
            row.note = f"nothing beat the settings on validation (NDCG@10 {found.start_score:.4f})"
        else:
            check = confirm_tuning(dataset, train, options, embed, searches, found)
            row.confirmation = asdict(check)
            if check.holds:
                row.status = TuningStatus.TUNED
                row.note = f"confirmed on a second validation split of {check.users} people: {check.verdict()}"
            else:
                row.status = TuningStatus.KEPT
                row.note = f"not confirmed on a second validation split of {check.users} people: {check.verdict()}"
    row.seconds = time.monotonic() - started
    row.save()
    return row


@contextmanager
def _lock(kind: str) -> Iterator[None]:
    """One tuning per kind at a time across every worker (recommender.db.advisory_lock)."""
    try:
        with advisory_lock(f"tune:{kind}", wait=False):
            yield
    except LockBusy:
        raise TuningBusy(f"another process is tuning the {kind} blend") from None
