"""Maximal marginal relevance: a feed that is not ten copies of one thing."""

from __future__ import annotations

import numpy as np


def mmr(relevance: np.ndarray, embeddings: np.ndarray | None, k: int, trade_off: float) -> np.ndarray:
    """Pick ``k`` indices greedily by ``trade_off·relevance − (1 − trade_off)·max similarity to picked``.

    ``relevance`` is rescaled to 0..1 first so the trade-off means the same for any score scale.
    Rows of ``embeddings`` must be unit vectors; a zero row (no embedding) is similar to nothing.
    ``trade_off`` = 1 is plain ranking by relevance.
    """
    n = int(relevance.shape[0])
    k = min(k, n)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    if embeddings is None or trade_off >= 1.0:
        return np.argsort(-relevance, kind="stable")[:k]
    span = float(relevance.max() - relevance.min())
    rel = (relevance - relevance.min()) / span if span > 0 else np.zeros(n)
    chosen: list[int] = []
    max_sim = np.zeros(n)
    available = np.ones(n, dtype=bool)
    for _ in range(k):
        gain = trade_off * rel - (1.0 - trade_off) * max_sim
        gain[~available] = -np.inf
        best = int(np.argmax(gain))
        chosen.append(best)
        available[best] = False
        max_sim = np.maximum(max_sim, embeddings @ embeddings[best])
    return np.asarray(chosen, dtype=np.int64)
