"""Curator rules applied to a candidate set: blocks, boosts and buries (pins are placed after ranking)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recommender.ranking.geo import haversine_km


@dataclass(frozen=True)
class Rule:
    rule_id: int
    action: str  # "pin" | "boost" | "bury" | "block"
    item_id: int | None = None
    category: str = ""
    latitude: float | None = None
    longitude: float | None = None
    radius_km: float | None = None
    factor: float | None = None
    position: int | None = None
    place_id: int | None = None  # a place's rule in a clip feed: the clips about that place


def matches(
    rule: Rule,
    item_ids: np.ndarray,
    categories: np.ndarray,
    lats: np.ndarray,
    lons: np.ndarray,
    place_ids: np.ndarray | None = None,
) -> np.ndarray:
    """Which candidates a rule targets (an item, the clips about a place, a category, or an area around a point)."""
    if rule.item_id is not None:
        return np.asarray(item_ids == rule.item_id)
    if rule.place_id is not None:
        if place_ids is None:
            return np.zeros(len(item_ids), dtype=bool)
        return np.asarray(place_ids == rule.place_id)
    if rule.category:
        return np.asarray(np.char.lower(categories.astype(str)) == rule.category.lower())
    if rule.latitude is not None and rule.longitude is not None and rule.radius_km:
        distance = haversine_km(rule.latitude, rule.longitude, lats, lons)
        return np.nan_to_num(distance, nan=np.inf) <= rule.radius_km
    return np.zeros(len(item_ids), dtype=bool)


def apply_rules(
    rules: list[Rule],
    item_ids: np.ndarray,
    categories: np.ndarray,
    lats: np.ndarray,
    lons: np.ndarray,
    place_ids: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(blocked mask, score multiplier) over the candidates; several boosts/buries multiply.

    ``place_ids`` (clip feeds: each clip's place, -1 for none) lets a place's rule reach the
    clips about it.
    """
    blocked = np.zeros(len(item_ids), dtype=bool)
    multiplier = np.ones(len(item_ids), dtype=np.float64)
    for rule in rules:
        hit = matches(rule, item_ids, categories, lats, lons, place_ids)
        if rule.action == "block":
            blocked |= hit
        elif rule.action in ("boost", "bury") and rule.factor is not None:
            multiplier[hit] *= rule.factor
    return blocked, multiplier


def place_pins(ranked: list[int], pins: list[tuple[int, int]], limit: int) -> list[int]:
    """Insert pinned item ids at their 1-based positions, then cut to ``limit``.

    ``pins`` come in rule order: an item pinned by several rules takes the earlier rule's position
    (it is shown once), and of two items pinned to one position the earlier rule's gets it, the
    other the next one.
    """
    first: dict[int, int] = {}
    for position, item in pins:
        first.setdefault(item, position)
    result = [item for item in ranked if item not in first]
    placed = -1
    for item, position in sorted(first.items(), key=lambda pin: pin[1]):  # stable: rule order within a position
        placed = min(max(position - 1, placed + 1), len(result))
        result.insert(placed, item)
    return result[:limit]
