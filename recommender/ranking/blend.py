"""Blending per-source scores into one, with weights that follow how much history there is.

A user with no history is served by search interests, content and popularity; as their history
grows the collaborative (ALS) score takes over. An item's collaborative score is trusted in
proportion to how many users it was trained on, so a brand-new place leans on its content
embedding (Netflix-style cold-start mixing): its content similarity, and a collaborative score
predicted from its text (``recommender.ranking.coldstart``), which gives way to the real ALS score
as the item gains users. Distance and curator rules multiply the result.
Every total is the exact sum of its parts, which is what explanations show.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from recommender.ranking.geo import closeness

SOURCES = ("collaborative", "content", "interest", "popularity")
SIMILARITY_SOURCES = ("content", "interest")


@dataclass(frozen=True)
class BlendConfig:
    collaborative: float = 1.0
    content: float = 0.6
    interest: float = 0.6
    popularity: float = 0.5
    # Trust in the collaborative score predicted from an item's text, relative to a real one; it
    # stands in for the ALS score in proportion to how little support the item has.
    predicted: float = 0.5
    user_history_half: float = 5.0  # history size at which CF gets half its full weight
    item_support_half: float = 5.0  # training users at which an item's CF score gets half weight
    geo_strength: float = 1.0  # 0 ignores distance; 1 lets distance decay scale the whole score
    geo_half_km: float = 2.0  # distance at which the decay is one half
    proximity: float = 0.02  # what nearness adds by itself (at distance 0, full geo strength)
    # Distances from where the user usually goes (no location in the request) are only as good as
    # the history those places come from: geo strength × history_share(history, this half); 0
    # trusts them fully from the first item.
    usual_area_half: float = 0.0
    # Typical cosine between unrelated items for the embedding model in use. Cosines of content and
    # interest are rescaled to (cos − floor)/(1 − floor): a model whose cosines all sit near 0.9
    # (multilingual e5) then weighs as much as one whose cosines spread from 0 to 1 (MiniLM).
    similarity_floor: float = 0.0
    # Share of the collaborative score taken from item neighbours ("people who went to X also
    # went to Y", recommender.ranking.neighbours) instead of the ALS factors; 0 = ALS alone.
    neighbours: float = 0.5


@dataclass
class Candidates:
    """Everything known about a candidate set; arrays are aligned with ``item_ids``."""

    item_ids: np.ndarray
    scores: dict[str, np.ndarray]  # raw score per source; NaN where the source knows nothing
    item_support: np.ndarray  # training users per item (0 for items the model has not seen)
    distance_km: np.ndarray | None = None  # NaN where unknown
    multiplier: np.ndarray | None = None  # curator boosts (>1) and buries (<1)
    # Collaborative score predicted from the item's text (user factors · mapped item factors);
    # NaN or None where no prediction exists. Counted in the collaborative part.
    predicted: np.ndarray | None = None
    # True when distances count from the places the user usually goes (their history), not
    # from a location they gave: then distance is trusted as much as that history.
    usual_area: bool = False
    # Share of the user's history in each item's area (recommender.ranking.geo.area_affinity);
    # NaN where unknown. Stands in for distance decay where an item's distance is unknown (a
    # place with a district but no coordinates), trusted as much as the history it comes from.
    area_affinity: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.item_ids.shape[0])


@dataclass
class Blended:
    total: np.ndarray
    parts: dict[str, np.ndarray] = field(default_factory=dict)  # sums to total, per item
    # The share of the collaborative part predicted from text (not from real users), per item.
    predicted: np.ndarray | None = None


def history_share(count: float | np.ndarray, half: float) -> np.ndarray:
    """0 with no history, 0.5 at ``half``, approaching 1."""
    count = np.asarray(count, dtype=np.float64)
    return count / (count + half) if half > 0 else np.ones_like(count)


def source_weights(user_history: int, item_support: np.ndarray, config: BlendConfig) -> dict[str, np.ndarray]:
    """Weight of each source for each candidate, given the user's and the items' history."""
    h_user = float(history_share(user_history, config.user_history_half))
    h_item = history_share(item_support, config.item_support_half)
    ones = np.ones_like(h_item)
    return {
        "collaborative": config.collaborative * h_user * h_item,
        "predicted": config.collaborative * config.predicted * h_user * (1.0 - h_item),
        "content": config.content * (1.0 - 0.5 * h_user * h_item),
        "interest": config.interest * (1.0 - 0.5 * h_user) * ones,
        "popularity": config.popularity * (1.0 - 0.5 * h_user) * ones,
    }


def blend(candidates: Candidates, user_history: int, config: BlendConfig) -> Blended:
    n = len(candidates)
    weights = source_weights(user_history, candidates.item_support, config)
    parts: dict[str, np.ndarray] = {}
    base = np.zeros(n)
    scores = with_neighbours(candidates.scores, config.neighbours)
    for source in SOURCES:
        raw = scores.get(source)
        if raw is None:
            parts[source] = np.zeros(n)
            continue
        if source in SIMILARITY_SOURCES and config.similarity_floor > 0:
            raw = (raw - config.similarity_floor) / (1.0 - config.similarity_floor)
        # Missing or negative evidence counts as none: sources only ever add.
        contribution = weights[source] * np.clip(np.nan_to_num(raw, nan=0.0), 0.0, None)
        parts[source] = contribution
        base = base + contribution
    predicted = None
    if candidates.predicted is not None:
        # A stand-in for the collaborative score of items with little support: shown as collaborative.
        predicted = weights["predicted"] * np.clip(np.nan_to_num(candidates.predicted, nan=0.0), 0.0, None)
        parts["collaborative"] = parts["collaborative"] + predicted
        base = base + predicted
    total = base
    closeness, strength = _closeness(candidates, user_history, config)
    if np.any(strength > 0):
        factor = 1.0 - strength + strength * closeness
        # Nearness is also a little evidence of its own, so it still orders the items nothing else
        # is known about (a brand-new place without text); unknown nearness adds nothing.
        near = config.proximity * strength * closeness
        parts["distance"] = total * factor + near - total
        total = total * factor + near
    else:
        parts["distance"] = np.zeros(n)
    if candidates.multiplier is not None:
        parts["curator"] = total * candidates.multiplier - total
        total = total * candidates.multiplier
    else:
        parts["curator"] = np.zeros(n)
    return Blended(total=total, parts=parts, predicted=predicted)


def with_neighbours(scores: dict[str, np.ndarray], share: float) -> dict[str, np.ndarray]:
    """The collaborative score as ``(1 - share)`` ALS + ``share`` neighbours (each clipped at 0)."""
    neighbours = scores.get("neighbours")
    if neighbours is None or share <= 0:
        return scores
    als = scores.get("collaborative")
    mixed = share * np.clip(np.nan_to_num(neighbours, nan=0.0), 0.0, None)
    if als is not None and share < 1:
        mixed = mixed + (1.0 - share) * np.clip(np.nan_to_num(als, nan=0.0), 0.0, None)
    # Where neither knows the item (not in the model), it stays unknown.
    unknown = np.isnan(neighbours) & (np.isnan(als) if als is not None else True)
    return {**scores, "collaborative": np.where(unknown, np.nan, mixed)}


def _closeness(candidates: Candidates, user_history: int, config: BlendConfig) -> tuple[np.ndarray, np.ndarray]:
    """Per item, nearness in [0, 1] and how strongly it counts (0 where nothing is known).

    Distance decay where the distance is known; else the share of the user's history in the
    item's area. Both count from the user's history unless the request gave a location.
    """
    near = closeness(candidates.distance_km, config.geo_half_km, candidates.area_affinity, len(candidates))
    from_history = config.geo_strength * float(history_share(user_history, config.usual_area_half))
    strength = np.where(np.isnan(near), 0.0, from_history)
    if candidates.distance_km is not None and not candidates.usual_area:  # counted from the request's location
        strength[~np.isnan(candidates.distance_km)] = config.geo_strength
    return np.nan_to_num(near, nan=0.0), strength


def similarity_floor(vectors: np.ndarray, *, pairs: int = 5000, seed: int = 0) -> float:
    """Mean cosine between random pairs of distinct unit rows: the "unrelated" level of a model."""
    n = int(vectors.shape[0])
    if n < 2:
        return 0.0
    rng = np.random.default_rng(seed)
    a = rng.integers(0, n, pairs)
    b = rng.integers(0, n, pairs)
    keep = a != b
    if not np.any(keep):
        return 0.0
    cosines = np.einsum("ij,ij->i", vectors[a[keep]], vectors[b[keep]])
    return float(np.clip(np.mean(cosines), 0.0, 0.95))
