"""Distances on the earth and how recommendations fade with them."""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Great-circle distance from one point to many; NaN where a coordinate is missing."""
    lat1, lon1 = np.radians(lat), np.radians(lon)
    lat2, lon2 = np.radians(np.asarray(lats, dtype=np.float64)), np.radians(np.asarray(lons, dtype=np.float64))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def distance_decay(distance_km: np.ndarray, half_distance_km: float) -> np.ndarray:
    """1 at the user's location, 0.5 at ``half_distance_km``, smoothly towards 0; 1 where unknown."""
    d = np.asarray(distance_km, dtype=np.float64)
    decay = 1.0 / (1.0 + (d / half_distance_km) ** 2)
    return np.where(np.isnan(d), 1.0, decay)


def closeness(
    distance_km: np.ndarray | None, half_distance_km: float, area_share: np.ndarray | None, n: int
) -> np.ndarray:
    """Per item, how near it is in [0, 1]: distance decay where the distance is known, else the
    share of the person's history in the item's area (:func:`area_affinity`); NaN where neither is."""
    near = np.full(n, np.nan)
    if area_share is not None:
        near = np.clip(np.asarray(area_share, dtype=np.float64), 0.0, 1.0)
    if distance_km is not None:
        known = ~np.isnan(distance_km)
        near[known] = distance_decay(distance_km[known], half_distance_km)
    return near


def usual_places(lats: np.ndarray, lons: np.ndarray, weights: np.ndarray, *, limit: int = 100) -> np.ndarray:
    """Where a person usually goes: positions of their located, positively weighted places, heaviest first.

    Several areas (home, work, a favourite street), not their midpoint: the midpoint of a
    person who goes to two ends of a city is a place they never go. Places at the same
    coordinates count once. ``limit`` bounds the cost of :func:`nearest` for long histories.
    """
    lats, lons, weights = (np.asarray(a, dtype=np.float64) for a in (lats, lons, weights))
    known = np.flatnonzero(~(np.isnan(lats) | np.isnan(lons)) & (weights > 0))
    heaviest_first = known[np.argsort(-weights[known], kind="stable")]
    # One entry per spot (several liked clips of one place): the heaviest stands for it.
    _, first = np.unique(np.stack([lats[heaviest_first], lons[heaviest_first]], axis=1), axis=0, return_index=True)
    return heaviest_first[np.sort(first)][:limit]


def nearest(
    origin_lats: np.ndarray, origin_lons: np.ndarray, lats: np.ndarray, lons: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per item, the great-circle distance to the nearest origin and which origin that is.

    NaN and -1 where the item has no coordinates (or there is no origin). With one origin the
    distance is :func:`haversine_km`. Memory stays a row or two per item, however many origins.
    """
    distance = np.full(np.shape(lats), np.inf)
    which = np.full(np.shape(lats), -1, dtype=np.int64)
    origins = zip(np.asarray(origin_lats, dtype=np.float64), np.asarray(origin_lons, dtype=np.float64), strict=True)
    for index, (lat, lon) in enumerate(origins):
        d = haversine_km(lat, lon, lats, lons)
        closer = d < distance  # False for NaN
        distance[closer], which[closer] = d[closer], index
    return np.where(which >= 0, distance, np.nan), which


def area_affinity(history_areas: np.ndarray, weights: np.ndarray, item_areas: np.ndarray) -> np.ndarray | None:
    """Per item, the share of a person's history (by weight) in the item's area (district, dong).

    Where places have no coordinates, the areas a person usually goes are still known by name:
    1 for an item in the only area of their history, 0 for an area they never went to, NaN where
    the item's area is unknown (empty). None when no history item has a known area.
    """
    history_areas = np.asarray(history_areas, dtype=object)
    weights = np.asarray(weights, dtype=np.float64)
    item_areas = np.asarray(item_areas, dtype=object)
    known = np.asarray([bool(a) for a in history_areas], dtype=bool) & (weights > 0)
    total = float(weights[known].sum())
    if total <= 0:
        return None
    share: dict[object, float] = {}
    for area, weight in zip(history_areas[known], weights[known], strict=True):
        share[area] = share.get(area, 0.0) + float(weight) / total
    return np.asarray([share.get(a, 0.0) if a else np.nan for a in item_areas], dtype=np.float64)
