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


def usual_places(
    lats: np.ndarray, lons: np.ndarray, weights: np.ndarray, *, limit: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """Where a person usually goes: their located, positively weighted places, heaviest first.

    Several areas (home, work, a favourite street), not their midpoint: the midpoint of a
    person who goes to two ends of a city is a place they never go. ``limit`` bounds the cost of
    :func:`nearest_km` for long histories.
    """
    lats, lons, weights = (np.asarray(a, dtype=np.float64) for a in (lats, lons, weights))
    known = np.flatnonzero(~(np.isnan(lats) | np.isnan(lons)) & (weights > 0))
    order = known[np.argsort(-weights[known], kind="stable")][:limit]
    return lats[order], lons[order]


def nearest_km(origin_lats: np.ndarray, origin_lons: np.ndarray, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Per item, the great-circle distance to the nearest origin; NaN where the item has no coordinates.

    With one origin this is :func:`haversine_km`. Memory stays one row per item, however many
    origins there are.
    """
    nearest = np.full(np.shape(lats), np.inf)
    for lat, lon in zip(
        np.asarray(origin_lats, dtype=np.float64), np.asarray(origin_lons, dtype=np.float64), strict=True
    ):
        nearest = np.fmin(nearest, haversine_km(lat, lon, lats, lons))
    return np.where(np.isfinite(nearest), nearest, np.nan)
