"""Id indexes and the user × item matrix that ALS trains on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class IdIndex:
    """A sorted array of database ids; row/column ``i`` of a matrix is ``ids[i]``."""

    ids: np.ndarray  # int64, sorted, unique

    @classmethod
    def from_ids(cls, ids: np.ndarray | list[int]) -> IdIndex:
        return cls(np.unique(np.asarray(ids, dtype=np.int64)))

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def positions(self, ids: np.ndarray | list[int]) -> np.ndarray:
        """Row positions of ``ids``; -1 for ids this index does not know."""
        ids = np.asarray(ids, dtype=np.int64)
        if len(self) == 0:
            return np.full(ids.shape, -1, dtype=np.int64)
        pos = np.searchsorted(self.ids, ids)
        pos = np.clip(pos, 0, len(self) - 1)
        return np.where(self.ids[pos] == ids, pos, -1).astype(np.int64)


def build_matrix(
    user_ids: np.ndarray,
    item_ids: np.ndarray,
    weights: np.ndarray,
    *,
    users: IdIndex | None = None,
    items: IdIndex | None = None,
) -> tuple[sp.csr_matrix, IdIndex, IdIndex]:
    """Sum event weights per (user, item) and keep the positive totals as confidences.

    Negative totals (skips, dislikes outweighing the rest) are not preferences ALS can learn from
    as implicit feedback; serving filters those items out instead. Events of users or items not
    in given indexes are dropped.
    """
    users = users or IdIndex.from_ids(user_ids)
    items = items or IdIndex.from_ids(item_ids)
    rows = users.positions(user_ids)
    cols = items.positions(item_ids)
    known = (rows >= 0) & (cols >= 0)
    matrix = sp.coo_matrix(
        (np.asarray(weights, dtype=np.float32)[known], (rows[known], cols[known])),
        shape=(len(users), len(items)),
    ).tocsr()  # duplicates are summed here
    matrix.data[matrix.data < 0] = 0
    matrix.eliminate_zeros()
    return matrix, users, items
