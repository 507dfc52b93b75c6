"""ALS: the project's full retrain and its fit step against a raw ``implicit`` fit of the same matrix.

- retrain: ``train_model`` (PostgreSQL rows → arrays → CSR → fit → artifact + ModelVersion row)
  vs ``implicit`` fitting the CSR matrix already in memory. Target ≤ 1.5x.
- fit: ``fit_als`` vs ``AlternatingLeastSquares(...).fit`` with the same parameters (use_cg=False).
  Target ≤ 1.05x.
- quality: recall@10 on a held-out slice (never loaded) of the project's model / the raw one's ≥ 0.99.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
from django.conf import settings

from bench import data
from bench.harness import SuiteResult, interleave_many
from recommender.models import ItemKind, ModelVersion
from recommender.ranking.als import ALSParams, FactorModel, fit_als
from recommender.training import default_params, interaction_matrix, publish, train_model

SCALES = {
    "smoke": {"users": 1_000, "items": 300, "interactions": 20_000, "repetitions": 5, "iterations": 3},
    "full": {"users": 50_000, "items": 5_000, "interactions": 1_000_000, "repetitions": 5, "iterations": 5},
}


def ensure_dataset(scale: str) -> tuple[data.Interactions, data.Loaded]:
    """The seeded interaction set of this scale, loaded into PostgreSQL (reused if already there)."""
    size = SCALES[scale]
    generated = data.interactions(size["users"], size["items"], size["interactions"])
    return generated, data.load_interactions(generated)


def ensure_live_model(scale: str) -> tuple[data.Interactions, data.Loaded]:
    """The dataset of ``scale`` and a live place model trained on it (trained now if missing or stale)."""
    generated, loaded = ensure_dataset(scale)
    if not loaded.reused or not ModelVersion.objects.filter(kind=ItemKind.PLACE, is_live=True).exists():
        train_model(ItemKind.PLACE)
    return generated, loaded


def raw_fit(matrix: sp.csr_matrix, params: ALSParams) -> Any:
    from implicit.als import AlternatingLeastSquares

    model = AlternatingLeastSquares(
        factors=params.factors,
        regularization=params.regularization,
        alpha=params.alpha,
        iterations=params.iterations,
        random_state=params.seed,
        use_cg=False,
        use_gpu=False,
    )
    model.fit(matrix, show_progress=False)
    return model


def recall_at_10(
    user_factors: np.ndarray, item_factors: np.ndarray, matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray
) -> float:
    """Mean over held-out users of hits in the top 10 (training items excluded) / min(10, held-out)."""
    truth: dict[int, set[int]] = {}
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        truth.setdefault(r, set()).add(c)
    recalls = []
    for r, wanted in truth.items():
        scores = item_factors @ user_factors[r]
        seen = matrix.indices[matrix.indptr[r] : matrix.indptr[r + 1]]
        scores[seen] = -np.inf
        top = np.argpartition(-scores, 10)[:10] if len(scores) > 10 else np.arange(len(scores))
        recalls.append(len(wanted & set(top.tolist())) / min(10, len(wanted)))
    return float(np.mean(recalls)) if recalls else float("nan")


def run(scale: str, on_step: Callable[[], None] | None = None) -> SuiteResult:
    result = SuiteResult("als", scale)
    generated, loaded = ensure_dataset(scale)
    # Full scale fits 5 iterations, not the default 15: 1M interactions take ~60 s per default fit
    # on 2 shared cores, too long for 15 interleaved fits. Fewer iterations make the retrain ratio
    # stricter (its fixed costs weigh more against a shorter fit).
    params = replace(default_params(), iterations=SCALES[scale]["iterations"] or default_params().iterations)
    matrix, users, items = interaction_matrix(ItemKind.PLACE)
    reps = SCALES[scale]["repetitions"]
    versions: list[ModelVersion] = []
    raw_models: list[Any] = []

    def project_retrain() -> None:
        versions.append(train_model(ItemKind.PLACE, params, publish_it=False))

    def raw() -> None:
        raw_models.append(raw_fit(matrix, params))

    def project_fit() -> None:
        fit_als(matrix, users, items, params, version="bench")

    # One raw fit per round serves both comparisons: raw, retrain, fit_als, raw, retrain, …
    result.comparisons += interleave_many(
        raw,
        {"full retrain vs raw fit": (project_retrain, 1.5), "fit_als vs raw fit": (project_fit, 1.05)},
        repetitions=reps,
        on_step=on_step,
    )

    # Quality: the newest artifact against the newest raw model, on held-out pairs never loaded.
    latest = versions[-1]
    model = FactorModel.load(settings.MODEL_ARTIFACTS_DIR / latest.artifact)
    rows = users.positions(loaded.user_ids[generated.heldout_users])
    cols = items.positions(loaded.place_ids[generated.heldout_items])
    keep = (rows >= 0) & (cols >= 0)
    raw_model = raw_models[-1]
    project_recall = recall_at_10(model.user_factors, model.item_factors, matrix, rows[keep], cols[keep])
    raw_recall = recall_at_10(
        np.asarray(raw_model.user_factors), np.asarray(raw_model.item_factors), matrix, rows[keep], cols[keep]
    )
    result.check("recall@10 project/raw", project_recall / raw_recall if raw_recall else 0.0, "higher", 0.99)
    result.info.update(
        interactions=len(generated.users),
        matrix=f"{matrix.shape[0]} users x {matrix.shape[1]} items, nnz {matrix.nnz}",
        params=asdict(params),
        recall_at_10={"project": round(project_recall, 4), "raw": round(raw_recall, 4)},
        data_reused=loaded.reused,
    )
    _keep_only(latest, versions)
    return result


def _keep_only(latest: ModelVersion, versions: list[ModelVersion]) -> None:
    """Publish the newest benchmark model (the feed suite serves it); delete the others' files and rows."""
    publish(latest)
    for row in versions:
        if row.pk != latest.pk:
            (settings.MODEL_ARTIFACTS_DIR / row.artifact).unlink(missing_ok=True)
            row.delete()
