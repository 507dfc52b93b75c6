"""Training ALS models from interactions, publishing them, and serving the live one.

Artifacts are files under MODEL_ARTIFACTS_DIR (a path every web and worker process can read);
the database row says which version is live, so switching (or rolling back) is one UPDATE and
every process picks it up on its next request.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import psycopg
import scipy.sparse as sp
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from clips.models import Clip
from places.models import Place
from recommender import feed_cache
from recommender.db import advisory_lock
from recommender.models import BlendTuning, ItemKind, ModelVersion
from recommender.ranking.als import ALSParams, FactorModel, ModelFileError, fit_als
from recommender.ranking.blend import with_neighbours
from recommender.ranking.coldstart import AttributeMap, fit_attribute_map
from recommender.ranking.matrix import IdIndex, MatrixBuilder
from recommender.ranking.neighbours import NeighbourParams, fit_item_neighbours

logger = logging.getLogger(__name__)

ITEM_COLUMN = {ItemKind.PLACE: "place_id", ItemKind.CLIP: "clip_id"}


class NotEnoughData(Exception):
    """There are no interactions of this kind to train on yet."""


_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"  # PostgreSQL's binary COPY header (parse_binary_vectors)
INTERACTION_CHUNK_ROWS = 100_000  # interactions per query, roughly: at most 2.4 MB of packed columns each


def interaction_matrix(
    kind: str, *, chunk_rows: int = INTERACTION_CHUNK_ROWS
) -> tuple[sp.csr_matrix, IdIndex, IdIndex]:
    """The user × item matrix of every interaction with items of ``kind`` (see ``build_matrix``)."""
    built = _read_interaction_matrix(kind, chunk_rows)
    release_free_memory()  # the chunks' buffers, freed on return: the fit's peak need not stack on them
    return built


def _read_interaction_matrix(kind: str, chunk_rows: int) -> tuple[sp.csr_matrix, IdIndex, IdIndex]:
    """PostgreSQL sums the event weights per (user, item) for one range of user ids at a time and
    packs each column of the totals into one bytea (``string_agg`` of ``int8send``/
    ``float8send``: big-endian, 8 bytes a value), which numpy reads with one ``frombuffer``: no
    Python object per row, one round trip per ~``chunk_rows`` events (a binary COPY arrives as
    one message per row: 1M rows cost 14 s of per-row Python). The three aggregates of one query
    see the rows in one order, so the columns stay aligned. The matrix is assembled as the
    chunks arrive (``MatrixBuilder``): this process holds the CSR arrays and one chunk, never
    every event. Ranges are cut evenly over user ids, which assumes events spread over them; a
    range holding far more than its share (a bot with millions of events) is read as one larger
    chunk, correctly but with more memory. Rows and items written after the first count and the
    item list are read only if they fall in the ranges counted and items listed.
    """
    column = ITEM_COLUMN[ItemKind(kind)]
    where = f"FROM recommender_interaction WHERE {column} IS NOT NULL"
    # ``column`` comes from ITEM_COLUMN, never from input.
    totals = (
        "SELECT string_agg(int8send(user_id::int8), ''), string_agg(int8send(item::int8), ''), "  # noqa: S608
        f"string_agg(float8send(total::float8), '') FROM (SELECT user_id, {column} AS item, sum(weight) AS total "
        f"{where} AND user_id >= %s AND user_id < %s GROUP BY user_id, {column}) totals"
    )
    with connection.cursor() as counting:
        counting.execute(f"SELECT count(*), min(user_id), max(user_id) {where}")
        expected, low, high = counting.fetchone()
    # A server-side-binding cursor, for results in binary: Django's client-side cursors receive
    # bytea as hex text, twice the bytes, decoded in Python.
    with psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(
            f"SELECT string_agg(int8send(item), '') FROM (SELECT DISTINCT {column}::int8 AS item {where}) ids",  # noqa: S608
            binary=True,
        )
        packed_items = cursor.fetchone()[0] or b""  # type: ignore[index]
        builder = MatrixBuilder(IdIndex.from_ids(np.frombuffer(packed_items, ">i8")), expected)
        if not expected:
            return builder.finish()
        step = max(1, -(-(high - low + 1) * chunk_rows // expected))  # ids per range, rounded up
        for start in range(low, high + 1, step):
            cursor.execute(totals, [start, start + step], binary=True)
            row = cursor.fetchone()
            assert row is not None  # an aggregate without GROUP BY always returns one row
            u, i, w = row
            if u is None:  # no users in this range
                continue
            if not len(u) == len(i) == len(w):
                raise ValueError("packed interaction columns differ in length")
            builder.add(
                np.frombuffer(u, ">i8").astype(np.int64),
                np.frombuffer(i, ">i8").astype(np.int64),
                np.frombuffer(w, ">f8").astype(np.float32),
            )
    return builder.finish()


def release_free_memory() -> None:
    """Hand memory freed inside the C heap back to the system (glibc ``malloc_trim``; a no-op elsewhere).

    The chunks above are freed, but glibc keeps the pages (about 9 MiB at 1M interactions), and
    the fit's own peak would stack on top of them.
    """
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def measured_similarity_floor(kind: str, sample: int = 5000) -> float:
    """The embedding model's "unrelated items" cosine on this catalogue (see BlendConfig).

    The mean cosine of consecutive rows of a random sample (distinct pairs), computed by pgvector
    in the database: nothing but one number comes back (loading the sample was training's peak).
    """
    model_cls: type[Place] | type[Clip] = Place if kind == ItemKind.PLACE else Clip
    table = model_cls._meta.db_table
    sql = f"""
        WITH sample AS (
            SELECT embedding FROM {table} WHERE embedding IS NOT NULL ORDER BY random() LIMIT %s
        ), numbered AS (
            SELECT embedding, row_number() OVER () AS n, count(*) OVER () AS total FROM sample
        )
        SELECT avg(1 - (a.embedding <=> b.embedding))
        FROM numbered a JOIN numbered b ON b.n = a.n %% a.total + 1
        WHERE a.total >= 2
    """  # noqa: S608 (the table name is the model's)
    with connection.cursor() as cursor:
        cursor.execute(sql, [sample])
        value = cursor.fetchone()[0]
    return 0.0 if value is None else float(np.clip(value, 0.0, 0.95))


# Items the attribute map is fitted on: the best-supported ones (a 385 × k ridge regression needs
# a few thousand at most; more would only raise training's memory peak).
ATTRIBUTE_MAP_ITEMS = 10_000


def fitted_attribute_map(kind: str, model: FactorModel) -> AttributeMap | None:
    """The text -> factors map of ``recommender.ranking.coldstart``, from the stored embeddings."""
    model_cls: type[Place] | type[Clip] = Place if kind == ItemKind.PLACE else Clip
    best = np.argsort(-model.item_support, kind="stable")[:ATTRIBUTE_MAP_ITEMS]
    best = best[model.item_support[best] > 0]
    if not len(best):
        return None
    wanted = "{" + ",".join(str(int(pk)) for pk in model.items.ids[best]) + "}"  # integers only
    sql = (
        f"COPY (SELECT id::int8, embedding FROM {model_cls._meta.db_table} "  # noqa: S608
        f"WHERE id = ANY('{wanted}'::int8[]) AND embedding IS NOT NULL) TO STDOUT (FORMAT BINARY)"
    )
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        ids, vectors = parse_binary_vectors((bytes(chunk) for chunk in copy), settings.EMBEDDING_DIMENSIONS)
    if not len(ids):
        return None
    positions = model.items.positions(ids)
    return fit_attribute_map(vectors, model.item_factors[positions], model.item_support[positions])


def parse_binary_vectors(chunks: Iterable[bytes], dimensions: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of (int8, pgvector) from a binary COPY stream: ids and one float32 array of vectors.

    pgvector's binary form is dimensions (int16), an unused int16, then big-endian float4s; with
    every vector the same size each row has one fixed layout, read with one ``frombuffer``
    (parsing the text form costs a Python float per element: ~1 s per 5,000 vectors).
    """
    row = np.dtype(
        [("fields", ">i2"), ("len_id", ">i4"), ("id", ">i8"), ("len_v", ">i4"), ("dim", ">i2"),
         ("unused", ">i2"), ("v", ">f4", (dimensions,))]
    )  # fmt: skip
    data = bytearray()
    for chunk in chunks:  # one growing buffer, not a list of every chunk and then their join
        data += chunk
    if not data.startswith(_COPY_SIGNATURE) or len(data) < 21:
        raise ValueError("unexpected COPY header")
    start = 19 + int.from_bytes(data[15:19], "big")
    body = memoryview(data)[start:-2]
    if data[-2:] != b"\xff\xff" or len(body) % row.itemsize:
        raise ValueError("COPY rows are not (int8, vector) of the expected size")
    block = np.frombuffer(body, dtype=row)
    if (
        np.any(block["fields"] != 2)
        or np.any(block["len_v"] != 4 + 4 * dimensions)
        or np.any(block["dim"] != dimensions)
    ):
        raise ValueError(f"COPY rows are not (int8, vector({dimensions}))")
    return block["id"].astype(np.int64), block["v"].astype(np.float32)


# Each ALS parameter and the setting that holds it.
ALS_SETTINGS = {
    "factors": "ALS_FACTORS",
    "regularization": "ALS_REGULARIZATION",
    "alpha": "ALS_ALPHA",
    "iterations": "ALS_ITERATIONS",
}


def default_params() -> ALSParams:
    return ALSParams(**{field: getattr(settings, name) for field, name in ALS_SETTINGS.items()})


def neighbour_params() -> NeighbourParams:
    return NeighbourParams(
        k=settings.NEIGHBOURS_K, shrink=settings.NEIGHBOURS_SHRINK, min_weight=settings.NEIGHBOURS_MIN_WEIGHT
    )


# What auto-tuning picks of the ALS settings (recommender/tuning.py); iterations stay as set.
TUNED_ALS = ("factors", "regularization", "alpha")


def tuned_params(tuning: BlendTuning, base: ALSParams) -> ALSParams:
    """``base`` (the ALS_* settings) with the tuned factors, regularization and alpha."""
    tuned = {name: type(getattr(base, name))(tuning.als[name]) for name in TUNED_ALS if name in tuning.als}
    return replace(base, **tuned)


def train_model(kind: str, params: ALSParams | None = None, *, publish_it: bool = True) -> ModelVersion:
    """Train ALS on all interactions of ``kind``, save the artifact, record it, optionally go live.

    Without ``params``, the ALS settings, or those of the adopted auto-tuning (recommender/tuning.py),
    whose blend weights then go into the artifact for ``feeds.blend_config``.
    """
    # One training per kind at a time across every worker, in the order they asked: a run that read
    # the interactions before an account was deleted (or before a new tuning) must not publish
    # after the run that read them since.
    with advisory_lock(f"train:{kind}", wait=True):
        return _train_model(kind, params, publish_it=publish_it)


def _train_model(kind: str, params: ALSParams | None, *, publish_it: bool) -> ModelVersion:
    from recommender.tuning import adopted_tuning  # it imports feeds, which imports this module

    tuning = adopted_tuning(kind) if params is None else None
    params = params or default_params()
    if tuning is not None:
        params = tuned_params(tuning, params)
    started = time.perf_counter()
    matrix, users, items = interaction_matrix(kind)
    if matrix.nnz == 0:
        raise NotEnoughData(f"no positive {kind} interactions to train on")
    version = f"{kind}-{timezone.now():%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"
    # Before the fit: what the neighbours need on the side is freed before the fit's peak, which
    # then holds only their result (k per item) on top of what a raw fit needs.
    near = neighbour_params()
    neighbours = fit_item_neighbours(matrix, near)
    release_free_memory()
    # The matrix is handed over (scaled in place, not copied): nothing below reads its values.
    model = fit_als(matrix, users, items, params, version=version, consume=True).with_neighbours(
        neighbours, near.min_weight
    )
    interactions = int(matrix.nnz)
    # The inputs go before the map is fitted: its few MiB (embeddings, BLAS buffers) then fit under
    # the peak that reading and fitting already reached instead of adding to it.
    del matrix
    model.meta["similarity_floor"] = measured_similarity_floor(kind)
    mapping = fitted_attribute_map(kind, model)
    if mapping is not None:
        model.meta["attribute_map_model"] = settings.EMBEDDING_MODEL
        model = replace(model, attribute_map=mapping)
    tuned: dict[str, object] = {}
    if tuning is not None:
        model.meta["blend"] = dict(tuning.blend)
        model.meta["tuning_key"] = tuning.settings_key
        tuned = {"blend": dict(tuning.blend), "tuning": tuning.pk}
    relative = Path(kind) / f"{version}.npz"
    model.save(settings.MODEL_ARTIFACTS_DIR / relative)
    row = ModelVersion.objects.create(
        kind=kind,
        version=version,
        artifact=str(relative),
        training_seconds=time.perf_counter() - started,
        users=len(users),
        items=len(items),
        interactions=interactions,
        params={**asdict(params), "similarity_floor": model.meta["similarity_floor"], **tuned},
    )
    if publish_it:
        publish(row)
    return row


def publish(row: ModelVersion) -> None:
    """Make ``row`` the live model of its kind, after checking its artifact loads cleanly.

    Raises ModelFileError (and changes nothing) for a broken artifact.
    """
    _load(row.version, row.artifact)
    with transaction.atomic():
        # One publish per kind at a time: the row lock below only covers a version that is live
        # already, so two publishes could both un-live it and then collide on "one live per kind".
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"publish:{row.kind}"])
        ModelVersion.objects.select_for_update().filter(kind=row.kind, is_live=True).update(is_live=False)
        ModelVersion.objects.filter(pk=row.pk).update(is_live=True)
        feed_cache.touch_catalogue()
    row.is_live = True


