"""Item neighbours: "people who went to X also went to Y", from co-occurrence in the training matrix.

ALS compresses every person into a few factors; on check-in data dominated by a handful of very
popular venues it ranks below plain popularity, while item-to-item co-occurrence keeps the
specific links (this café with that station). The collaborative score blends both
(``BlendConfig.neighbours`` is the share of the neighbours), measured in ``evaluate``.

The similarity of items i and j is their co-occurrence over ``n_i^a · n_j^(1-a) + shrink`` (an
asymmetric cosine: a = 0.5 is the cosine; shrink damps pairs seen together by few people), and
each item keeps its ``k`` most similar items. Computed over blocks of items, so neither an
items × items product nor a transposed copy of the matrix is ever held whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class NeighbourParams:
    k: int = 100  # neighbours kept per item
    # A person counts as having used an item when their net weight on it is at least this: a like
    # (4) or more, not a view and a click (1 + 2), so items merely shown together in a feed do not
    # become each other's neighbours.
    min_weight: float = 4.0
    shrink: float = 10.0
    asymmetry: float = 0.5  # 0.5: cosine
    block: int = 256  # items per block of the co-occurrence product (its memory: block × items at most)


def fit_item_neighbours(matrix: sp.csr_matrix, params: NeighbourParams | None = None) -> sp.csr_matrix:
    """Items × items similarities (float32 CSR; row i holds item i's ``k`` nearest, never i itself).

    ``matrix``: users × items net weights; only entries of at least ``params.min_weight`` count
    as having been used (a view, a skip or a dislike is no co-visit). Its values are not changed.
    """
    params = params or NeighbourParams()
    n_items = int(matrix.shape[1])
    threshold = max(params.min_weight, np.finfo(np.float32).tiny)
    counts = np.bincount(matrix.indices[matrix.data >= threshold], minlength=n_items).astype(np.float64)
    # Shares the index arrays with the matrix: only a float32 copy of the values.
    used = (matrix.data >= threshold).astype(np.float32)
    people = sp.csr_matrix((used, matrix.indices, matrix.indptr), shape=matrix.shape)
    left = np.power(counts, params.asymmetry)
    right = np.power(counts, 1.0 - params.asymmetry)
    # Filled in place (at most k per item), then shrunk in place: no per-row arrays to join at the end.
    indptr = np.zeros(n_items + 1, dtype=np.int64)
    indices = np.empty(n_items * min(params.k, n_items), dtype=np.int32)
    data = np.empty(len(indices), dtype=np.float32)
    kept = 0
    for start in range(0, n_items, params.block):
        stop = min(start + params.block, n_items)
        # block × items co-occurrence counts; the block's columns are copied, not the whole matrix
        # (the block is made CSR first: a CSC operand would have scipy convert the whole matrix)
        together = (people[:, start:stop].T.tocsr() @ people).tocsr()  # a product has no duplicates
        for row in range(stop - start):
            lo, hi = together.indptr[row], together.indptr[row + 1]
            cols = together.indices[lo:hi]
            values = together.data[lo:hi].astype(np.float64)
            item = start + row
            mask = (cols != item) & (values > 0)
            cols, values = cols[mask], values[mask]
            sims = values / (left[item] * right[cols] + params.shrink)
            if len(sims) > params.k:
                top = np.argpartition(-sims, params.k - 1)[: params.k]
                cols, sims = cols[top], sims[top]
            order = np.argsort(cols)
            indices[kept : kept + len(cols)] = cols[order]
            data[kept : kept + len(cols)] = sims[order]
            kept += len(cols)
            indptr[item + 1] = kept
        del together
    indices.resize(kept, refcheck=False)
    data.resize(kept, refcheck=False)
    return sp.csr_matrix((data, indices, indptr), shape=(n_items, n_items))


def neighbour_scores(
    neighbours: sp.csr_matrix, positions: np.ndarray, weights: np.ndarray, min_weight: float
) -> np.ndarray | None:
    """Per item, the summed similarity to the history items (model positions, -1 = unknown) whose
    net weight is at least ``min_weight`` (as in fitting), scaled so the best item scores 1. None
    when no such item is in the model or none has neighbours."""
    threshold = max(min_weight, np.finfo(np.float32).tiny)
    positions = np.unique(positions[(positions >= 0) & (np.asarray(weights) >= threshold)])
    if not len(positions):
        return None
    summed = np.asarray(neighbours[positions].sum(axis=0), dtype=np.float64).ravel()
    top = float(summed.max()) if len(summed) else 0.0
    return summed / top if top > 0 else None
