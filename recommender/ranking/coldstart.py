"""Collaborative factors for items nobody has interacted with yet, predicted from their text.

ALS knows an item only through the people who used it: a brand-new place has a zero factor
vector, so its collaborative score is zero and content similarity is all it has. An *attribute
map* (Gantner et al., "Learning Attribute-to-Feature Mappings for Cold-Start Recommendations",
ICDM 2010) is a ridge regression from an item's content embedding to its ALS factors, fitted on
the items ALS knows well. Applied to a new item's embedding it gives a predicted factor vector,
so the item can be scored against a user's taste the way established items are: "people with
your taste like places described like this". The blend trusts the prediction for items with
little support and the real factors for the rest (``recommender.ranking.blend``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRAM_BLOCK_ROWS = 1024


@dataclass(frozen=True)
class AttributeMap:
    """``factors ≈ [vector, 1] @ weights``: one (d + 1) × k matrix, the last row the intercept."""

    weights: np.ndarray

    def __post_init__(self) -> None:
        if self.weights.ndim != 2 or not np.all(np.isfinite(self.weights)):
            raise ValueError("an attribute map is a finite 2-d array")

    @property
    def dimensions(self) -> int:
        return int(self.weights.shape[0]) - 1

    @property
    def factors(self) -> int:
        return int(self.weights.shape[1])

    def predict(self, vectors: np.ndarray) -> np.ndarray:
        """Predicted factors (n, k) for content vectors (n, d); rows with NaN give zero factors."""
        vectors = np.asarray(vectors, dtype=np.float64)
        if vectors.ndim != 2 or vectors.shape[1] != self.dimensions:
            raise ValueError(f"expected vectors of {self.dimensions} dimensions, got shape {vectors.shape}")
        out = vectors @ self.weights[:-1] + self.weights[-1]
        out[~np.all(np.isfinite(vectors), axis=1)] = 0.0
        return out.astype(np.float32)


def fit_attribute_map(
    vectors: np.ndarray,
    item_factors: np.ndarray,
    item_support: np.ndarray,
    *,
    min_support: int = 2,
    regularization: float = 1.0,
    min_items: int = 20,
) -> AttributeMap | None:
    """Ridge regression of ALS item factors on content vectors, over items with enough support.

    Each item counts in proportion to log(1 + support): factors of items trained on many users
    are better estimates of what the map should predict. Returns None when fewer than
    ``min_items`` items qualify (nothing worth predicting from) or the inputs do not line up.
    """
    vectors = np.asarray(vectors)
    factors = np.asarray(item_factors, dtype=np.float64)
    support = np.asarray(item_support, dtype=np.float64)
    if vectors.ndim != 2 or factors.ndim != 2 or not (len(vectors) == len(factors) == len(support)):
        return None
    keep = (support >= min_support) & np.all(np.isfinite(vectors), axis=1) & np.any(vectors != 0, axis=1)
    rows = np.flatnonzero(keep)
    if len(rows) < min_items:
        return None
    # The normal equations in float64, accumulated over blocks of rows: the (d + 1)² Gram
    # matrix, never a float64 copy of every vector (a retrain's peak memory is what it holds).
    d = vectors.shape[1] + 1
    gram, moment = np.zeros((d, d)), np.zeros((d, factors.shape[1]))
    for start in range(0, len(rows), GRAM_BLOCK_ROWS):
        block = rows[start : start + GRAM_BLOCK_ROWS]
        x = np.hstack([vectors[block].astype(np.float64), np.ones((len(block), 1))])
        w = np.log1p(support[block])[:, None]
        gram += x.T @ (w * x)
        moment += x.T @ (w * factors[block])
    penalty = regularization * np.eye(d)
    penalty[-1, -1] = 0.0  # the intercept is not shrunk
    weights = np.linalg.solve(gram + penalty, moment)
    return AttributeMap(weights.astype(np.float32))
