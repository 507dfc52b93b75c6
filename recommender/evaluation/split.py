"""The seeded train/test split of the evaluation protocol (see ``recommender.evaluation``).

1. New items: a seeded ``new_item_fraction`` of the items that have any positive pair are held
   out of training entirely (every pair of theirs goes to test).
2. Cold users: a seeded ``cold_user_fraction`` of users have ALL their pairs held out, so the
   history-length-0 slice is populated.
3. Every other user: ``test_fraction`` of their distinct positive (not new) items, at least one,
   go to test; the rest trains.

Pairs with a weight <= 0 (skips outweighing the rest) are never test items; they stay in training,
where the matrix builder drops them and the ranking excludes them like any seen item.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Split:
    train: np.ndarray  # bool per pair: the pair trains
    test_items: dict[int, np.ndarray]  # user -> distinct test items (only users with any)
    cold_users: np.ndarray  # int64 user indices with everything held out
    new_items: np.ndarray  # bool per item: held out of training entirely
    history: np.ndarray  # int64 per user: distinct training items

    def summary(self) -> dict[str, int]:
        return {
            "train_pairs": int(self.train.sum()),
            "test_pairs": int(sum(len(v) for v in self.test_items.values())),
            "test_users": len(self.test_items),
            "cold_users": len(self.cold_users),
            "new_items": int(self.new_items.sum()),
        }


def split_pairs(
    users: np.ndarray,
    items: np.ndarray,
    weights: np.ndarray,
    n_users: int,
    n_items: int,
    *,
    seed: int,
    test_fraction: float = 0.2,
    cold_user_fraction: float = 0.15,
    new_item_fraction: float = 0.1,
) -> Split:
    """Split aggregated (user, item, weight) pairs; the same seed always gives the same split."""
    rng = np.random.default_rng(seed)
    positive = weights > 0
    live_items = np.unique(items[positive])
    new_items = np.zeros(n_items, dtype=bool)
    chosen = rng.choice(live_items, size=round(new_item_fraction * len(live_items)), replace=False)
    new_items[chosen] = True
    live_users = np.unique(users[positive])
    cold = np.sort(rng.choice(live_users, size=round(cold_user_fraction * len(live_users)), replace=False))
    is_cold = np.zeros(n_users, dtype=bool)
    is_cold[cold] = True

    test = positive & (new_items[items] | is_cold[users])
    # Per warm user, a seeded share of the remaining positive pairs: shuffle once, then take the
    # first ceil-ish share of each user's pairs in that shuffled order.
    candidates = np.flatnonzero(positive & ~test)
    candidates = candidates[rng.permutation(len(candidates))]
    order = np.argsort(users[candidates], kind="stable")
    candidates = candidates[order]
    owner = users[candidates]
    starts = np.searchsorted(owner, owner, side="left")
    rank_in_user = np.arange(len(candidates)) - starts
    per_user = np.bincount(owner, minlength=n_users)
    quota = np.maximum(1, np.round(test_fraction * per_user)).astype(np.int64)
    test[candidates[rank_in_user < quota[owner]]] = True

    train = ~test
    history = np.bincount(users[train & positive], minlength=n_users).astype(np.int64)
    test_items: dict[int, np.ndarray] = {}
    t_users, t_items = users[test], items[test]
    order = np.argsort(t_users, kind="stable")
    t_users, t_items = t_users[order], t_items[order]
    bounds = np.flatnonzero(np.diff(t_users)) + 1
    for chunk_u, chunk_i in zip(np.split(t_users, bounds), np.split(t_items, bounds), strict=True):
        if len(chunk_u):
            test_items[int(chunk_u[0])] = np.unique(chunk_i)
    return Split(train=train, test_items=test_items, cold_users=cold, new_items=new_items, history=history)
