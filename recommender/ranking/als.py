"""ALS on implicit feedback: training with ``implicit``, serving from saved factors.

A ``FactorModel`` is what gets saved: both factor matrices, the id maps, the hyper-parameters
needed to fold in a user, per-item support (how many users the item was trained on) and a
version. Users are folded in from their current history at request time (the exact ALS user
step), so new interactions count at once and users unseen at training still get CF scores.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from recommender.ranking.coldstart import AttributeMap
from recommender.ranking.matrix import IdIndex
from recommender.ranking.neighbours import neighbour_scores

FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """A saved model is unreadable or inconsistent; the caller keeps the previous one."""


@dataclass(frozen=True)
class ALSParams:
    factors: int = 64
    regularization: float = 0.05
    alpha: float = 2.0
    iterations: int = 15
    seed: int = 0


@dataclass(frozen=True)
class FactorModel:
    version: str
    users: IdIndex
    items: IdIndex
    user_factors: np.ndarray  # (n_users, k) float32
    item_factors: np.ndarray  # (n_items, k) float32
    item_support: np.ndarray  # (n_items,) users per item in the training data
    params: ALSParams
    meta: dict[str, object] = field(default_factory=dict)
    # Content embedding -> item factors (recommender.ranking.coldstart), for items the model has
    # not seen; fitted at training on the embeddings of meta["attribute_map_model"].
    attribute_map: AttributeMap | None = None
    # Items × items similarities by co-occurrence (recommender.ranking.neighbours), fitted at
    # training on the same matrix; None in artifacts written before they existed.
    neighbours: sp.csr_matrix | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.user_factors.shape[0] != len(self.users):
            problems.append(f"{self.user_factors.shape[0]} user factors for {len(self.users)} user ids")
        if self.item_factors.shape[0] != len(self.items):
            problems.append(f"{self.item_factors.shape[0]} item factors for {len(self.items)} item ids")
        if self.item_support.shape != (len(self.items),):
            problems.append("item support does not match the item ids")
        if self.user_factors.ndim != 2 or self.item_factors.ndim != 2:
            problems.append("factor arrays must be 2-d")
        elif self.user_factors.shape[1] != self.item_factors.shape[1]:
            problems.append("user and item factors have different widths")
        if not (np.all(np.isfinite(self.user_factors)) and np.all(np.isfinite(self.item_factors))):
            problems.append("factors contain NaN or infinite values")
        if len(np.unique(self.users.ids)) != len(self.users) or len(np.unique(self.items.ids)) != len(self.items):
            problems.append("id maps contain duplicates")
        if self.attribute_map is not None and self.attribute_map.factors != self.item_factors.shape[-1]:
            problems.append("the attribute map predicts factors of another width")
        if self.neighbours is not None:
            n = self.neighbours
            if n.shape != (len(self.items), len(self.items)) or len(n.indptr) != len(self.items) + 1:
                problems.append("the neighbours do not match the item ids")
            elif n.indptr[-1] != len(n.indices) or (
                len(n.indices) and not 0 <= n.indices.min() <= n.indices.max() < n.shape[1]
            ):
                problems.append("the neighbours refer to items that do not exist")
        if problems:
            raise ModelFileError("; ".join(problems))

    @property
    def factors(self) -> int:
        return int(self.item_factors.shape[1])

    def fold_in_user(self, item_ids: np.ndarray, confidences: np.ndarray) -> np.ndarray | None:
        """The user's factor vector from their history: the exact ALS least-squares user step.

        With confidence c = α·r (implicit's convention) over the history's known items h:
        x = (YᵀY + Yₕᵀ·diag(c − 1)·Yₕ + λI)⁻¹ · Yₕᵀc.
        Returns None when none of the items is in the model.
        """
        pos = self.items.positions(item_ids)
        keep = (pos >= 0) & (np.asarray(confidences) > 0)
        if not np.any(keep):
            return None
        y = self.item_factors[pos[keep]].astype(np.float64)
        r = np.asarray(confidences, dtype=np.float64)[keep]
        alpha, reg = self.params.alpha, self.params.regularization
        gram = self._gram()
        c = alpha * r
        a = gram + (y.T * (c - 1.0)) @ y + reg * np.eye(self.factors)
        b = y.T @ c
        return np.linalg.solve(a, b).astype(np.float32)

    def _gram(self) -> np.ndarray:
        cached = self.meta.get("_gram")
        if isinstance(cached, np.ndarray):
            return cached
        gram = self.item_factors.astype(np.float64).T @ self.item_factors.astype(np.float64)
        self.meta["_gram"] = gram  # meta is a mutable dict on a frozen dataclass: a per-process cache
        return gram

    def scores(self, user_vector: np.ndarray) -> np.ndarray:
        """Predicted preference (≈0..1) of every model item, in ``items`` order."""
        return self.item_factors @ user_vector

    def with_neighbours(self, neighbours: sp.csr_matrix, min_weight: float) -> FactorModel:
        """This model with item neighbours fitted on its matrix, counting items from ``min_weight``."""
        model = replace(self, neighbours=neighbours)
        model.meta["neighbours_min_weight"] = float(min_weight)
        return model

    @property
    def neighbours_min_weight(self) -> float:
        """The net weight from which an item counted when the neighbours were fitted (so it does in a history)."""
        value = self.meta.get("neighbours_min_weight", 0.0)
        return float(value) if isinstance(value, int | float) else 0.0

    def neighbour_scores(self, item_ids: np.ndarray, weights: np.ndarray) -> np.ndarray | None:
        """Per model item (``items`` order), its similarity to the history items (net ``weights``
        at least the fit's ``min_weight``), the best 1; None without neighbours or such items."""
        if self.neighbours is None:
            return None
        return neighbour_scores(self.neighbours, self.items.positions(item_ids), weights, self.neighbours_min_weight)

    # --- persistence ------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write atomically: a reader sees the old file or the complete new one, never half."""
        path.parent.mkdir(parents=True, exist_ok=True)
        header = {
            "format": FORMAT_VERSION,
            "version": self.version,
            "params": self.params.__dict__,
            "meta": {k: v for k, v in self.meta.items() if not k.startswith("_")},
        }
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                # Straight into the file: an in-memory archive first would hold the factors twice more.
                arrays: dict[str, Any] = {  # Any: savez also takes allow_pickle=bool
                    "header": np.frombuffer(json.dumps(header).encode(), dtype=np.uint8),
                    "user_ids": self.users.ids,
                    "item_ids": self.items.ids,
                    "user_factors": self.user_factors,
                    "item_factors": self.item_factors,
                    "item_support": self.item_support,
                }
                if self.attribute_map is not None:
                    arrays["attribute_map"] = self.attribute_map.weights
                if self.neighbours is not None:
                    arrays["neighbours_indptr"] = self.neighbours.indptr
                    arrays["neighbours_indices"] = self.neighbours.indices
                    arrays["neighbours_data"] = self.neighbours.data
                np.savez(f, **arrays)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path) -> FactorModel:
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(bytes(data["header"]).decode())
                if header.get("format") != FORMAT_VERSION:
                    raise ModelFileError(f"{path}: unsupported model format {header.get('format')!r}")
                return cls(
                    version=str(header["version"]),
                    users=IdIndex(data["user_ids"].astype(np.int64)),
                    items=IdIndex(data["item_ids"].astype(np.int64)),
                    user_factors=data["user_factors"].astype(np.float32),
                    item_factors=data["item_factors"].astype(np.float32),
                    item_support=data["item_support"].astype(np.int64),
                    params=ALSParams(**header["params"]),
                    meta=dict(header.get("meta", {})),
                    attribute_map=(
                        AttributeMap(data["attribute_map"].astype(np.float32)) if "attribute_map" in data else None
                    ),
                    neighbours=_neighbours(data, len(data["item_ids"])),
                )
        except ModelFileError:
            raise
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            # A truncated or corrupt archive (a disk filled up, a partial copy) raises the last three.
            raise ModelFileError(f"{path}: {exc}") from exc


def _neighbours(data: Any, n_items: int) -> sp.csr_matrix | None:
    if "neighbours_indptr" not in data:
        return None
    return sp.csr_matrix(
        (
            data["neighbours_data"].astype(np.float32),
            data["neighbours_indices"].astype(np.int32),
            data["neighbours_indptr"].astype(np.int64),
        ),
        shape=(n_items, n_items),
    )


def fit_als(
    matrix: sp.csr_matrix, users: IdIndex, items: IdIndex, params: ALSParams, *, version: str, consume: bool = False
) -> FactorModel:
    """Train ALS on a user × item confidence matrix (rows = users).

    ``consume=True`` hands the matrix over: its values are scaled by alpha in place instead of
    ``implicit`` scaling a copy, so the caller must not read them afterwards (which items each row
    holds stays as it was). The factors start as ``implicit`` would start them, drawn in place
    rather than through a temporary array; the trained model is the same bit for bit either way.
    """
    from implicit.cpu.als import AlternatingLeastSquares

    # implicit casts other dtypes to float32 (a copy anyway), and skips alpha 1 itself.
    scale_here = consume and matrix.dtype == np.float32 and params.alpha != 1.0
    if scale_here:
        matrix.data *= np.float32(params.alpha)
    model = AlternatingLeastSquares(
        factors=params.factors,
        regularization=params.regularization,
        alpha=1.0 if scale_here else params.alpha,
        iterations=params.iterations,
        random_state=params.seed,
        use_cg=False,  # exact Cholesky steps, so fold_in_user reproduces training users' factors
    )
    # implicit.utils.check_random_state(seed) is default_rng(seed); users are drawn first, then items.
    rng = np.random.default_rng(params.seed)
    for name, rows in (("user_factors", matrix.shape[0]), ("item_factors", matrix.shape[1])):
        factors = rng.random((rows, params.factors), dtype=np.float32)
        factors *= np.float32(0.01)
        setattr(model, name, factors)
    model.fit(matrix, show_progress=False)
    support = np.bincount(matrix.indices[matrix.data > 0], minlength=matrix.shape[1]).astype(np.int64)
    return FactorModel(
        version=version,
        users=users,
        items=items,
        user_factors=np.asarray(model.user_factors, dtype=np.float32),
        item_factors=np.asarray(model.item_factors, dtype=np.float32),
        item_support=support,
        params=params,
        meta={"interactions": int(matrix.nnz)},
    )