# --- serving ---------------------------------------------------------------------------------

_cache: OrderedDict[str, FactorModel] = OrderedDict()
_cache_lock = threading.Lock()
_last_good: dict[str, FactorModel] = {}
CACHE_SIZE = 4  # a couple of versions per kind: the live one and the one being replaced


def _load(version: str, artifact: str) -> FactorModel:
    with _cache_lock:
        if version in _cache:
            _cache.move_to_end(version)
            return _cache[version]
    model = FactorModel.load(settings.MODEL_ARTIFACTS_DIR / artifact)
    if model.version != version:
        raise ModelFileError(f"{artifact} holds version {model.version}, expected {version}")
    with _cache_lock:
        _cache[version] = model
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return model


def live_model(kind: str) -> FactorModel | None:
    """The live model of ``kind`` (None before the first training).

    A live artifact that fails to load is logged and the last good model of this process keeps
    serving, so a bad publish degrades nothing.
    """
    row = ModelVersion.objects.filter(kind=kind, is_live=True).values_list("version", "artifact").first()
    if row is None:
        return None
    version, artifact = row
    try:
        model = _load(version, artifact)
    except ModelFileError as exc:
        logger.error("live %s model %s unusable, keeping the previous one: %s", kind, version, exc)
        return _last_good.get(kind)
    _last_good[kind] = model
    return model


