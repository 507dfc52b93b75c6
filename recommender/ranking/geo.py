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


def weighted_centre(lats: np.ndarray, lons: np.ndarray, weights: np.ndarray) -> tuple[float, float] | None:
    """Where a user usually goes: the weighted mean of visited coordinates (fine at city scale)."""
    lats, lons, weights = (np.asarray(a, dtype=np.float64) for a in (lats, lons, weights))
    known = ~(np.isnan(lats) | np.isnan(lons)) & (weights > 0)
    if not np.any(known):
        return None
    w = weights[known]
    return float(np.average(lats[known], weights=w)), float(np.average(lons[known], weights=w))
