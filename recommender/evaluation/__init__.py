"""Offline evaluation of the hybrid recommender against simple baselines.

Protocol (also written into every JSON report as ``protocol``):

- Split (seeded, :mod:`recommender.evaluation.split`): ~10% of items with interactions are *new
  items*, held out of training entirely; ~15% of users are *cold*, all their items held out; every
  other user has ~20% of their distinct positive items (at least one) held out. The rest trains.
- A user's history length is their number of distinct training items; results are sliced by it
  (0, 1-2, 3-5, 6+). The "new items" slice scores, over the same full ranking, only the hits
  among the user's held-out new items (recall of cold-start items). "new items, among new" ranks
  the new items only (a "new places for you" shelf, the usual item cold-start protocol): there
  popularity and ALS know nothing, so they rank at random, and only text can do better.
- Full ranking over ALL items, no sampled negatives; the user's training items are excluded.
  Ties are broken by a seeded random item order. Recall@K = hits / min(K, |test|), NDCG@K with
  binary relevance, catalogue coverage@10 = share of items in anyone's top 10.
- New items get a collaborative score predicted from their text: an attribute map (ridge regression
  from item vectors to ALS item factors, fitted on training items; recommender.ranking.coldstart),
  as in production.
- Item vectors (and so content scores) use training pairs only: base text (name, district,
  keywords) plus the mean of the item's TRAINING reviews/tags; a review or tag on a test pair
  never describes its item. Embeddings are cached per text by hash + model.
- ``--tune`` grids the blend weights on a validation split carved from TRAINING (same protocol,
  another seed), sampling only validation users with history or searches (the blend cannot reorder
  anyone else's list); the test split is only used to report default and tuned hybrid side by side.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Callable, Container, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import scipy.sparse as sp
from tqdm import tqdm

from recommender.evaluation.datasets import MAX_DOC_CHARS, MAX_TEXT_CHARS, Dataset
from recommender.evaluation.methods import ALSOnly, Context, Hybrid, Method, build_context, standard_methods
from recommender.evaluation.metrics import SLICES, Accumulator, history_slice, ndcg_at_k, paired_interval, top_k
from recommender.evaluation.split import Split, split_pairs
from recommender.ranking.als import ALSParams
from recommender.ranking.blend import BlendConfig
from recommender.ranking.neighbours import NeighbourParams

Embedder = Callable[[list[str], str], np.ndarray]  # (texts, "passage" | "query") -> unit rows

PROTOCOL = {
    "split": "seeded; ~10% of items new (all pairs to test); ~15% of users cold (all pairs to test); "
    "others: 20% of distinct positive items (>=1) to test",
    "slices": "history = distinct training items: 0, 1-2, 3-5, 6+; 'new items' = hits among held-out new items; "
    "'new items, among new' = the same hits when only new items are ranked",
    "ranking": "full ranking over all items, user's training items excluded, seeded tie-break",
    "metrics": "Recall@K = hits/min(K,|test|); NDCG@K binary relevance; coverage@10 = share of catalogue in any top 10",
    "text": "item vector = unit(base text vector + unit mean of TRAINING-pair docs (reviews/tags)); "
    "test reviews/tags never used",
    "versus": "the hybrid (tuned if run) minus each baseline, per slice, recall@10 and ndcg@10: mean per-user "
    "difference and a 95% paired bootstrap interval (1,000 resamples of the slice's users; seed 0)",
    "tuning": "--tune: grid (history half, content, interest, popularity, predicted), then, where items have "
    "coordinates or areas, geo strength and trust in the usual areas x popularity x history half, "
    "then the item neighbours' share of the collaborative part x popularity, "
    "by NDCG@10 on a validation split carved from training (another seed), over validation users with history or "
    "searches (the others get popularity under every setting); test used only for reporting",
}
# ALS settings tried by --tune (factors, regularization, alpha); iterations and seed stay as given.
# The default, a strongly regularised low-rank one (sparse check-in data, e.g. foursquare), and
# a middle one.
TUNE_ALS = ((64, 0.05, 2.0), (32, 1.0, 1.0), (64, 0.3, 1.0))
# Content and popularity reach further than the others: with validation users that have history,
# korean_cafes picked the top content weight (1.2) and foursquare the top popularity (0.5, then
# 1.0); on foursquare validation NDCG@10 kept rising up to popularity 8 and levelled at 16.
TUNE_GRID = {
    "user_history_half": (2.0, 5.0, 10.0),
    "content": (0.3, 0.6, 1.2, 2.4),
    "interest": (0.3, 0.6, 1.2),
    "popularity": (0.1, 0.2, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0),
    "predicted": (0.0, 0.5, 1.0),
}
# Extra axes where items have coordinates or areas. usual_area_half 0 trusts the places a person usually
# goes as much as a location sent with the request (the app's default); 5 trusts them with history.
TUNE_GEO_GRID = {
    "geo_strength": (0.25, 0.5, 0.75, 1.0),
    "usual_area_half": (0.0, 5.0),
}
# The last stage: the share of the collaborative part taken from item neighbours, against
# popularity (what it trades off with: on foursquare neighbours alone beat ALS alone, and the
# best share there is 1, while on lastfm's tag-rich data share 1 loses to ALS).
TUNE_NEIGHBOURS_GRID = {"neighbours": (0.0, 0.25, 0.5, 0.75, 1.0)}


@dataclass
class EvalOptions:
    seed: int = 0
    sample_users: int | None = 1000
    ks: tuple[int, ...] = (10, 20)
    methods: tuple[str, ...] | None = None  # None: all applicable
    als: ALSParams = field(default_factory=ALSParams)
    blend: BlendConfig = field(default_factory=BlendConfig)
    tune: bool = False
    tune_users: int = 1000  # validation users; 500 picked settings that did worse on test (noise)
    strict_searches: bool = False  # drop searches tied to the user's held-out items
    neighbours: NeighbourParams = field(default_factory=NeighbourParams)


def cached_embedder(
    encode: Embedder, model: str, cache_dir: Path | None, progress: TextIO | None = None, chunk: int = 256
) -> Embedder:
    """Wrap ``encode`` with a per-text cache at ``cache_dir/<model>-<kind>.npz`` (hash of text + model).

    Missing texts are encoded in chunks (with a progress bar) and the cache is saved after each
    chunk, so an interrupted run keeps what it encoded.
    """

    def embed(texts: list[str], kind: str) -> np.ndarray:
        keys = [hashlib.sha1(f"{model}\x1f{kind}\x1f{t}".encode(), usedforsecurity=False).hexdigest() for t in texts]
        path = cache_dir / f"{model.replace('/', '_')}-{kind}.npz" if cache_dir else None
        known: dict[str, np.ndarray] = {}
        if path is not None and path.is_file():
            with np.load(path, allow_pickle=False) as data:
                known = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in known}.items())
        starts = range(0, len(missing), chunk)
        for start in tqdm(starts, desc=f"encoding {kind}s ({model})", file=progress, disable=progress is None):
            batch = missing[start : start + chunk]
            known.update(zip((k for k, _ in batch), encode([t for _, t in batch], kind), strict=True))
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                all_keys = list(known)
                tmp = path.with_suffix(".tmp.npz")
                np.savez(tmp, keys=np.array(all_keys), vectors=np.stack([known[k] for k in all_keys]))
                tmp.replace(path)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([known[k] for k in keys]).astype(np.float32)

    return embed


def search_vectors(
    dataset: Dataset, embed: Embedder, hidden: set[tuple[int, int]] | None = None
) -> dict[int, np.ndarray]:
    """Each searching user's unit mean search vector.

    Searches are side information, not split. With ``hidden`` (strict mode) a search tied to a
    hidden (user, item) pair, e.g. a Last.fm tag the user gave a held-out artist, is dropped.
    """
    per_user = dataset.searches
    if hidden is not None and dataset.search_pairs:
        kept: dict[int, set[str]] = {}
        for user, item, text in dataset.search_pairs:
            if (user, item) not in hidden:
                kept.setdefault(user, set()).add(text)
        per_user = {u: sorted(t) for u, t in kept.items()}
    texts = sorted({t for searches in per_user.values() for t in searches})
    if not texts:
        return {}
    vectors = dict(zip(texts, embed(texts, "query"), strict=True))
    out = {}
    for user, searches in per_user.items():
        mean = np.mean([vectors[t] for t in searches], axis=0)
        norm = float(np.linalg.norm(mean))
        if norm > 0:
            out[user] = (mean / norm).astype(np.float32)
    return out


def item_vectors(dataset: Dataset, train_pairs: set[tuple[int, int]], embed: Embedder) -> np.ndarray:
    """Unit item vectors: the base text's vector plus the unit mean vector of the item's TRAINING docs.

    Base texts and docs are embedded one by one (and cached), so a new split needs no new
    encoding; a doc on a test pair never reaches its item. Docs count with their frequency, so
    an artist's most used tags dominate its tag vector.
    """
    if dataset.item_base_text is None:
        raise ValueError(f"{dataset.name} has no item text")
    base = embed([t[:MAX_TEXT_CHARS] for t in dataset.item_base_text], "passage").astype(np.float64)
    kept = [(item, text[:MAX_DOC_CHARS]) for user, item, text in dataset.docs if (user, item) in train_pairs]
    if kept:
        texts = sorted({t for _, t in kept})
        column = {t: j for j, t in enumerate(texts)}
        counts = sp.csr_matrix(
            (np.ones(len(kept)), ([i for i, _ in kept], [column[t] for _, t in kept])),
            shape=(dataset.n_items, len(texts)),
        )
        summed = np.asarray(counts @ embed(texts, "passage").astype(np.float64))
        norms = np.linalg.norm(summed, axis=1, keepdims=True)
        base = base + np.divide(summed, norms, out=np.zeros_like(summed), where=norms > 0)
    return (base / np.linalg.norm(base, axis=1, keepdims=True)).astype(np.float32)


def prepare(
    dataset: Dataset,
    train: np.ndarray,
    als: ALSParams,
    embed: Embedder | None,
    searches: dict[int, np.ndarray],
    like: Context | None = None,
    *,
    neighbours: NeighbourParams | None = None,
) -> Context:
    """ALS, item neighbours and item vectors from the pairs where ``train`` is true, plus side information.

    ``like``: a context of this same ``train`` (another ALS setting, the same ``neighbours``):
    its item vectors and item neighbours are taken instead of being computed again.
    """
    users, items, weights = dataset.users[train], dataset.items[train], dataset.weights[train]
    vectors = like.item_vectors if like is not None else None
    if vectors is None and dataset.has_text and embed is not None:
        vectors = item_vectors(dataset, set(zip(users.tolist(), items.tolist(), strict=True)), embed)
    return build_context(
        users,
        items,
        weights,
        dataset.n_users,
        dataset.n_items,
        als_params=als,
        item_vectors=vectors,
        search_vectors=searches if vectors is not None else {},
        item_lat=dataset.item_lat,
        item_lon=dataset.item_lon,
        item_area=dataset.item_area,
        neighbours=neighbours,
        fitted_neighbours=like.model.neighbours if like is not None else None,
    )


def _sample(split: Split, n: int | None, seed: int, keep: Callable[[int], bool] | None = None) -> list[int]:
    users = sorted(u for u in split.test_items if keep is None or keep(u))
    if n is None or n >= len(users):
        return users
    rng = np.random.default_rng(seed)
    return sorted(int(u) for u in rng.choice(users, size=n, replace=False))


def _seen(dataset: Dataset, train: np.ndarray) -> dict[int, np.ndarray]:
    seen: dict[int, list[int]] = {}
    for u, i in zip(dataset.users[train].tolist(), dataset.items[train].tolist(), strict=True):
        seen.setdefault(u, []).append(i)
    return {u: np.asarray(v, dtype=np.int64) for u, v in seen.items()}


@dataclass
class Tuned:
    """What ``tune_blend`` picked, and how it did on the validation split."""

    als: ALSParams  # for the hybrid
    config: BlendConfig
    als_alone: ALSParams  # ALS alone's own best settings
    table: list[dict[str, Any]]  # every grid row, best first
    validation_users: int
    score: float  # validation NDCG@10 of the pick
    start_score: float  # the same for the blend it started from (options.blend with options.als)


def validation_split(
    dataset: Dataset, train: np.ndarray, options: EvalOptions, searchers: Container[int]
) -> tuple[Split, np.ndarray, list[int]]:
    """The validation split carved from the pairs where ``train`` is true (another seed): the
    split, its training mask over all pairs and the validation users tuning ranks.

    Only users whose ranking the blend can change: one with neither history nor searches gets
    popularity under every setting, so they add a constant to every grid row and only dilute
    the sample (on korean_cafes they were ~80% of the validation users).
    """
    train_idx = np.flatnonzero(train)
    inner = split_pairs(
        dataset.users[train_idx],
        dataset.items[train_idx],
        dataset.weights[train_idx],
        dataset.n_users,
        dataset.n_items,
        seed=options.seed + 1,
    )
    val_train = np.zeros_like(train)
    val_train[train_idx[inner.train]] = True
    users = _sample(inner, options.tune_users, options.seed + 1, keep=lambda u: inner.history[u] > 0 or u in searchers)
    return inner, val_train, users


def tune_blend(
    dataset: Dataset,
    train: np.ndarray,
    options: EvalOptions,
    embed: Embedder | None,
    searches: dict[int, np.ndarray],
    progress: TextIO | None,
) -> Tuned:
    """Best ALS settings and blend weights by NDCG@10 on a validation split of the TRAINING pairs
    (``train``: a mask over the dataset's pairs).

    ALS alone gets its own best settings, so the hybrid is compared with a tuned baseline.
    """
    inner, val_train, users = validation_split(dataset, train, options, searches)
    seen = _seen(dataset, val_train)
    tiebreak = np.random.default_rng(options.seed + 1).permutation(dataset.n_items)
    settings = [replace(options.als, factors=f, regularization=r, alpha=a) for f, r, a in TUNE_ALS]
    if options.als not in settings:
        settings.insert(0, options.als)
    ctx: Context | None = None
    best: tuple[float, ALSParams, BlendConfig] | None = None
    best_als_alone: tuple[float, ALSParams] | None = None
    start_score = 0.0
    table: list[dict[str, Any]] = []
    for als in settings:
        ctx = prepare(dataset, val_train, als, embed, searches, ctx, neighbours=options.neighbours)
        config, rows, start = _tune_grid(ctx, options, inner, users, seen, tiebreak, progress)
        if als == options.als:
            start_score = start
        for row in rows:
            row.update(factors=als.factors, regularization=als.regularization, alpha=als.alpha)
        table.extend(rows)
        if best is None or rows[0]["val_ndcg@10"] > best[0]:
            best = (rows[0]["val_ndcg@10"], als, config)
        alone = ALSOnly(ctx)
        score = float(
            np.mean(
                [
                    ndcg_at_k(top_k(alone.scores_for(u), 10, tiebreak, seen.get(u)), inner.test_items[u], 10)
                    for u in users
                ]
            )
        )
        if best_als_alone is None or score > best_als_alone[0]:
            best_als_alone = (score, als)
    assert best is not None and best_als_alone is not None
    return Tuned(
        als=best[1],
        config=best[2],
        als_alone=best_als_alone[1],
        table=sorted(table, key=lambda r: -r["val_ndcg@10"]),
        validation_users=len(users),
        score=best[0],
        start_score=start_score,
    )


# A history slice of the second validation split may veto a pick only with this many people:
# with fewer, its interval is too wide to tell a loss from noise.
CONFIRM_SLICE_MIN_USERS = 30


@dataclass
class SliceGain:
    """The tuned blend minus the settings' own for one history slice of the confirmation split."""

    users: int
    gain: float  # mean per-person NDCG@10 difference
    low: float  # its 95% paired bootstrap interval
    high: float


@dataclass
class Confirmation:
    """The tuned blend against the settings' own on a second validation split (``confirm_tuning``)."""

    users: int
    ndcg_tuned: float
    ndcg_settings: float
    gain: float  # mean per-person difference
    low: float  # its 95% paired bootstrap interval
    high: float
    # Per history slice ("history 1-2" …) with at least CONFIRM_SLICE_MIN_USERS people.
    slices: dict[str, SliceGain] = field(default_factory=dict)

    @property
    def worse_slices(self) -> list[str]:
        """Slices whose people the pick serves significantly worse (the whole interval below 0)."""
        return [name for name, part in self.slices.items() if part.high < 0]

    @property
    def holds(self) -> bool:
        """The gain is above 0 on people the pick was not chosen on (an unbiased estimate of
        what adopting it brings), and no history slice is significantly worse off: a pick that
        wins overall by serving people with long histories better must not do it at the expense
        of those with little. (Asking for the whole overall interval above 0 kept the settings
        on foursquare, where the pick then beat them on the test split by .0065 NDCG@10.)"""
        return self.gain > 0 and not self.worse_slices

    def verdict(self) -> str:
        """The gain, and each slice that vetoes the pick, in words."""
        text = (
            f"NDCG@10 {self.ndcg_settings:.4f} → {self.ndcg_tuned:.4f} "
            f"({self.gain:+.4f}, 95% {self.low:+.4f} to {self.high:+.4f})"
        )
        for name in self.worse_slices:
            part = self.slices[name]
            text += (
                f"; significantly worse for the {part.users} people with {name} "
                f"({part.gain:+.4f}, 95% {part.low:+.4f} to {part.high:+.4f})"
            )
        return text


def confirm_tuning(
    dataset: Dataset,
    train: np.ndarray,
    options: EvalOptions,
    embed: Embedder | None,
    searches: dict[int, np.ndarray],
    tuned: Tuned,
) -> Confirmation:
    """Score the tuned blend and the settings' own (``options``) on a validation split neither was
    picked on (another seed): the pick of thousands of candidates is the best on its own split
    partly by luck, so only a gain that holds on fresh people says it is better."""
    fresh = replace(options, seed=options.seed + 1)  # validation_split then uses seed + 2
    inner, val_train, users = validation_split(dataset, train, fresh, searches)
    seen = _seen(dataset, val_train)
    tiebreak = np.random.default_rng(fresh.seed + 1).permutation(dataset.n_items)
    start_ctx = prepare(dataset, val_train, options.als, embed, searches, neighbours=options.neighbours)
    tuned_ctx = (
        start_ctx
        if tuned.als == options.als
        else prepare(dataset, val_train, tuned.als, embed, searches, start_ctx, neighbours=options.neighbours)
    )
    scores = {}
    for name, ctx, config in (("tuned", tuned_ctx, tuned.config), ("settings", start_ctx, options.blend)):
        hybrid = Hybrid(ctx, config)
        scores[name] = np.array(
            [ndcg_at_k(top_k(hybrid.scores_for(u), 10, tiebreak, seen.get(u)), inner.test_items[u], 10) for u in users]
        )
    diff = scores["tuned"] - scores["settings"]
    gain, low, high = paired_interval(diff)
    names = np.array([history_slice(int(inner.history[u])) for u in users], dtype=str)
    slices = {}
    for name in SLICES:
        members = diff[names == name]
        if len(members) >= CONFIRM_SLICE_MIN_USERS:
            slices[name] = SliceGain(len(members), *paired_interval(members))
    return Confirmation(
        users=len(users),
        ndcg_tuned=float(scores["tuned"].mean()) if users else 0.0,
        ndcg_settings=float(scores["settings"].mean()) if users else 0.0,
        gain=gain,
        low=low,
        high=high,
        slices=slices,
    )


def _tune_grid(
    ctx: Context,
    options: EvalOptions,
    inner: Split,
    users: list[int],
    seen: dict[int, np.ndarray],
    tiebreak: np.ndarray,
    progress: TextIO | None,
) -> tuple[BlendConfig, list[dict[str, Any]], float]:
    """The blend grid on one validation context: the best config, every row (best first) and
    the validation NDCG@10 of the config it starts from (``options.blend``).

    Where items have coordinates or areas, a second stage grids geo strength and trust in the
    usual areas against popularity and the history half (what they trade off with), the other
    weights staying at the first stage's best: the full product is 8x the first stage. Where
    the model has item neighbours, a last stage grids their share against popularity.
    """
    hybrid = Hybrid(ctx, options.blend)
    # Only the weights of sources this dataset has: a weight nothing uses would only add ties.
    axes = {
        name: values
        for name, values in TUNE_GRID.items()
        if (name != "content" or ctx.item_vectors is not None)
        and (name != "interest" or ctx.search_vectors)
        and (name != "predicted" or ctx.mapped_factors is not None)
    }
    stages = [axes]
    if ctx.item_lat is not None or ctx.item_area is not None:
        # Not "proximity": it only orders items nothing else is known about (new ones), which a
        # validation NDCG over established items cannot see; tuned, it drifts to 0 by noise.
        geo_axes = {**TUNE_GEO_GRID, **{k: v for k, v in axes.items() if k in ("popularity", "user_history_half")}}
        stages.append(geo_axes)
    if ctx.model.neighbours is not None and ctx.model.neighbours.nnz:
        stages.append({**TUNE_NEIGHBOURS_GRID, "popularity": axes["popularity"]})
    names = list(dict.fromkeys(name for stage_axes in stages for name in stage_axes))
    als = ctx.model.params
    table: list[dict[str, Any]] = []
    best, best_score = options.blend, -np.inf
    start_total = 0.0
    for stage, stage_axes in enumerate(stages):
        grid = [
            replace(best, **dict(zip(stage_axes, values, strict=True)))
            for values in itertools.product(*stage_axes.values())
        ]
        totals = np.zeros(len(grid))
        desc = f"tuning (validation, ALS {als.factors}/{als.regularization}/{als.alpha}, stage {stage + 1})"
        for user in tqdm(users, desc=desc, file=progress, disable=progress is None):
            sources = hybrid.sources(user)
            exclude = seen.get(user)
            relevant = inner.test_items[user]
            if stage == 0:
                start = top_k(hybrid.combine(sources, options.blend), 10, tiebreak, exclude)
                start_total += ndcg_at_k(start, relevant, 10)
            for g, config in enumerate(grid):
                ranked = top_k(hybrid.combine(sources, config), 10, tiebreak, exclude)
                totals[g] += ndcg_at_k(ranked, relevant, 10)
        means = totals / max(len(users), 1)
        table.extend(
            {**{name: getattr(c, name) for name in names}, "val_ndcg@10": float(m)}
            for c, m in zip(grid, means, strict=True)
        )
        # A later stage's grid holds the best so far only if its values are on that stage's axes:
        # keep the earlier pick unless this stage found better, so the pick is the best row.
        if means.max() > best_score:
            best, best_score = grid[int(np.argmax(means))], float(means.max())
    return best, sorted(table, key=lambda r: -r["val_ndcg@10"]), start_total / max(len(users), 1)


BASELINES = ("popularity", "location", "als", "als (tuned)", "neighbours", "content")


def versus(acc: Accumulator, methods: list[str]) -> dict[str, Any]:
    """The hybrid (tuned if there is one) against each baseline, per slice, with 95% intervals.

    slice -> baseline -> metric -> [mean difference, low, high]: a win is an interval above 0,
    a loss one below 0, anything else a tie the sample cannot tell apart.
    """
    hybrid = "hybrid (tuned)" if "hybrid (tuned)" in methods else "hybrid"
    out: dict[str, Any] = {"method": hybrid, "slices": {}}
    if hybrid not in methods:
        return out
    for name in SLICES:
        per_baseline: dict[str, Any] = {}
        for baseline in (b for b in BASELINES if b in methods):
            cells = {}
            for metric in ("recall@10", "ndcg@10"):
                found = acc.difference(hybrid, baseline, name, metric)
                if found is not None:
                    cells[metric] = [round(v, 5) for v in found]
            if cells:
                per_baseline[baseline] = cells
        if per_baseline:
            out["slices"][name] = per_baseline
    return out


def evaluate(
    dataset: Dataset, options: EvalOptions, embed: Embedder | None, progress: TextIO | None = None
) -> dict[str, Any]:
    """Split, train, rank every sampled test user with every method; the JSON-ready result."""
    started = time.monotonic()
    split = split_pairs(
        dataset.users, dataset.items, dataset.weights, dataset.n_users, dataset.n_items, seed=options.seed
    )
    notes = list(dataset.notes)
    has_text = dataset.has_text and embed is not None
    hidden = None
    if options.strict_searches:
        hidden = set(zip(dataset.users[~split.train].tolist(), dataset.items[~split.train].tolist(), strict=True))
        notes.append("strict searches: searches tied to a user's held-out items are dropped")
    searches = search_vectors(dataset, embed, hidden) if has_text and embed is not None else {}
    ctx = prepare(dataset, split.train, options.als, embed, searches, neighbours=options.neighbours)
    methods: list[Method] = standard_methods(ctx, has_text=has_text, config=options.blend)
    tuned: dict[str, Any] | None = None
    if options.tune:
        found = tune_blend(dataset, split.train, options, embed, searches, progress)
        als, best, als_alone, table = found.als, found.config, found.als_alone, found.table
        tuned_ctx = (
            ctx
            if als == options.als
            else prepare(dataset, split.train, als, embed, searches, ctx, neighbours=options.neighbours)
        )
        alone_ctx = {als: tuned_ctx, options.als: ctx}.get(als_alone)
        if alone_ctx is None:
            alone_ctx = prepare(dataset, split.train, als_alone, embed, searches, ctx, neighbours=options.neighbours)
        methods.append(ALSOnly(alone_ctx, name="als (tuned)"))
        methods.append(Hybrid(tuned_ctx, best, name="hybrid (tuned)"))
        # What the app's auto-tuning would do with this pick (recommender/tuning.py).
        check = (
            confirm_tuning(dataset, split.train, options, embed, searches, found)
            if found.score > found.start_score
            else None
        )
        tuned = {
            "confirmation": asdict(check) if check is not None else None,
            "adopted": bool(check is not None and check.holds),
            "config": asdict(best),
            "als": asdict(als),
            "als_alone": asdict(als_alone),
            "grid_top5": table[:5],
            "grid_size": len(table),
            "validation_users": found.validation_users,
            "val_ndcg@10": round(found.score, 5),
            "val_ndcg@10_untuned": round(found.start_score, 5),
        }
    if options.methods:  # a method's tuned variant goes with it
        methods = [m for m in methods if m.name.removesuffix(" (tuned)") in options.methods]
    if dataset.item_lat is None and dataset.item_area is None:
        notes.append("no item coordinates or areas: location = popularity; no distance in the hybrid")
    if not has_text:
        notes.append("content-only: n/a (no item text or no embedding model); content scores are NaN")
    users = _sample(split, options.sample_users, options.seed)
    seen = _seen(dataset, split.train)
    tiebreak = np.random.default_rng(options.seed).permutation(dataset.n_items)
    acc = Accumulator(options.ks, dataset.n_items)
    depth = max(options.ks)
    established = np.flatnonzero(~split.new_items)
    for user in tqdm(users, desc=f"ranking {dataset.name}", file=progress, disable=progress is None):
        relevant = split.test_items[user]
        new = relevant[split.new_items[relevant]]
        slices = ("all", history_slice(int(split.history[user])))
        exclude = seen.get(user)
        for method in methods:
            scores = method.scores_for(user)
            ranked = top_k(scores, depth, tiebreak, exclude)
            acc.add(method.name, slices, ranked, relevant)
            if len(new):
                acc.add(method.name, ("new items",), ranked, new)
                # NaN (no opinion) becomes a tie, so a method without one ranks new items at random.
                shelf = np.nan_to_num(scores, nan=-1e9)
                acc.add(method.name, ("new items, among new",), top_k(shelf, depth, tiebreak, established), new)
    names = [m.name for m in methods]
    return {
        "dataset": dataset.name,
        "protocol": PROTOCOL,
        "versus": versus(acc, names),
        "seed": options.seed,
        "ks": list(options.ks),
        "catalogue": {"users": dataset.n_users, "items": dataset.n_items, "pairs": len(dataset.users)},
        "split": split.summary(),
        "evaluated_users": len(users),
        "methods": [m.name for m in methods],
        "slices": list(SLICES),
        "als_params": asdict(options.als),
        "blend_config": asdict(options.blend),
        "tuned": tuned,
        "strict_searches": options.strict_searches,
        "notes": notes,
        "results": acc.summary(),
        "wall_seconds": round(time.monotonic() - started, 1),
    }


__all__: Sequence[str] = ("PROTOCOL", "EvalOptions", "cached_embedder", "evaluate")
