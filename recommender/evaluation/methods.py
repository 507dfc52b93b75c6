"""The compared recommenders. Each scores ALL items for one user from training data only.

Every method has ``name`` and ``scores_for(user) -> np.ndarray`` (one score per item, NaN = no
opinion). The evaluator excludes the user's training items and breaks ties; methods do not.
The hybrid is the app's own ranking core (``recommender.ranking``) fed the same way
``recommender.feeds.recommend`` feeds it; nothing here re-implements ALS, blending or geo.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
import scipy.sparse as sp

from recommender.ranking.als import ALSParams, FactorModel, fit_als
from recommender.ranking.blend import BlendConfig, Candidates, blend, similarity_floor
from recommender.ranking.coldstart import fit_attribute_map
from recommender.ranking.geo import area_affinity, closeness, nearest, usual_places
from recommender.ranking.matrix import IdIndex, build_matrix
from recommender.ranking.neighbours import NeighbourParams, fit_item_neighbours


class Method(Protocol):
    name: str

    def scores_for(self, user: int) -> np.ndarray: ...


def _unit(vector: np.ndarray) -> np.ndarray | None:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 and np.isfinite(norm) else None


@dataclass
class Context:
    """What every method may know: the training pairs and side information, nothing from test."""

    matrix: sp.csr_matrix  # users × items training confidences (positive only)
    model: FactorModel
    popularity: np.ndarray  # training users per item
    item_vectors: np.ndarray | None = None  # unit rows, or None when the dataset has no text
    search_vectors: dict[int, np.ndarray] = field(default_factory=dict)  # user -> unit mean search vector
    item_lat: np.ndarray | None = None
    item_lon: np.ndarray | None = None
    item_area: np.ndarray | None = None  # area names ("" unknown), e.g. dongs
    geo_half_km: float = BlendConfig().geo_half_km
    similarity_floor: float = 0.0  # measured on item_vectors, see recommender.ranking.blend
    mapped_factors: np.ndarray | None = None  # item factors predicted from item_vectors (coldstart)

    @property
    def n_items(self) -> int:
        return int(self.matrix.shape[1])

    def history(self, user: int) -> tuple[np.ndarray, np.ndarray]:
        """The user's training items and confidences."""
        start, end = self.matrix.indptr[user], self.matrix.indptr[user + 1]
        return self.matrix.indices[start:end].astype(np.int64), self.matrix.data[start:end].astype(np.float64)

    def distance_km(self, user: int) -> np.ndarray | None:
        """Per item, the distance to the nearest of the user's located training items (as served)."""
        if self.item_lat is None or self.item_lon is None:
            return None
        items, weights = self.history(user)
        usual = items[usual_places(self.item_lat[items], self.item_lon[items], weights)]
        if not len(usual):
            return None
        return nearest(self.item_lat[usual], self.item_lon[usual], self.item_lat, self.item_lon)[0]

    def area_affinity(self, user: int) -> np.ndarray | None:
        """Per item, the share of the user's training history in the item's area (as served)."""
        if self.item_area is None:
            return None
        items, weights = self.history(user)
        return area_affinity(self.item_area[items], weights, self.item_area) if len(items) else None

    def closeness(self, user: int) -> np.ndarray | None:
        """Distance decay from the nearest usual place; the area share where no distance is known."""
        distance, area = self.distance_km(user), self.area_affinity(user)
        if distance is None and area is None:
            return None
        return closeness(distance, self.geo_half_km, area, self.n_items)

    def user_vector(self, user: int) -> np.ndarray | None:
        items, weights = self.history(user)
        return self.model.fold_in_user(items, weights) if len(items) else None

    def collaborative(self, user: int, vector: np.ndarray | None = None) -> np.ndarray | None:
        """ALS scores of every item; ``vector``: the user's folded-in factors, if already computed."""
        vector = self.user_vector(user) if vector is None else vector
        return None if vector is None else self.model.scores(vector).astype(np.float64)

    def neighbours(self, user: int) -> np.ndarray | None:
        """Every item's similarity to the user's training items (item neighbours), the best 1."""
        items, weights = self.history(user)
        return self.model.neighbour_scores(items, weights) if len(items) else None

    def predicted(self, user: int, vector: np.ndarray | None = None) -> np.ndarray | None:
        """The user's taste scored against every item's text-predicted factors."""
        vector = self.user_vector(user) if vector is None else vector
        if vector is None or self.mapped_factors is None:
            return None
        return (self.mapped_factors @ vector).astype(np.float64)

    def content(self, user: int) -> np.ndarray | None:
        """Cosine of every item to the confidence-weighted centroid of the user's training items."""
        if self.item_vectors is None:
            return None
        items, weights = self.history(user)
        if not len(items):
            return None
        centroid = _unit(np.average(self.item_vectors[items], axis=0, weights=weights))
        return None if centroid is None else (self.item_vectors @ centroid).astype(np.float64)

    def interest(self, user: int) -> np.ndarray | None:
        """Cosine of every item to the user's search vector."""
        vector = self.search_vectors.get(user)
        if self.item_vectors is None or vector is None:
            return None
        return (self.item_vectors @ vector).astype(np.float64)

    def popularity_score(self) -> np.ndarray:
        return np.log1p(self.popularity) / np.log1p(max(float(self.popularity.max()), 1.0))


