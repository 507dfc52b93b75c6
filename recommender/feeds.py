"""``recommend()``: the feed for one person, for the web UI and the API alike.

Gathers candidates from several sources (ALS, content neighbours of liked items, search
interests, popular, nearby or in the districts a person usually goes, place↔clip links),
scores every candidate on every source, blends with the ranking core, filters, diversifies
and attaches the evidence behind each item. Works
for anyone: without a model, embeddings, history or location it degrades to what it has,
down to "popular", and an empty catalogue gives an empty feed, never an error.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Exists, OuterRef, Q, Subquery, Sum
from django.utils import timezone
from pgvector.django import CosineDistance

from clips.models import Clip
from places.hours import is_open_at
from places.models import Place, Review
from recommender.curation import rules_in_force
from recommender.db import VectorBytes, unpack_vector
from recommender.models import (
    ClipKeyword,
    Interaction,
    InteractionKind,
    ItemKind,
    Keyword,
    PlaceKeyword,
    QueryIntent,
    SearchQueryKeyword,
    UserProfile,
)
from recommender.ranking.als import FactorModel
from recommender.ranking.blend import BlendConfig, Blended, Candidates, blend
from recommender.ranking.coldstart import AttributeMap
from recommender.ranking.diversity import mmr
from recommender.ranking.explain import closest, top_parts, typical_parts
from recommender.ranking.geo import area_affinity, nearest, usual_places
from recommender.ranking.rules import apply_rules, place_pins
from recommender.training import ALS_SETTINGS, live_model

# Impressions don't hide an item from the feed; anything the person did with it does.
IMPRESSION_KINDS = {InteractionKind.VIEW, InteractionKind.CLICK}
KM_PER_DEGREE_LAT = 111.0
# Candidates "nearby" come from around this many of the places a person usually goes (heaviest first).
NEARBY_AREAS = 5


@dataclass(frozen=True)
class FeedRequest:
    kind: str = ItemKind.PLACE
    limit: int = 20
    latitude: float | None = None
    longitude: float | None = None
    radius_km: float | None = None
    open_now: bool = False
    now: datetime | None = None
    apply_rules: bool = True  # False shows curators the feed before their rules
    interest_keywords: tuple[int, ...] = ()  # preview a new person: keywords standing in for their searches


@dataclass
class FeedItem:
    item: Place | Clip
    score: float
    parts: dict[str, float]
    distance_km: float | None
    reason: dict[str, Any]  # {"code": ..., **details}: the one-line "why", rendered by the UI
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class Feed:
    items: list[FeedItem]
    model_version: str | None
    history: int  # distinct items the person engaged with positively
    origin: str | None  # "request", "usual_area" or None: where distances are measured from


@dataclass
class _History:
    positive_ids: np.ndarray
    positive_weights: np.ndarray
    excluded: set[int]
    # Never called "liked" in a reason or the interest profile, though they count in the scores:
    # places the person's review rates low, and items whose latest event of theirs is a dislike.
    not_liked: set[int] = field(default_factory=set)
    # Where the person has been: places they visited; in clip feeds, clips they watched.
    been: set[int] = field(default_factory=set)


def _item_model(kind: str) -> type[Place] | type[Clip]:
    return Place if kind == ItemKind.PLACE else Clip


def _history(user: AbstractBaseUser | AnonymousUser | None, kind: str) -> _History:
    empty = _History(np.zeros(0, np.int64), np.zeros(0, np.float32), set())
    if user is None or not user.is_authenticated:
        return empty
    column = "place_id" if kind == ItemKind.PLACE else "clip_id"
    been_kind = InteractionKind.VISIT if kind == ItemKind.PLACE else InteractionKind.WATCH
    rows = (
        Interaction.objects.filter(user_id=user.pk, **{f"{column}__isnull": False})
        .values(column)
        .annotate(
            net=Sum("weight"),
            engaged=Count("pk", filter=~Q(kind__in=IMPRESSION_KINDS)),
            been=Count("pk", filter=Q(kind=been_kind)),
            disowned=Exists(disliked_last(user.pk, column).filter(**{column: OuterRef(column)})),
        )
    )
    if kind == ItemKind.PLACE:  # in the same query: a review records its visit, so it is in here
        rows = rows.annotate(low_rated=Exists(low_rated_places(user.pk).filter(place_id=OuterRef("place_id"))))
    ids, weights, excluded, not_liked, been = [], [], set(), set(), set()
    for row in rows:
        if row["net"] > 0:
            ids.append(row[column])
            weights.append(row["net"])
        if row["engaged"] or row["net"] <= 0:
            excluded.add(row[column])
        if row.get("low_rated") or row["disowned"]:
            not_liked.add(row[column])
        if row["been"]:
            been.add(row[column])
    return _History(np.asarray(ids, np.int64), np.asarray(weights, np.float32), excluded, not_liked, been)


def disliked_last(user_id: int, column: str) -> Any:
    """The items (a ``column`` subquery: place_id or clip_id) whose latest event of the person, other
    than a view, a click or a skip, is a dislike: "not interested" after a visit or a like takes the
    like back (a dislike's -5 need not outweigh them in the net weight)."""
    latest = (  # of the events that say something of liking: not a view, a click or a skip
        Interaction.objects.filter(user_id=user_id, **{column: OuterRef(column)})
        .exclude(kind__in=[*IMPRESSION_KINDS, InteractionKind.SKIP])
        .order_by("-occurred_at", "-pk")
        .values("kind")[:1]
    )
    return (
        Interaction.objects.filter(user_id=user_id, kind=InteractionKind.DISLIKE, **{f"{column}__isnull": False})
        .annotate(latest=Subquery(latest))
        .filter(latest=InteractionKind.DISLIKE)
        .values(column)
    )


def not_liked_places(user_id: int) -> Q:
    """A filter on ``place_id`` for the places never to call liked: rated low by the person's review,
    or disliked since they last liked, saved or visited them."""
    return Q(place_id__in=low_rated_places(user_id)) | Q(place_id__in=disliked_last(user_id, "place_id"))


def low_rated_places(user_id: int) -> Any:
    """The places (a ``place_id`` subquery) the person's own review rates at most
    ``REVIEW_LOW_RATING`` (1-5): visits, but nothing to call liked in a reason or the interest profile."""
    return Review.objects.filter(user_id=user_id, rating__lte=settings.REVIEW_LOW_RATING).values("place_id")


def _unit(vector: np.ndarray | None) -> np.ndarray | None:
    if vector is None:
        return None
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else None


# Each blend weight and the setting that holds it (the similarity floor is measured, see below).
BLEND_SETTINGS = {
    "collaborative": "BLEND_COLLABORATIVE",
    "content": "BLEND_CONTENT",
    "interest": "BLEND_INTEREST",
    "popularity": "BLEND_POPULARITY",
    "predicted": "BLEND_PREDICTED",
    "neighbours": "BLEND_NEIGHBOURS",
    "user_history_half": "BLEND_USER_HISTORY_HALF",
    "item_support_half": "BLEND_ITEM_SUPPORT_HALF",
    "geo_strength": "GEO_STRENGTH",
    "geo_half_km": "GEO_HALF_KM",
    "proximity": "GEO_PROXIMITY",
    "usual_area_half": "GEO_USUAL_AREA_HALF",
}


# What else a tuning depends on: how it scores and samples, and what embeds the texts.
TUNING_SETTINGS = (
    "BLEND_SIMILARITY_FLOOR",
    "EMBEDDING_MODEL",
    "BLEND_TUNE_MIN_USERS",
    "BLEND_TUNE_USERS",
    "NEIGHBOURS_K",
    "NEIGHBOURS_SHRINK",
    "NEIGHBOURS_MIN_WEIGHT",
)


def tuning_key() -> str:
    """A hash of the settings an auto-tuning starts from (recommender/tuning.py): its weights,
    and a model carrying them, count only while these are unchanged, so an operator's new
    setting is served at once instead of a tuning of the old ones."""
    names = sorted({*BLEND_SETTINGS.values(), *ALS_SETTINGS.values(), *TUNING_SETTINGS})
    values = json.dumps([[name, getattr(settings, name)] for name in names])
    return hashlib.sha1(values.encode(), usedforsecurity=False).hexdigest()[:16]


def blend_config(model: FactorModel | None = None) -> BlendConfig:
    """Blend weights from settings, and over them the weights auto-tuning picked for ``model``
    (recommender/tuning.py; written into the artifact at training) while BLEND_AUTO_TUNE is on
    and the settings are those it was tuned from; the similarity floor measured at training
    unless overridden."""
    floor = settings.BLEND_SIMILARITY_FLOOR
    if floor < 0:
        measured = model.meta.get("similarity_floor", 0.0) if model is not None else 0.0
        floor = float(measured) if isinstance(measured, int | float) else 0.0
    weights = {field: getattr(settings, name) for field, name in BLEND_SETTINGS.items()}
    tuned = None
    if model is not None and settings.BLEND_AUTO_TUNE and "blend" in model.meta:
        tuned = model.meta["blend"] if model.meta.get("tuning_key") == tuning_key() else None
    if isinstance(tuned, dict):
        weights |= {k: float(v) for k, v in tuned.items() if k in weights and isinstance(v, int | float)}
    return BlendConfig(similarity_floor=floor, **weights)


def recommend(user: AbstractBaseUser | AnonymousUser | None, request: FeedRequest) -> Feed:
    """The ranked, explained feed of ``request.kind`` items for ``user`` (anonymous is fine)."""
    kind = ItemKind(request.kind)
    model_cls = _item_model(kind)
    per_source = settings.FEED_CANDIDATES_PER_SOURCE
    history = _history(user, kind)
    model = live_model(kind)
    user_vector = model.fold_in_user(history.positive_ids, history.positive_weights) if model else None

    liked = list(
        model_cls.objects.filter(pk__in=history.positive_ids.tolist(), embedding__isnull=False).values_list(
            "pk", VectorBytes("embedding")
        )
    )
    liked_ids = [pk for pk, _ in liked]
    liked_vectors = np.asarray([unpack_vector(v) for _, v in liked], dtype=np.float32).reshape(
        -1, settings.EMBEDDING_DIMENSIONS
    )
    weight_of = dict(zip(history.positive_ids.tolist(), history.positive_weights.tolist(), strict=True))
    centroid = _unit(np.average(liked_vectors, axis=0, weights=[weight_of[pk] for pk in liked_ids])) if liked else None
    interest = None
    if request.interest_keywords:
        chosen = Keyword.objects.filter(pk__in=request.interest_keywords, embedding__isnull=False)
        stored_vectors = [np.asarray(v, dtype=np.float32) for v in chosen.values_list("embedding", flat=True)]
        interest = _unit(np.mean(stored_vectors, axis=0)) if stored_vectors else None
    elif user is not None and user.is_authenticated:
        stored = UserProfile.objects.filter(user_id=user.pk).values_list("interest_embedding", flat=True).first()
        interest = _unit(np.asarray(stored, dtype=np.float32)) if stored is not None else None

    origin, areas = _whereabouts(request, kind, history)
    origin_name = origin.name if origin is not None else None
    pool = model_cls.objects.filter(is_active=True).exclude(pk__in=history.excluded)
    ids: set[int] = set()
    if user_vector is not None and model is not None:
        ids.update(_top_model_items(model, model.scores(user_vector), history.excluded, per_source))
    # "People who went where you went also went to …": candidates in their own right, since the
    # specific links they keep are what ALS's top items smooth away.
    near_history = model.neighbour_scores(history.positive_ids, history.positive_weights) if model else None
    if near_history is not None and model is not None:  # only items someone went to with the person's
        ids.update(_top_model_items(model, near_history, history.excluded, per_source, above=0.0))
    for vector in (centroid, interest):
        if vector is not None:
            neighbours = pool.filter(embedding__isnull=False).order_by(CosineDistance("embedding", vector))
            ids.update(neighbours.values_list("pk", flat=True)[:per_source])
    ids.update(_popular(model, pool, history.excluded, per_source))
    if origin is not None:
        radius = request.radius_km or settings.FEED_DEFAULT_RADIUS_KM
        ids.update(_nearby(kind, pool, origin, radius).values_list("pk", flat=True)[:per_source])
    if areas is not None:
        ids.update(_in_areas(kind, pool, areas).values_list("pk", flat=True)[:per_source])
    ids.update(_linked(kind, user, pool)[:per_source])
    now = request.now or timezone.now()
    rules = rules_in_force(kind, now) if request.apply_rules else []
    pins = [(rule.position, rule.item_id) for rule in rules if rule.action == "pin" and rule.item_id and rule.position]
    ids.update(item_id for _, item_id in pins)
    if not ids:
        ids.update(pool.order_by("-pk").values_list("pk", flat=True)[:per_source])

    rows = list(_with_coordinates(kind, pool.filter(pk__in=ids)))
    if not rows:
        return Feed([], model.version if model else None, len(history.positive_ids), origin_name)
    item_ids = np.asarray([r.pk for r in rows], dtype=np.int64)
    dims = settings.EMBEDDING_DIMENSIONS
    vectors = np.zeros((len(rows), dims), dtype=np.float32)
    has_vector = np.zeros(len(rows), dtype=bool)
    for i, row in enumerate(rows):
        vector = unpack_vector(row.embedding_bytes)
        if vector is not None:
            vectors[i] = vector
            has_vector[i] = True
    lats = np.asarray([r.lat if r.lat is not None else np.nan for r in rows], dtype=np.float64)
    lons = np.asarray([r.lon if r.lon is not None else np.nan for r in rows], dtype=np.float64)

    support = _support(kind, model, item_ids)
    scores: dict[str, np.ndarray] = {
        "popularity": np.log1p(support) / np.log1p(max(float(support.max()), 1.0)),
    }
    if user_vector is not None and model is not None:
        positions = model.items.positions(item_ids)
        all_scores = model.scores(user_vector)
        scores["collaborative"] = np.where(positions >= 0, all_scores[np.clip(positions, 0, None)], np.nan)
        if near_history is not None:
            scores["neighbours"] = np.where(positions >= 0, near_history[np.clip(positions, 0, None)], np.nan)
    predicted = None
    mapping = _text_to_factors(model)
    if user_vector is not None and mapping is not None:
        predicted = np.where(has_vector, mapping.predict(vectors) @ user_vector, np.nan)
    if centroid is not None:
        scores["content"] = np.where(has_vector, vectors @ centroid, np.nan)
    if interest is not None:
        scores["interest"] = np.where(has_vector, vectors @ interest, np.nan)
    distance, nearest_origin = nearest(origin.lats, origin.lons, lats, lons) if origin is not None else (None, None)
    item_areas = np.asarray([r.area for r in rows], dtype=object)
    area_share = area_affinity(areas.names, areas.weights, item_areas) if areas is not None else None
    model_support = _model_support(model, item_ids)
    categories = np.asarray([row.category for row in rows], dtype=object)
    place_ids = None
    if kind == ItemKind.CLIP:  # a place's block, boost or bury reaches the clips about it
        place_ids = np.asarray([r.place_id if r.place_id is not None else -1 for r in rows], dtype=np.int64)
    blocked, multiplier = apply_rules(rules, item_ids, categories, lats, lons, place_ids)
    config = blend_config(model)
    blended = blend(
        Candidates(
            item_ids,
            scores,
            model_support,
            distance_km=distance,
            multiplier=multiplier,
            predicted=predicted,
            usual_area=origin_name == "usual_area",
            area_affinity=area_share,
        ),
        len(history.positive_ids),
        config,
    )

    keep = ~blocked
    if request.radius_km is not None and distance is not None:
        keep &= ~np.isnan(distance) & (distance <= request.radius_km)
    if request.open_now:
        local = now.astimezone(ZoneInfo(settings.PLACE_TIME_ZONE))
        keep &= np.asarray([is_open_at(r.opening_hours, local) is not False for r in rows])
    kept = np.flatnonzero(keep)
    order = mmr(blended.total[kept], vectors[kept], request.limit, settings.FEED_DIVERSITY)
    position_of = {int(pk): i for i, pk in enumerate(item_ids)}
    kept_ids = {int(item_ids[i]) for i in kept}
    live_pins = [(position, item_id) for position, item_id in pins if item_id in kept_ids]
    ranked = place_pins([int(item_ids[i]) for i in kept[order]], live_pins, request.limit)
    picked = np.asarray([position_of[pk] for pk in ranked], dtype=np.int64)
    pinned = {item_id for _, item_id in live_pins}

    # A reason may call "liked" only what the person acted on (not what they were merely shown or
    # clicked, which counts towards their taste but is no "you liked"): such items are never
    # candidates themselves, so an item is never explained as similar to itself. Nor a place
    # the person's own review rates low or they disliked since (history.not_liked): it still counts
    # in the scores, so an item closest to it is explained as similar to nothing rather than another.
    acted = [i for i, pk in enumerate(liked_ids) if pk in history.excluded]
    acted_ids = [pk for pk in history.positive_ids.tolist() if pk in history.excluded and pk not in history.not_liked]
    evidence = _Evidence(
        user,
        kind,
        [liked_ids[i] for i in acted],
        liked_vectors[acted],
        vectors[picked],
        item_ids[picked],
        acted_ids=acted_ids,
        chosen_keywords=request.interest_keywords,
        not_liked=history.not_liked,
        also=_also(model, history, item_ids[picked], config) if near_history is not None else {},
    )
    # Reasons name what lifts an item above the ordinary candidate among those the filters kept.
    typical = typical_parts({name: values[kept] for name, values in blended.parts.items()})
    items = []
    for rank, index in enumerate(picked):
        parts = {name: float(values[index]) for name, values in blended.parts.items()}
        d = float(distance[index]) if distance is not None and not np.isnan(distance[index]) else None
        proof = evidence.for_item(rank)
        near, been = None, True  # the usual place this item is near, named in a "nearby" reason
        if origin is not None and origin.places and nearest_origin is not None and nearest_origin[index] >= 0:
            near = origin.places[int(nearest_origin[index])]
            been = origin.been[int(nearest_origin[index])]
        # The person's own district this item is in, for items whose distance is unknown.
        area = str(item_areas[index]) if d is None and area_share is not None and area_share[index] > 0 else None
        if area is not None and areas is not None:
            been = area in areas.been
        reason = (
            {"code": "pinned", "keywords": proof["keywords"]}
            if int(item_ids[index]) in pinned
            else _reason(
                top_parts(blended.parts, int(index), len(blended.parts), typical),
                proof,
                d,
                _mostly_predicted(blended, index),
                near,
                area,
                kind,
                been,
            )
        )
        # The keywords as written (조용한 for "quiet"), for readers of the original language: the
        # reason is cached for every language, so the page picks one when it renders it.
        originals = evidence.originals(rank)
        reason["keyword_texts"] = [originals.get(label, label) for label in reason["keywords"]]
        items.append(FeedItem(rows[index], float(blended.total[index]), parts, d, reason, proof))
    return Feed(items, model.version if model else None, len(history.positive_ids), origin_name)


def _text_to_factors(model: FactorModel | None) -> AttributeMap | None:
    """The model's text -> factors map, if it was fitted on embeddings of the model in use now."""
    if model is None or model.meta.get("attribute_map_model") != settings.EMBEDDING_MODEL:
        return None
    return model.attribute_map


@dataclass(frozen=True)
class _Origin:
    """Where distances count from: a location in the request, or the places a person usually goes."""

    name: str  # "request" or "usual_area" (Feed.origin)
    lats: np.ndarray
    lons: np.ndarray
    places: list[str]  # the usual places' names, heaviest first (none for a request location)
    been: list[bool] = field(default_factory=list)  # per usual place: visited (clips: one watched), not only liked


@dataclass(frozen=True)
class _Areas:
    """The districts a person usually goes, by name, with the weight of their history in each."""

    names: np.ndarray  # distinct district names, heaviest first
    weights: np.ndarray
    been: set[str] = field(default_factory=set)  # those holding a place visited (clips: a clip watched)


def _whereabouts(request: FeedRequest, kind: str, history: _History) -> tuple[_Origin | None, _Areas | None]:
    """Where nearness counts from: the request's location; else the places the person usually goes
    and, for places without coordinates, the districts of their history (one query for both)."""
    if request.latitude is not None and request.longitude is not None:
        return _Origin("request", np.array([request.latitude]), np.array([request.longitude]), []), None
    # Places the person went to or acted on, not ones only seen in a list: those are no sign of
    # being there, and unlike engaged items they stay candidates (an item would be its own origin).
    # Not one they took back ("not interested" since, a low rating) unless they went there.
    liked = [
        pk
        for pk in history.positive_ids.tolist()
        if pk in history.excluded and (pk not in history.not_liked or pk in history.been)
    ]
    if not liked:
        return None, None
    if kind == ItemKind.PLACE:
        rows = list(Place.objects.filter(pk__in=liked).values_list("pk", "latitude", "longitude", "name", "district"))
    else:  # a clip's place: its name is what the person would recognise
        rows = list(
            Clip.objects.filter(pk__in=liked, place__isnull=False).values_list(
                "pk", "place__latitude", "place__longitude", "place__name", "place__district"
            )
        )
    weight_of = dict(zip(history.positive_ids.tolist(), history.positive_weights.tolist(), strict=True))
    located = [r for r in rows if r[1] is not None and r[2] is not None]
    lats = np.asarray([r[1] for r in located], dtype=np.float64)
    lons = np.asarray([r[2] for r in located], dtype=np.float64)
    usual = usual_places(lats, lons, np.asarray([weight_of[r[0]] for r in located], dtype=np.float64))
    origin = (
        _Origin(
            "usual_area",
            lats[usual],
            lons[usual],
            [located[i][3] for i in usual],
            [located[i][0] in history.been for i in usual],
        )
        if len(usual)
        else None
    )
    totals: dict[str, float] = {}
    for pk, *_, district in rows:
        if district:
            totals[district] = totals.get(district, 0.0) + float(weight_of[pk])
    if not totals:
        return origin, None
    names, weights = zip(*sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])), strict=True)
    been = {district for pk, *_, district in rows if district and pk in history.been}
    return origin, _Areas(np.asarray(names, dtype=object), np.asarray(weights, dtype=np.float64), been)


