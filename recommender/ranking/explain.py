"""Evidence for explanations: which of the user's items or searches an item is closest to."""

from __future__ import annotations

import numpy as np


def closest(item_vectors: np.ndarray, evidence_vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each item row, the index of the most similar evidence row and that cosine similarity.

    Rows are unit vectors. With no evidence, every index is -1 and every similarity NaN.
    """
    n = int(item_vectors.shape[0])
    if evidence_vectors.shape[0] == 0 or n == 0:
        return np.full(n, -1, dtype=np.int64), np.full(n, np.nan)
    sims = item_vectors @ evidence_vectors.T
    best = np.argmax(sims, axis=1)
    return best.astype(np.int64), sims[np.arange(n), best]


def top_parts(parts: dict[str, np.ndarray], index: int, limit: int = 3) -> list[tuple[str, float]]:
    """The largest positive score parts of one item, biggest first (what a one-line reason names)."""
    ranked = sorted(((name, float(values[index])) for name, values in parts.items()), key=lambda p: -p[1])
    return [(name, value) for name, value in ranked if value > 0][:limit]