def holdout_metrics(
    kind: str,
    params: ALSParams | None = None,
    *,
    users: int = 500,
    k: int = 10,
    seed: int = 0,
    neighbours_share: float | None = None,
) -> dict:
    """How well the collaborative part with these settings predicts a held-out item, for the model
    version's record.

    One positive item of up to ``users`` people with at least three is hidden; ALS and the item
    neighbours are refit on the rest; each person is folded in from their remaining items and every
    other item is ranked. Reports recall@k and NDCG@k (one relevant item each) of ALS alone, the
    neighbours alone, the collaborative part as served (``neighbours_share`` of the neighbours,
    default ``BLEND_NEIGHBOURS``) and popularity, on the same split. Costs a second fit, so the
    scheduled task runs it after publishing, off the request path.
    """
    params = params or default_params()
    share = settings.BLEND_NEIGHBOURS if neighbours_share is None else neighbours_share
    matrix, user_index, item_index = interaction_matrix(kind)
    counts = np.diff(matrix.indptr)
    eligible = np.flatnonzero(counts >= 3)
    if len(eligible) == 0:
        return {"users": 0, "k": k}
    rng = np.random.default_rng(seed)
    chosen = rng.choice(eligible, size=min(users, len(eligible)), replace=False)
    held = {}
    train = matrix.tolil(copy=True)
    for row in chosen:
        items = matrix.indices[matrix.indptr[row] : matrix.indptr[row + 1]]
        held[row] = int(rng.choice(items))
        train[row, held[row]] = 0
    train = train.tocsr()
    train.eliminate_zeros()
    near = neighbour_params()
    neighbours = fit_item_neighbours(train, near)
    model = fit_als(train, user_index, item_index, params, version="holdout").with_neighbours(
        neighbours, near.min_weight
    )
    popularity = np.asarray((train > 0).sum(axis=0)).ravel().astype(np.float64)
    nothing = np.zeros(len(item_index))
    hits: dict[str, list[int]] = {"als": [], "neighbours": [], "collaborative": [], "popularity": []}
    for row, target in held.items():
        seen = train.indices[train.indptr[row] : train.indptr[row + 1]]
        weights = train.data[train.indptr[row] : train.indptr[row + 1]]
        vector = model.fold_in_user(item_index.ids[seen], weights)
        als = model.scores(vector) if vector is not None else nothing
        close = model.neighbour_scores(item_index.ids[seen], weights)
        close = close if close is not None else nothing
        mixed = with_neighbours({"collaborative": als, "neighbours": close}, share)["collaborative"]
        for name, scores in (
            ("als", als),
            ("neighbours", close),
            ("collaborative", mixed),
            ("popularity", popularity),
        ):
            scores = np.array(scores, dtype=np.float64)  # a copy: the seen items are masked in it
            scores[seen] = -np.inf
            rank = int(np.sum(scores > scores[target]))
            hits[name].append(rank)
    result: dict = {"users": len(held), "k": k}
    for name, ranks in hits.items():
        ranks_array = np.asarray(ranks)
        result[f"{name}_recall@{k}"] = round(float(np.mean(ranks_array < k)), 4)
        result[f"{name}_ndcg@{k}"] = round(
            float(np.mean(np.where(ranks_array < k, 1 / np.log2(ranks_array + 2), 0))), 4
        )
    return result