def _in_areas(kind: str, pool: Any, areas: _Areas) -> Any:
    """Items without coordinates in the first ``NEARBY_AREAS`` districts a person usually goes
    (heaviest first); located ones are found by distance (``_nearby``), which counts over a district."""
    prefix = "" if kind == ItemKind.PLACE else "place__"
    unlocated = {f"{prefix}district__in": areas.names[:NEARBY_AREAS].tolist(), f"{prefix}latitude__isnull": True}
    return pool.filter(**unlocated).order_by("-pk")


def _top_model_items(
    model: FactorModel, scores: np.ndarray, excluded: set[int], n: int, above: float = -np.inf
) -> list[int]:
    """The ``n`` model items of highest score (above ``above``), leaving out ``excluded``."""
    order = np.flatnonzero(scores > above)
    order = order[np.argsort(-scores[order])]
    top = [int(model.items.ids[i]) for i in order[: n + len(excluded)]]
    return [pk for pk in top if pk not in excluded][:n]


def _model_support(model: FactorModel | None, item_ids: np.ndarray) -> np.ndarray:
    if model is None:
        return np.zeros(len(item_ids))
    positions = model.items.positions(item_ids)
    return np.where(positions >= 0, model.item_support[np.clip(positions, 0, None)], 0).astype(np.float64)


