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


class MatrixBuilder:
    """The same matrix as :func:`build_matrix`, assembled from per-(user, item) totals in chunks.

    Each chunk holds every (user, item) total of a range of users, ranges in ascending order
    (the database sums the events: ``GROUP BY user, item``). Only the CSR arrays are kept,
    8 bytes per positive total, instead of every event's ids and weight plus a COO copy: the
    matrix is built while the rows stream in. ``capacity`` is a guess at the number of totals
    (grown when short). Users appear in the index even when none of their totals is positive,
    as in :func:`build_matrix`; totals of items missing from ``items`` are dropped.
    """

    def __init__(self, items: IdIndex, capacity: int) -> None:
        self.items = items
        self._indices = np.empty(max(capacity, 1), dtype=np.int32)
        self._data = np.empty(max(capacity, 1), dtype=np.float32)
        self._filled = 0
        self._users: list[np.ndarray] = []
        self._row_counts: list[np.ndarray] = []
        self._last_user: int | None = None

    def add(self, user_ids: np.ndarray, item_ids: np.ndarray, totals: np.ndarray) -> None:
        """One chunk: users all above the previous chunks', each (user, item) at most once."""
        if len(user_ids) == 0:
            return
        chunk_users, rows = np.unique(user_ids, return_inverse=True)
        if self._last_user is not None and chunk_users[0] <= self._last_user:
            raise ValueError("chunks must cover ascending, disjoint ranges of users")
        self._last_user = int(chunk_users[-1])
        cols = self.items.positions(item_ids)
        keep = (totals > 0) & (cols >= 0)
        rows, cols, totals = rows[keep], cols[keep], totals[keep]
        order = np.lexsort((cols, rows))
        n = len(order)
        if self._filled + n > len(self._indices):
            size = max(self._filled + n, int(len(self._indices) * 1.5))
            self._indices, self._data = np.resize(self._indices, size), np.resize(self._data, size)
        self._indices[self._filled : self._filled + n] = cols[order]
        self._data[self._filled : self._filled + n] = totals[order]
        self._filled += n
        self._users.append(chunk_users)
        self._row_counts.append(np.bincount(rows, minlength=len(chunk_users)))

    def finish(self) -> tuple[sp.csr_matrix, IdIndex, IdIndex]:
        users = np.concatenate(self._users) if self._users else np.empty(0, dtype=np.int64)
        counts = np.concatenate(self._row_counts) if self._row_counts else np.empty(0, dtype=np.int64)
        indptr = np.zeros(len(users) + 1, dtype=np.int32 if self._filled < 2**31 else np.int64)
        np.cumsum(counts, out=indptr[1:])
        matrix = sp.csr_matrix(
            (self._data[: self._filled], self._indices[: self._filled], indptr),
            shape=(len(users), len(self.items)),
            copy=False,
        )
        return matrix, IdIndex(users.astype(np.int64)), self.items