def build_context(
    users: np.ndarray,
    items: np.ndarray,
    weights: np.ndarray,
    n_users: int,
    n_items: int,
    *,
    als_params: ALSParams,
    item_vectors: np.ndarray | None = None,
    search_vectors: dict[int, np.ndarray] | None = None,
    item_lat: np.ndarray | None = None,
    item_lon: np.ndarray | None = None,
    item_area: np.ndarray | None = None,
    neighbours: NeighbourParams | None = None,
    fitted_neighbours: sp.csr_matrix | None = None,
) -> Context:
    """Train ALS and item neighbours on the given (training) pairs and bundle the side information.

    ``fitted_neighbours``: the item neighbours already fitted on these same pairs with ``neighbours``
    (they do not depend on the ALS settings)."""
    user_index = IdIndex(np.arange(n_users, dtype=np.int64))
    item_index = IdIndex(np.arange(n_items, dtype=np.int64))
    matrix, _, _ = build_matrix(users, items, weights, users=user_index, items=item_index)
    model = fit_als(matrix, user_index, item_index, als_params, version="evaluation")
    neighbours = neighbours or NeighbourParams()
    if fitted_neighbours is None:
        fitted_neighbours = fit_item_neighbours(matrix, neighbours)
    model = model.with_neighbours(fitted_neighbours, neighbours.min_weight)
    mapping = None
    if item_vectors is not None:
        mapping = fit_attribute_map(item_vectors, model.item_factors, model.item_support)
    return Context(
        matrix=matrix,
        model=model,
        popularity=np.asarray((matrix > 0).sum(axis=0)).ravel().astype(np.float64),
        item_vectors=item_vectors,
        search_vectors=search_vectors or {},
        item_lat=item_lat,
        item_lon=item_lon,
        item_area=item_area,
        similarity_floor=similarity_floor(item_vectors) if item_vectors is not None else 0.0,
        mapped_factors=mapping.predict(item_vectors) if mapping is not None and item_vectors is not None else None,
    )


@dataclass
class Popularity:
    ctx: Context
    name: str = "popularity"

    def scores_for(self, user: int) -> np.ndarray:
        return self.ctx.popularity


# Outside every usual area popularity still orders the items (below those inside).
AREA_FLOOR = 1e-3


@dataclass
class Location:
    """Popular near the places the user has been (the nearest of them counts), or in the areas
    (dongs, districts) of their history where items have no coordinates; plain popularity without any."""

    ctx: Context
    name: str = "location"

    def scores_for(self, user: int) -> np.ndarray:
        near = self.ctx.closeness(user)
        if near is None:
            return self.ctx.popularity
        return self.ctx.popularity * np.where(np.isnan(near), 1.0, np.maximum(near, AREA_FLOOR))