def _support(kind: str, model: FactorModel | None, item_ids: np.ndarray) -> np.ndarray:
    """How many people engaged with each item: from the model, or counted (no model yet)."""
    if model is not None:
        return _model_support(model, item_ids)
    column = "place_id" if kind == ItemKind.PLACE else "clip_id"
    counts = dict(
        Interaction.objects.filter(**{f"{column}__in": item_ids.tolist()}, weight__gt=0)
        .values(column)
        .annotate(n=Count("user_id", distinct=True))
        .values_list(column, "n")
    )
    return np.asarray([counts.get(int(pk), 0) for pk in item_ids], dtype=np.float64)


def _popular(model: FactorModel | None, pool: Any, excluded: set[int], n: int) -> list[int]:
    """The most engaged-with items: from the model's training counts, or counted (no model yet)."""
    if model is not None:
        return _top_model_items(model, model.item_support.astype(np.float64), excluded, n)
    engaged = Count("interactions__user_id", distinct=True, filter=Q(interactions__weight__gt=0))
    return list(pool.annotate(n=engaged).order_by("-n", "-pk").values_list("pk", flat=True)[:n])


def _nearby(kind: str, pool: Any, origin: _Origin, radius_km: float) -> Any:
    """Items within ``radius_km`` (a bounding box) of the first ``NEARBY_AREAS`` origins."""
    prefix = "" if kind == ItemKind.PLACE else "place__"
    near = Q()
    dlat = radius_km / KM_PER_DEGREE_LAT
    for lat, lon in zip(origin.lats[:NEARBY_AREAS], origin.lons[:NEARBY_AREAS], strict=True):
        dlon = radius_km / (KM_PER_DEGREE_LAT * max(np.cos(np.radians(lat)), 0.01))
        near |= Q(
            **{
                f"{prefix}latitude__range": (lat - dlat, lat + dlat),
                f"{prefix}longitude__range": (lon - dlon, lon + dlon),
            }
        )
    return pool.filter(near).order_by("-pk")


