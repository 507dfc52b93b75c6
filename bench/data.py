"""Seeded synthetic data for the benchmarks, and fast bulk loads into PostgreSQL.

Generators are plain numpy. Loads use COPY on a separate psycopg connection (a few seconds for
1M rows, versus minutes through the ORM) and tag every row (``source='bench'``, usernames
``bench-…``) so a run reuses rows loaded by an earlier run of the same size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

import numpy as np
import psycopg
from django.db import connection

SOURCE = "bench"
DIMENSIONS = 384
KINDS = np.array(["view", "click", "like", "save", "visit"])
KIND_WEIGHTS = np.array([1.0, 2.0, 3.0, 3.0, 4.0], dtype=np.float32)  # DEFAULT_KIND_WEIGHTS of these kinds
KIND_ODDS = np.array([0.5, 0.25, 0.12, 0.08, 0.05])


@dataclass(frozen=True)
class Interactions:
    """Interactions as index arrays (0-based user and item positions), plus a held-out slice."""

    n_users: int
    n_items: int
    users: np.ndarray
    items: np.ndarray
    kinds: np.ndarray  # indexes into KINDS
    item_cluster: np.ndarray
    heldout_users: np.ndarray
    heldout_items: np.ndarray


def interactions(n_users: int, n_items: int, n: int, *, clusters: int = 20, seed: int = 7) -> Interactions:
    """Users with a taste (a cluster) pick mostly popular items of their cluster (Zipf-like).

    The held-out slice is drawn the same way for 2,000 users (or all of them) and excludes
    pairs already in the training rows, so recall@10 has a known-learnable answer.
    """
    rng = np.random.default_rng(seed)
    item_cluster = rng.integers(0, clusters, n_items)
    user_cluster = rng.integers(0, clusters, n_users)
    activity = rng.lognormal(0.0, 0.8, n_users)
    activity /= activity.sum()

    def draw(count: int, users: np.ndarray) -> np.ndarray:
        out = rng.integers(0, n_items, count)  # 20% anywhere
        own = rng.random(count) < 0.8
        for c in range(clusters):
            members = np.flatnonzero(item_cluster == c)
            if not len(members):
                continue
            popularity = 1.0 / (np.arange(len(members)) + 5.0) ** 0.9
            cumulative = np.cumsum(popularity / popularity.sum())
            pick = own & (user_cluster[users] == c)
            idx = np.searchsorted(cumulative, rng.random(int(pick.sum())))
            out[pick] = members[np.minimum(idx, len(members) - 1)]
        return out

    users = rng.choice(n_users, size=n, p=activity)
    items = draw(n, users)
    kinds = rng.choice(len(KINDS), size=n, p=KIND_ODDS)
    held = rng.choice(n_users, size=min(2000, n_users), replace=False)
    h_users = np.repeat(held, 5)
    h_items = draw(len(h_users), h_users)
    seen = set(zip(users.tolist(), items.tolist(), strict=True))
    fresh = np.array([(u, i) not in seen for u, i in zip(h_users.tolist(), h_items.tolist(), strict=True)])
    return Interactions(n_users, n_items, users, items, kinds, item_cluster, h_users[fresh], h_items[fresh])


def clustered_vectors(n: int, *, clusters: int = 100, seed: int = 11, noise: float = 1.0) -> np.ndarray:
    """Unit float32 vectors around random centres: structured like text embeddings, not uniform noise."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, DIMENSIONS)).astype(np.float32)
    labels = rng.integers(0, clusters, n)
    x = centres[labels] + noise * rng.standard_normal((n, DIMENSIONS)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


WORDS = (
    "quiet cozy bright spacious hidden rooftop riverside vintage modern family late-night spicy sweet "
    "vegan seafood noodle coffee tea bakery bar brunch dessert grill dumpling market garden gallery "
    "museum park view jazz books study date local famous cheap premium"
).split()


def place_texts(n: int, *, seed: int = 5) -> list[str]:
    """Short English descriptions, like the embedding text of a place (name, category, words)."""
    rng = np.random.default_rng(seed)
    return [f"Place {i} " + " ".join(rng.choice(WORDS, size=int(rng.integers(8, 24))).tolist()) for i in range(n)]


# --- database --------------------------------------------------------------------------------


def database_url() -> str:
    """A postgresql:// URL for the database Django's default connection uses right now."""
    cfg = connection.settings_dict
    auth = quote(cfg["USER"] or "") + (":" + quote(cfg["PASSWORD"]) if cfg["PASSWORD"] else "") + "@"
    host = cfg["HOST"] or ""
    if host.startswith("/"):
        return f"postgresql://{auth}{quote(host, safe='')}/{cfg['NAME']}"
    return f"postgresql://{auth}{host}{':' + str(cfg['PORT']) if cfg['PORT'] else ''}/{cfg['NAME']}"


def raw_connection() -> psycopg.Connection:
    """A separate connection with the pgvector types registered (numpy arrays in COPY)."""
    from pgvector.psycopg import register_vector

    connection.ensure_connection()  # the embedded server may need starting first
    conn = psycopg.connect(database_url(), autocommit=True)
    register_vector(conn)
    return conn


def _count(conn: psycopg.Connection, sql: str) -> int:
    row = conn.execute(sql).fetchone()
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class Loaded:
    user_ids: np.ndarray  # database id of user position i
    place_ids: np.ndarray  # database id of item position i
    reused: bool


def load_interactions(data: Interactions, *, with_embeddings: bool = True) -> Loaded:
    """Users, places (with clustered embeddings) and interactions; reused when the counts match."""
    with raw_connection() as conn:
        counts = (
            _count(conn, "SELECT count(*) FROM auth_user WHERE username LIKE 'bench-%'"),
            _count(conn, f"SELECT count(*) FROM places_place WHERE source = '{SOURCE}'"),  # noqa: S608
            _count(conn, f"SELECT count(*) FROM recommender_interaction WHERE source = '{SOURCE}'"),  # noqa: S608
        )
        reused = counts == (data.n_users, data.n_items, len(data.users))
        if not reused:
            _delete_bench_rows(conn)
            _copy_users(conn, data.n_users)
            _copy_places(conn, data, with_embeddings)
        user_ids = np.array(
            [r[0] for r in conn.execute("SELECT id FROM auth_user WHERE username LIKE 'bench-%' ORDER BY username")]
        )
        place_ids = np.array(
            [r[0] for r in conn.execute("SELECT id FROM places_place WHERE source = %s ORDER BY id", [SOURCE])]
        )
        if not reused:
            _copy_interactions(conn, data, user_ids, place_ids)
            conn.execute("ANALYZE recommender_interaction")
    return Loaded(user_ids, place_ids, reused)


def _delete_bench_rows(conn: psycopg.Connection) -> None:
    conn.execute("DELETE FROM recommender_interaction WHERE source = %s", [SOURCE])
    conn.execute(
        "DELETE FROM recommender_interaction WHERE user_id IN (SELECT id FROM auth_user WHERE username LIKE 'bench-%')"
    )
    conn.execute("DELETE FROM places_place WHERE source = %s", [SOURCE])
    conn.execute("DELETE FROM auth_user WHERE username LIKE 'bench-%'")


def _copy_users(conn: psycopg.Connection, n: int) -> None:
    now = datetime.now(UTC)
    columns = "password, is_superuser, username, first_name, last_name, email, is_staff, is_active, date_joined"
    with conn.cursor() as cur, cur.copy(f"COPY auth_user ({columns}) FROM STDIN") as copy:
        for i in range(n):
            copy.write_row(("!", False, f"bench-{i:07d}", "", "", "", False, True, now))


def _copy_places(conn: psycopg.Connection, data: Interactions, with_embeddings: bool) -> None:
    now = datetime.now(UTC)
    vectors = clustered_vectors(data.n_items, clusters=int(data.item_cluster.max()) + 1, seed=3, noise=0.8)
    rng = np.random.default_rng(9)
    lat = 37.55 + rng.normal(0, 0.05, data.n_items)
    lon = 126.98 + rng.normal(0, 0.05, data.n_items)
    columns = (
        "name, category, address, district, latitude, longitude, opening_hours, description, source, "
        "external_id, is_active, keyword_summary, embedding, embedding_key, created_at, updated_at"
    )
    with conn.cursor() as cur, cur.copy(f"COPY places_place ({columns}) FROM STDIN") as copy:
        for i in range(data.n_items):
            copy.write_row(
                (
                    f"Bench place {i}", f"cluster-{data.item_cluster[i]}", "", "bench", float(lat[i]), float(lon[i]),
                    "{}", "", SOURCE, f"b{i}", True, "", vectors[i] if with_embeddings else None, "", now, now,
                )
            )  # fmt: skip


def _copy_interactions(
    conn: psycopg.Connection, data: Interactions, user_ids: np.ndarray, place_ids: np.ndarray
) -> None:
    now = datetime.now(UTC)
    users = user_ids[data.users].tolist()
    places = place_ids[data.items].tolist()
    kinds = KINDS[data.kinds].tolist()
    weights = KIND_WEIGHTS[data.kinds].tolist()
    columns = "user_id, place_id, kind, weight, occurred_at, created_at, source"
    with conn.cursor() as cur, cur.copy(f"COPY recommender_interaction ({columns}) FROM STDIN") as copy:
        for u, p, k, w in zip(users, places, kinds, weights, strict=True):
            copy.write_row((u, p, k, w, now, now, SOURCE))
