"""Top-K ranking metrics with binary relevance, and the slices results are reported by.

Ties in scores are broken by a fixed, seeded item order (``tiebreak``), never by item index, so
a method with no signal (all-equal scores) ranks items in a random but reproducible order instead
of inheriting whatever order the data file happened to have.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

SLICES = ("all", "history 0", "history 1-2", "history 3-5", "history 6+", "new items", "new items, among new")


def history_slice(history: int) -> str:
    """The history-length slice a user with ``history`` distinct training items belongs to."""
    if history <= 0:
        return "history 0"
    if history <= 2:
        return "history 1-2"
    if history <= 5:
        return "history 3-5"
    return "history 6+"


def top_k(scores: np.ndarray, k: int, tiebreak: np.ndarray, exclude: np.ndarray | None = None) -> np.ndarray:
    """Indices of the ``k`` best items, best first; NaN and ``exclude`` (item indices) never appear.

    ``tiebreak`` is a permutation of all item indices: among equal scores the item earlier in it wins.
    """
    s = np.where(np.isnan(scores), -np.inf, scores).astype(np.float64)
    if exclude is not None and len(exclude):
        s[exclude] = -np.inf
    permuted = s[tiebreak]
    valid = int(np.isfinite(permuted).sum())
    k = min(k, valid)
    if k <= 0:
        return np.zeros(0, dtype=np.int64)
    # argpartition finds a superset of the top k cheaply; a stable sort on it then respects tiebreak.
    if k < len(permuted):
        threshold = np.partition(-permuted, k - 1)[k - 1]
        pool = np.flatnonzero(-permuted <= threshold)
    else:
        pool = np.arange(len(permuted))
    best = pool[np.argsort(-permuted[pool], kind="stable")][:k]
    return tiebreak[best].astype(np.int64)


def recall_at_k(ranked: Sequence[int] | np.ndarray, relevant: Iterable[int], k: int) -> float:
    """Hits in the top ``k`` / min(k, number relevant); NaN with nothing relevant."""
    rel = set(int(r) for r in relevant)
    if not rel:
        return float("nan")
    hits = sum(1 for item in list(ranked)[:k] if int(item) in rel)
    return hits / min(k, len(rel))


def ndcg_at_k(ranked: Sequence[int] | np.ndarray, relevant: Iterable[int], k: int) -> float:
    """Binary-relevance NDCG: Σ 1/log2(rank+1) over hits / the same for a perfect top ``k``."""
    rel = set(int(r) for r in relevant)
    if not rel:
        return float("nan")
    dcg = sum(1.0 / np.log2(rank + 2) for rank, item in enumerate(list(ranked)[:k]) if int(item) in rel)
    ideal = sum(1.0 / np.log2(rank + 2) for rank in range(min(k, len(rel))))
    return float(dcg / ideal)


def paired_interval(diff: np.ndarray, *, resamples: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """Mean of per-user differences and its 95% bootstrap interval (users resampled; seeded).
    All zeros for no users."""
    if not len(diff):
        return 0.0, 0.0, 0.0
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), (resamples, len(diff)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(diff.mean()), float(low), float(high)


def coverage(recommended: Iterable[np.ndarray], n_items: int) -> float:
    """Share of the catalogue that appears in at least one list (catalogue coverage)."""
    seen: set[int] = set()
    for ranked in recommended:
        seen.update(int(i) for i in ranked)
    return len(seen) / n_items if n_items else float("nan")


class Accumulator:
    """Collects per-user metrics per (method, slice) and summarises them as means."""

    def __init__(self, ks: Sequence[int], n_items: int) -> None:
        self.ks = tuple(ks)
        self.n_items = n_items
        self.values: dict[tuple[str, str, str], list[float]] = {}
        self.lists: dict[tuple[str, str], list[np.ndarray]] = {}

    def add(self, method: str, slices: Sequence[str], ranked: np.ndarray, relevant: np.ndarray) -> None:
        for name in slices:
            for k in self.ks:
                self.values.setdefault((method, name, f"recall@{k}"), []).append(recall_at_k(ranked, relevant, k))
                self.values.setdefault((method, name, f"ndcg@{k}"), []).append(ndcg_at_k(ranked, relevant, k))
            self.lists.setdefault((method, name), []).append(ranked[:10])

    def difference(
        self, method: str, baseline: str, name: str, metric: str, *, resamples: int = 1000, seed: int = 0
    ) -> tuple[float, float, float] | None:
        """Mean per-user difference ``method - baseline`` on one slice and its 95% bootstrap interval.

        Paired: both methods ranked the same users in the same order, so users are resampled
        together and what varies is only which users the slice happened to hold. None when
        either method has no values there.
        """
        a = self.values.get((method, name, metric))
        b = self.values.get((baseline, name, metric))
        if not a or not b or len(a) != len(b):
            return None
        return paired_interval(np.asarray(a) - np.asarray(b), resamples=resamples, seed=seed)

    def summary(self) -> dict[str, dict[str, dict[str, float]]]:
        """method -> slice -> {"users": n, "recall@k": mean, "ndcg@k": mean, "coverage@10": share}."""
        out: dict[str, dict[str, dict[str, float]]] = {}
        for (method, name, metric), values in self.values.items():
            row = out.setdefault(method, {}).setdefault(name, {})
            row[metric] = float(np.mean(values)) if values else float("nan")
            row["users"] = len(values)
        for (method, name), lists in self.lists.items():
            out[method][name]["coverage@10"] = coverage(lists, self.n_items)
        return out