def _linked(kind: str, user: AbstractBaseUser | AnonymousUser | None, pool: Any) -> list[int]:
    """Places seen in clips the person liked; clips about places the person liked. "Liked" is
    the other kind's history (a positive net weight, as in ``_history``; not a place their own
    review rates low, nor an item disliked since), read in subqueries of the one query this costs;
    none for anonymous visitors."""
    if user is None or not user.is_authenticated:
        return []
    column = "clip_id" if kind == ItemKind.PLACE else "place_id"
    liked = (
        Interaction.objects.filter(user_id=user.pk, **{f"{column}__isnull": False})
        .values(column)
        .annotate(net=Sum("weight"))
        .filter(net__gt=0)
        .values(column)
    )
    if kind == ItemKind.PLACE:
        seen_in = (
            Clip.objects.filter(pk__in=liked, place__isnull=False)
            .exclude(pk__in=disliked_last(user.pk, "clip_id"))
            .values("place_id")
        )
        return list(pool.filter(pk__in=seen_in).values_list("pk", flat=True))
    about_liked = pool.filter(place_id__in=liked).exclude(not_liked_places(user.pk))
    return list(about_liked.values_list("pk", flat=True))


def _with_coordinates(kind: str, queryset: Any) -> list[Any]:
    """Candidate objects with ``lat``/``lon`` attributes (a clip takes its place's).

    Embeddings come as ``embedding_bytes`` (see ``recommender.db.VectorBytes``), not as the
    deferred ``embedding`` field, which nothing downstream reads.
    """
    queryset = queryset.defer("embedding").annotate(embedding_bytes=VectorBytes("embedding"))
    if kind == ItemKind.CLIP:
        queryset = queryset.select_related("place").defer("place__embedding")
    out = []
    for obj in queryset:
        place = obj if kind == ItemKind.PLACE else obj.place
        obj.lat = place.latitude if place is not None else None
        obj.lon = place.longitude if place is not None else None
        obj.area = place.district if place is not None else ""
        if kind == ItemKind.CLIP:  # a clip is "open" when its place is, as in the clip catalogue
            obj.opening_hours = place.opening_hours if place is not None else {}
        out.append(obj)
    return out


