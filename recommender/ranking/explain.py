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


# A part names an item's reason for lifting it above the ordinary candidate only if it is at least
# this share of the item's positive score: a faint search match on a popular place is not "why".
REASON_MIN_SHARE = 0.1


def typical_parts(parts: dict[str, np.ndarray]) -> dict[str, float]:
    """The median of each score part over a candidate set: what an ordinary candidate gets."""
    typical = {}
    for name, values in parts.items():
        finite = values[np.isfinite(values)]
        typical[name] = float(np.median(finite)) if len(finite) else 0.0
    return typical


def top_parts(
    parts: dict[str, np.ndarray], index: int, limit: int = 3, typical: dict[str, float] | None = None
) -> list[tuple[str, float]]:
    """The positive score parts of one item that a one-line reason may name, the first one first.

    Without ``typical`` the largest part comes first. With it (``typical_parts`` of the candidate
    set), parts that lift the item above an ordinary candidate and make up a real share of its
    score come first, furthest lift first: when every candidate is popular, the search or the
    liked item that singles this one out is the reason, not the popularity they all share. The
    other positive parts follow, largest first. Values are the parts themselves either way.
    """
    values = [(name, float(v[index])) for name, v in parts.items()]
    positive = [(name, value) for name, value in values if value > 0]
    by_size = sorted(positive, key=lambda p: -p[1])
    if typical is None:
        return by_size[:limit]
    floor = REASON_MIN_SHARE * sum(value for _, value in positive)
    lifted = [(n, v) for n, v in positive if v - typical.get(n, 0.0) > 0 and v >= floor]
    lifted.sort(key=lambda p: -(p[1] - typical.get(p[0], 0.0)))
    return (lifted + [p for p in by_size if p not in lifted])[:limit]