@dataclass
class ALSOnly:
    """The collaborative score alone; no history means no opinion (all NaN)."""

    ctx: Context
    name: str = "als"

    def source(self, user: int) -> np.ndarray | None:
        return self.ctx.collaborative(user)

    def scores_for(self, user: int) -> np.ndarray:
        scores = self.source(user)
        return np.full(self.ctx.n_items, np.nan) if scores is None else scores


@dataclass
class NeighboursOnly(ALSOnly):
    """Item neighbours alone ("people who went to X also went to Y"); no history, no opinion."""

    name: str = "neighbours"

    def source(self, user: int) -> np.ndarray | None:
        return self.ctx.neighbours(user)


@dataclass
class ContentOnly:
    """Mean of the history-centroid cosine and the search-vector cosine, whichever exist."""

    ctx: Context
    name: str = "content"

    def scores_for(self, user: int) -> np.ndarray:
        parts = [s for s in (self.ctx.content(user), self.ctx.interest(user)) if s is not None]
        return np.mean(parts, axis=0) if parts else np.full(self.ctx.n_items, np.nan)


# (scores per source, distance to the nearest usual place, history length, share of history per item's area)
Sources = tuple[dict[str, np.ndarray], np.ndarray | None, int, np.ndarray | None]


@dataclass
class Hybrid:
    """The core's blend of collaborative, content, interest, popularity and distance."""

    ctx: Context
    config: BlendConfig = field(default_factory=BlendConfig)
    name: str = "hybrid"

    def sources(self, user: int) -> Sources:
        """Raw per-source scores, distances, history length and area shares: the config-independent part."""
        scores: dict[str, np.ndarray] = {"popularity": self.ctx.popularity_score()}
        vector = self.ctx.user_vector(user)  # folded in once for both ALS-based sources
        for source, values in (
            ("collaborative", self.ctx.collaborative(user, vector) if vector is not None else None),
            ("neighbours", self.ctx.neighbours(user)),
            ("content", self.ctx.content(user)),
            ("interest", self.ctx.interest(user)),
            ("predicted", self.ctx.predicted(user, vector) if vector is not None else None),
        ):
            if values is not None:
                scores[source] = values
        history = int(self.ctx.matrix.indptr[user + 1] - self.ctx.matrix.indptr[user])
        return scores, self.ctx.distance_km(user), history, self.ctx.area_affinity(user)

    def combine(self, sources: Sources, config: BlendConfig | None = None) -> np.ndarray:
        scores, distance, history, area = sources
        config = config or self.config
        if config.similarity_floor == 0 and self.ctx.similarity_floor:
            # As in production, where training measures the floor on the catalogue's embeddings.
            config = replace(config, similarity_floor=self.ctx.similarity_floor)
        candidates = Candidates(
            item_ids=np.arange(self.ctx.n_items, dtype=np.int64),
            scores={k: v for k, v in scores.items() if k != "predicted"},
            # New items have no training users: the blend gives them content, interest and the
            # collaborative score predicted from their text.
            item_support=self.ctx.popularity,
            distance_km=distance,
            predicted=scores.get("predicted"),
            usual_area=True,  # the evaluation has no request locations: distances count from history
            area_affinity=area,
        )
        return blend(candidates, history, config).total

    def scores_for(self, user: int) -> np.ndarray:
        return self.combine(self.sources(user))


def lightfm_available() -> bool:
    """LightFM is compared only where it is installed (it is not a dependency of the app)."""
    try:
        import lightfm  # noqa: F401
    except ImportError:
        return False
    return True


# The names of standard_methods (and, with --tune, "als (tuned)" and "hybrid (tuned)").
METHOD_NAMES = ("popularity", "location", "als", "neighbours", "content", "hybrid")


def standard_methods(ctx: Context, *, has_text: bool, config: BlendConfig | None = None) -> list[Method]:
    """Popularity, location, ALS, item neighbours, content (only with item text) and the default hybrid."""
    methods: list[Method] = [Popularity(ctx), Location(ctx), ALSOnly(ctx), NeighboursOnly(ctx)]
    if has_text:
        methods.append(ContentOnly(ctx))
    methods.append(Hybrid(ctx, config or BlendConfig()))
    return methods