def _also(model: FactorModel | None, history: _History, item_ids: np.ndarray, config: BlendConfig) -> dict[int, int]:
    """Per item, the history item it is the nearest neighbour of ("people who went to X also went
    here"): among the items the neighbour score counted, and only where that score has a share of
    the blend. ``_Evidence`` names none when the nearest is one the person does not like."""
    if model is None or model.neighbours is None or config.neighbours <= 0 or not len(item_ids):
        return {}
    history_ids = history.positive_ids[history.positive_weights >= model.neighbours_min_weight]
    history_pos, item_pos = model.items.positions(history_ids), model.items.positions(item_ids)
    known = history_pos >= 0
    if not np.any(known):
        return {}
    history_ids = history_ids[known]
    sims = model.neighbours[history_pos[known]][:, np.clip(item_pos, 0, None)].toarray()  # history × items
    best = sims.argmax(axis=0)
    found = {}
    for column, item_id in enumerate(item_ids.tolist()):
        source = int(history_ids[best[column]])
        if item_pos[column] >= 0 and sims[best[column], column] > 0:
            found[int(item_id)] = source
    return found


class _Evidence:
    """Looks up, in a fixed number of queries, what explains each picked item."""

    def __init__(
        self,
        user: AbstractBaseUser | AnonymousUser | None,
        kind: str,
        liked_ids: list[int],
        liked_vectors: np.ndarray,
        vectors: np.ndarray,
        item_ids: np.ndarray,
        acted_ids: list[int],
        chosen_keywords: tuple[int, ...] = (),
        not_liked: set[int] | frozenset[int] = frozenset(),
        also: dict[int, int] | None = None,
    ) -> None:
        """``liked_ids`` / ``liked_vectors``: the items the person acted on that have an embedding
        (what "similar to" may name); ``acted_ids``: all of them, embedded or not (whose
        keywords count as the person's); ``chosen_keywords``: interests given with the request (a
        curator's preview), which then stand in for the person's searches, as in the interest vector;
        ``not_liked``: acted-on items never to be named as liked (when one is the closest, no item is);
        ``also``: item -> the history item whose neighbour it is (see ``_also``)."""
        self.kind = kind
        self.item_ids = item_ids
        self.similar_index, self.similar_sim = closest(vectors, liked_vectors)
        model_cls = _item_model(kind)
        name_field = "name" if kind == ItemKind.PLACE else "title"
        self.also = also or {}
        named = {*liked_ids, *self.also.values()}  # one query for every name a reason may give
        self.liked_names = dict(model_cls.objects.filter(pk__in=named).values_list("pk", name_field))
        self.liked_ids = liked_ids
        self.not_liked = not_liked
        self.queries: list[tuple[int, str]] = []
        query_vectors: list[np.ndarray] = []
        user_keywords: set[int] = set(chosen_keywords)
        if user is not None and user.is_authenticated and not chosen_keywords:
            links = (
                SearchQueryKeyword.objects.filter(
                    query__user_id=user.pk,
                    query__intent=QueryIntent.INTEREST,
                    keyword__embedding__isnull=False,
                    keyword__is_hidden=False,  # as in the interest vector (recommender.keywords)
                )
                .exclude(keyword__muted_by__user_id=user.pk)  # interests the person removed
                .order_by("-query__created_at")
                .values_list("query_id", "query__text", "keyword_id", VectorBytes("keyword__embedding"))[:100]
            )
            grouped: dict[int, tuple[str, list[np.ndarray]]] = {}
            for query_id, text, keyword_id, embedding in links:
                vector = unpack_vector(embedding)
                if vector is not None:  # filtered on not null: always
                    grouped.setdefault(query_id, (text, []))[1].append(vector)
                user_keywords.add(keyword_id)
            for query_id, (text, vecs) in grouped.items():
                mean = _unit(np.mean(vecs, axis=0))
                if mean is not None:
                    self.queries.append((query_id, text))
                    query_vectors.append(mean)
        query_matrix = np.asarray(query_vectors, dtype=np.float32).reshape(-1, vectors.shape[1])
        self.query_index, self.query_sim = closest(vectors, query_matrix)
        link_model = PlaceKeyword if kind == ItemKind.PLACE else ClipKeyword
        item_field = "place_id" if kind == ItemKind.PLACE else "clip_id"
        if acted_ids:
            liked_links = link_model.objects.filter(**{f"{item_field}__in": acted_ids}, weight__gt=0)
            if user is not None and user.is_authenticated:
                liked_links = liked_links.exclude(keyword__muted_by__user_id=user.pk)
            user_keywords.update(liked_links.values_list("keyword_id", flat=True))
        self.keywords: dict[int, list[tuple[int, str]]] = {}  # (id, English tag or text) per item
        self.texts: dict[int, dict[str, str]] = {}  # per item: that label -> the keyword as written
        item_links = link_model.objects.filter(
            **{f"{item_field}__in": item_ids.tolist()}, keyword__is_hidden=False, weight__gt=0
        )
        for item_id, keyword_id, text, tag in item_links.order_by("-weight").values_list(
            item_field, "keyword_id", "keyword__text", "keyword__tag_en"
        ):
            self.keywords.setdefault(item_id, []).append((keyword_id, tag or text))
            self.texts.setdefault(item_id, {}).setdefault(tag or text, text)
        self.user_keywords = user_keywords

    def originals(self, rank: int) -> dict[str, str]:
        """The item's keyword labels (as in ``for_item``), each with the keyword as written."""
        return self.texts.get(int(self.item_ids[rank]), {})

    def for_item(self, rank: int) -> dict[str, Any]:
        proof: dict[str, Any] = {}
        # An item without an embedding is a zero row: similarity 0 to everything, which is no evidence.
        liked_id = self.liked_ids[self.similar_index[rank]] if self.similar_index[rank] >= 0 else None
        if liked_id is not None and liked_id not in self.not_liked and self.similar_sim[rank] > 0:
            proof["similar_to"] = {
                "id": liked_id,
                "name": self.liked_names.get(liked_id, ""),
                "similarity": round(float(self.similar_sim[rank]), 3),
            }
        if self.query_index[rank] >= 0 and self.query_sim[rank] > 0:
            query_id, text = self.queries[self.query_index[rank]]
            proof["search"] = {"id": query_id, "text": text, "similarity": round(float(self.query_sim[rank]), 3)}
        also = self.also.get(int(self.item_ids[rank]))
        if also is not None and also not in self.not_liked:
            proof["also"] = {"id": also, "name": self.liked_names.get(also, "")}
        labels = self.keywords.get(int(self.item_ids[rank]), [])
        shared = [label for keyword_id, label in labels if keyword_id in self.user_keywords]
        proof["shared_keywords"] = list(dict.fromkeys(shared))[:5]
        proof["keywords"] = list(dict.fromkeys(label for _, label in labels))[:5]
        return proof


def _mostly_predicted(blended: Blended, index: int) -> bool:
    """Whether the item's collaborative part comes mostly from its text, not from real users."""
    if blended.predicted is None:
        return False
    return bool(blended.predicted[index] > 0.5 * blended.parts["collaborative"][index])


def _reason(
    parts: list[tuple[str, float]],
    proof: dict[str, Any],
    distance_km: float | None,
    predicted: bool = False,
    near: str | None = None,
    area: str | None = None,
    kind: str = ItemKind.PLACE,
    been: bool = True,
) -> dict[str, Any]:
    """The one-line "why" of an item, from its leading score part (``top_parts``) and the evidence."""
    for name, _ in parts:
        if name == "interest":
            if "search" in proof:
                return {"code": "search", "query": proof["search"]["text"], "keywords": proof["shared_keywords"]}
            return {"code": "interests", "keywords": proof["keywords"]}  # picked at onboarding
        if name == "content" and "similar_to" in proof:
            return {"code": "similar", "item": proof["similar_to"]["name"], "keywords": proof["shared_keywords"]}
        if name == "collaborative":
            # Nobody (or hardly anybody) has used a new item: its taste match was read from its text.
            code = "new_match" if predicted else "collaborative"
            reason = {"code": code, "keywords": proof["shared_keywords"] or proof["keywords"]}
            if code == "collaborative" and proof.get("also", {}).get("name"):
                reason["item"] = proof["also"]["name"]  # "people who went to X also went here"
                if kind == ItemKind.CLIP:
                    reason["via"] = "clips"
            return reason
        if name == "popularity":
            break
    if distance_km is not None and distance_km < 1.5:
        reason = {"code": "nearby", "distance_km": round(distance_km, 1), "keywords": proof["keywords"]}
        # Without a location in the request, the distance is from a place the person has been (been
        # false: one they only saved or liked); in a clip feed, from the place of clips they watched
        # (been false: only liked), which says nothing of having been there.
        if near:
            reason["near"] = near
            reason["been"] = been
            if kind == ItemKind.CLIP:
                reason["via"] = "clips"
        return reason
    if area:  # no coordinates, but in a district the person usually goes (been false: only saved or liked)
        reason = {"code": "usual_area", "area": area, "been": been, "keywords": proof["keywords"]}
        if kind == ItemKind.CLIP:  # the district of clips they watched (been false: only liked)
            reason["via"] = "clips"
        return reason
    return {"code": "popular", "keywords": proof["keywords"]}
