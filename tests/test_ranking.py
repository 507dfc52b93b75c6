"""The ranking core on tiny data with known answers. No database: numpy in, numpy out."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.ranking.als import ALSParams, FactorModel, ModelFileError, fit_als
from recommender.ranking.blend import SOURCES, BlendConfig, Candidates, blend
from recommender.ranking.diversity import mmr
from recommender.ranking.explain import closest, top_parts, typical_parts
from recommender.ranking.geo import area_affinity, closeness, distance_decay, haversine_km, nearest, usual_places
from recommender.ranking.matrix import IdIndex, MatrixBuilder, build_matrix
from recommender.ranking.neighbours import NeighbourParams, fit_item_neighbours, neighbour_scores


def checkerboard(users: int = 40, items: int = 30) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Even users like even items, odd users like odd items (implicit's test fixture idea)."""
    u, i = np.meshgrid(np.arange(users), np.arange(items), indexing="ij")
    mask = (u % 2) == (i % 2)
    rng = np.random.default_rng(1)
    mask &= rng.random(mask.shape) < 0.6  # leave some liked-group items unseen to recommend
    return u[mask] + 1000, i[mask] + 5000, np.ones(int(mask.sum()), dtype=np.float32)


@pytest.fixture(scope="module")
def model() -> FactorModel:
    matrix, users, items = build_matrix(*checkerboard())
    # Two factors: the checkerboard is rank 2, so ALS can represent it exactly.
    return fit_als(matrix, users, items, ALSParams(factors=2, iterations=20, regularization=0.01), version="test")


def test_id_index_maps_known_ids_and_marks_unknown_ones() -> None:
    index = IdIndex.from_ids([30, 10, 20, 10])
    assert index.ids.tolist() == [10, 20, 30]
    assert index.positions([20, 99, 10, 5]).tolist() == [1, -1, 0, -1]
    assert IdIndex.from_ids([]).positions([1]).tolist() == [-1]


def test_matrix_sums_repeated_events_and_drops_net_negative_pairs() -> None:
    matrix, users, items = build_matrix(
        np.array([1, 1, 1, 2, 2]), np.array([7, 7, 8, 7, 8]), np.array([1.0, 4.0, -5.0, 2.0, 1.0])
    )
    dense = matrix.toarray()
    assert dense[users.positions([1])[0], items.positions([7])[0]] == 5.0
    assert dense[users.positions([1])[0], items.positions([8])[0]] == 0.0  # skip/dislike outweighed
    assert matrix.nnz == 3


def per_pair_totals(users: np.ndarray, items: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, ...]:
    """What the database's GROUP BY (user, item) sends: one total per pair, in no particular order."""
    pairs, inverse = np.unique(np.stack([users, items], axis=1), axis=0, return_inverse=True)
    totals = np.bincount(inverse.ravel(), weights=weights)
    order = np.random.default_rng(3).permutation(len(pairs))
    return pairs[order, 0], pairs[order, 1], totals[order]


@pytest.mark.parametrize("chunks", [1, 3, 7])
def test_the_matrix_built_from_chunks_of_totals_is_the_matrix_of_the_events(chunks: int) -> None:
    rng = np.random.default_rng(2)
    users, items = rng.integers(100, 130, 400), rng.integers(1, 25, 400)
    weights = rng.choice([1.0, 3.0, -1.0, -4.0], 400)  # some pairs net negative: kept out, their users kept in
    expected, expected_users, expected_items = build_matrix(users, items, weights)
    u, i, t = per_pair_totals(users, items, weights)
    builder = MatrixBuilder(IdIndex.from_ids(items), capacity=10)  # too small: it grows
    for part in np.array_split(np.arange(100, 131), chunks):  # ascending, disjoint ranges of users
        inside = (u >= part[0]) & (u <= part[-1])
        builder.add(u[inside], i[inside], t[inside].astype(np.float32))

    matrix, built_users, built_items = builder.finish()

    assert built_users.ids.tolist() == expected_users.ids.tolist()
    assert built_items.ids.tolist() == expected_items.ids.tolist()
    assert matrix.has_sorted_indices and matrix.indices.dtype == np.int32 and matrix.data.dtype == np.float32
    assert (matrix != expected).nnz == 0 and matrix.nnz == expected.nnz


def test_the_chunked_builder_keeps_ids_beyond_32_bits() -> None:
    big_user, big_item = 3_000_000_000, 5_000_000_000
    builder = MatrixBuilder(IdIndex.from_ids([7, big_item]), capacity=2)
    builder.add(np.array([1, big_user]), np.array([big_item, 7]), np.array([2.0, 3.0], dtype=np.float32))
    matrix, users, items = builder.finish()
    assert users.ids.tolist() == [1, big_user] and items.ids.tolist() == [7, big_item]
    assert matrix.toarray().tolist() == [[0.0, 2.0], [3.0, 0.0]]


def test_the_chunked_builder_drops_unknown_items_and_refuses_users_out_of_order() -> None:
    builder = MatrixBuilder(IdIndex.from_ids([7, 8]), capacity=4)
    builder.add(np.array([1, 2, 2]), np.array([7, 9, 8]), np.array([1.0, 5.0, 2.0], dtype=np.float32))
    with pytest.raises(ValueError, match="ascending"):
        builder.add(np.array([2]), np.array([7]), np.array([1.0], dtype=np.float32))
    matrix, users, items = builder.finish()
    assert matrix.toarray().tolist() == [[1.0, 0.0], [0.0, 2.0]] and users.ids.tolist() == [1, 2]
    assert items.ids.tolist() == [7, 8]


def test_als_recommends_the_users_own_side_of_the_checkerboard(model: FactorModel) -> None:
    u, i, w = checkerboard()
    for user in range(1000, 1040):
        seen = i[u == user]
        vector = model.fold_in_user(seen, w[u == user])
        assert vector is not None
        scores = model.scores(vector)
        scores[model.items.positions(seen)] = -np.inf
        unseen_own_side = sum(1 for item in range(5000, 5030) if item % 2 == user % 2 and item not in seen)
        top = model.items.ids[np.argsort(-scores)[: min(3, unseen_own_side)]]
        assert all((item - 5000) % 2 == (user - 1000) % 2 for item in top), (user, top)


@pytest.mark.parametrize("consume", [False, True])
def test_fit_als_trains_exactly_what_implicit_trains_on_its_own(consume: bool) -> None:
    # fit_als draws the starting factors in place and, when it may consume the matrix, scales it
    # by alpha in place instead of implicit's copies (training memory, issue #8): same model bit for bit.
    from implicit.cpu.als import AlternatingLeastSquares

    params = ALSParams(factors=3, iterations=4, regularization=0.1, alpha=2.5, seed=7)
    matrix, users, items = build_matrix(*checkerboard())
    matrix.data *= np.linspace(0.5, 3.0, matrix.nnz, dtype=np.float32)  # confidences of many sizes
    original = matrix.copy()
    reference = AlternatingLeastSquares(
        factors=3, iterations=4, regularization=0.1, alpha=2.5, random_state=7, use_cg=False
    )
    reference.fit(original.copy(), show_progress=False)
    trained = fit_als(matrix, users, items, params, version="t", consume=consume)
    assert np.array_equal(trained.user_factors, reference.user_factors)
    assert np.array_equal(trained.item_factors, reference.item_factors)
    assert trained.item_support.tolist() == np.bincount(original.indices, minlength=original.shape[1]).tolist()
    # Handed over, the values were scaled in place; otherwise the caller's matrix is untouched.
    expected = original.data * np.float32(2.5) if consume else original.data
    assert np.array_equal(matrix.data, expected)
    assert np.array_equal(matrix.indices, original.indices)


def test_fold_in_solves_the_als_user_step_exactly(model: FactorModel) -> None:
    items = np.array([5000, 5002, 5004])
    conf = np.array([1.0, 3.0, 2.0])
    x = model.fold_in_user(items, conf)
    assert x is not None
    y = model.item_factors.astype(np.float64)
    c = np.zeros(len(model.items))
    c[model.items.positions(items)] = model.params.alpha * conf
    # Gradient of Σ_i c_i(1 − x·y_i)² + Σ_{i∉h}(x·y_i)² + λ|x|²  is zero at the solution.
    p = (c > 0).astype(float)
    weight = np.where(c > 0, c, 1.0)
    grad = -2 * (y.T @ (weight * (p - y @ x))) + 2 * model.params.regularization * x
    assert np.abs(grad).max() < 1e-3


def test_fold_in_reproduces_a_training_users_factors(model: FactorModel) -> None:
    u, i, w = checkerboard()
    user = 1003
    x = model.fold_in_user(i[u == user], w[u == user])
    trained = model.user_factors[model.users.positions([user])[0]]
    assert x is not None
    assert np.corrcoef(x, trained)[0, 1] > 0.99


def test_a_history_of_unknown_items_gives_no_user_vector(model: FactorModel) -> None:
    assert model.fold_in_user(np.array([1, 2]), np.array([1.0, 1.0])) is None


def test_saved_model_loads_back_identical(model: FactorModel, tmp_path: Path) -> None:
    path = tmp_path / "places" / "model.npz"
    model.save(path)
    loaded = FactorModel.load(path)
    assert loaded.version == "test"
    assert np.array_equal(loaded.item_factors, model.item_factors)
    assert np.array_equal(loaded.items.ids, model.items.ids)
    assert loaded.params == model.params
    assert [p.name for p in path.parent.iterdir()] == ["model.npz"]  # no temp files left behind


def test_a_model_with_nan_factors_is_rejected(model: FactorModel) -> None:
    bad = model.item_factors.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ModelFileError, match="NaN"):
        FactorModel(model.version, model.users, model.items, model.user_factors, bad, model.item_support, model.params)


def test_a_model_whose_id_map_does_not_match_its_factors_is_rejected(model: FactorModel, tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="item factors"):
        FactorModel(
            model.version,
            model.users,
            IdIndex.from_ids([1, 2, 3]),
            model.user_factors,
            model.item_factors,
            np.zeros(3, dtype=np.int64),
            model.params,
        )
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a model")
    with pytest.raises(ModelFileError):
        FactorModel.load(garbage)


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_a_truncated_model_file_is_a_model_file_error(model: FactorModel, tmp_path: Path, keep: float) -> None:
    # A disk that filled up or a partial copy: the archive itself is broken, which numpy reports
    # as zipfile's BadZipFile (or an EOFError / zlib error inside a member), not an OSError.
    path = tmp_path / "model.npz"
    model.save(path)
    whole = path.read_bytes()
    path.write_bytes(whole[: int(len(whole) * keep)])
    with pytest.raises(ModelFileError, match=str(path)):
        FactorModel.load(path)


def candidates(**overrides: object) -> Candidates:
    base: dict[str, object] = {
        "item_ids": np.array([1, 2, 3]),
        "scores": {s: np.array([0.5, 0.5, 0.5]) for s in SOURCES},
        "item_support": np.array([50, 50, 50]),
    }
    base.update(overrides)
    return Candidates(**base)  # type: ignore[arg-type]


def test_a_user_without_history_gets_no_collaborative_score() -> None:
    result = blend(candidates(), user_history=0, config=BlendConfig())
    assert np.all(result.parts["collaborative"] == 0)
    assert np.all(result.parts["interest"] > 0) and np.all(result.parts["popularity"] > 0)


def test_collaborative_weight_grows_with_the_users_history() -> None:
    config = BlendConfig()
    few = blend(candidates(), user_history=2, config=config).parts["collaborative"][0]
    many = blend(candidates(), user_history=50, config=config).parts["collaborative"][0]
    assert 0 < few < many


def test_a_brand_new_item_leans_on_content_not_collaborative_scores() -> None:
    result = blend(candidates(item_support=np.array([0, 50, 50])), user_history=50, config=BlendConfig())
    assert result.parts["collaborative"][0] == 0
    assert result.parts["content"][0] > result.parts["content"][1]


def test_parts_always_add_up_to_the_total() -> None:
    rng = np.random.default_rng(3)
    c = candidates(
        scores={s: rng.random(3) for s in SOURCES},
        distance_km=np.array([0.1, 5.0, np.nan]),
        multiplier=np.array([1.0, 2.0, 0.5]),
    )
    result = blend(c, user_history=4, config=BlendConfig())
    assert np.allclose(sum(result.parts.values()), result.total)


def test_nearer_places_outrank_farther_ones_with_equal_scores() -> None:
    result = blend(candidates(distance_km=np.array([8.0, 0.3, np.nan])), user_history=3, config=BlendConfig())
    assert result.total[1] > result.total[0]
    assert result.parts["distance"][2] == 0  # unknown distance: no penalty


def test_places_nothing_else_is_known_about_are_ordered_by_nearness_alone() -> None:
    nothing = {s: np.zeros(3) for s in SOURCES}
    c = candidates(scores=nothing, item_support=np.zeros(3), distance_km=np.array([8.0, 0.3, np.nan]))
    result = blend(c, user_history=3, config=BlendConfig(proximity=0.02))
    assert result.total[1] > result.total[0] > 0
    assert result.total[2] == 0  # unknown distance is no evidence
    assert np.allclose(sum(result.parts.values()), result.total)
    assert np.all(blend(c, user_history=3, config=BlendConfig(proximity=0.0)).total == 0)


def test_a_usual_area_guessed_from_little_history_counts_for_less_than_a_given_location() -> None:
    c = candidates(distance_km=np.array([0.2, 20.0, np.nan]))
    config = BlendConfig(usual_area_half=5.0)

    def near_minus_far(history: int, usual_area: bool) -> float:
        result = blend(replace(c, usual_area=usual_area), user_history=history, config=config)
        assert np.allclose(sum(result.parts.values()), result.total)
        return float(result.total[0] - result.total[1])

    assert 0 < near_minus_far(1, usual_area=True) < 0.5 * near_minus_far(1, usual_area=False)
    assert near_minus_far(500, usual_area=True) == pytest.approx(near_minus_far(500, usual_area=False), rel=0.02)


def test_area_affinity_is_the_share_of_history_in_each_items_area() -> None:
    # Three visits in 성수동, one in 연남동: a café in 성수동 gets 3/4, one elsewhere 0, unknown NaN.
    history = np.array(["성수동", "연남동", "", "성수동"], dtype=object)
    weights = np.array([2.0, 1.0, 5.0, 1.0])  # the area-less visit does not dilute the shares
    share = area_affinity(history, weights, np.array(["성수동", "연남동", "서교동", ""], dtype=object))
    assert share is not None
    assert share[:3].tolist() == pytest.approx([0.75, 0.25, 0.0])
    assert np.isnan(share[3])
    assert area_affinity(np.array(["", ""], dtype=object), np.ones(2), np.array(["성수동"], dtype=object)) is None


def test_closeness_is_distance_decay_where_known_else_the_area_share() -> None:
    distance = np.array([0.0, 2.0, np.nan, np.nan])
    share = np.array([0.0, 0.0, 0.75, np.nan])  # a known distance wins over the item's district
    near = closeness(distance, 2.0, share, 4)
    assert near[:3].tolist() == pytest.approx([1.0, 0.5, 0.75])
    assert np.isnan(near[3])
    assert np.isnan(closeness(None, 2.0, None, 2)).all()


def test_without_coordinates_the_usual_district_stands_in_for_distance() -> None:
    # Equal evidence; item 0 is in the person's only district, item 1 elsewhere, item 2 unknown,
    # item 3 has a distance, which wins over its district.
    c = candidates(
        item_ids=np.arange(4),
        scores={s: np.full(4, 0.5) for s in SOURCES},
        item_support=np.full(4, 10.0),
        distance_km=np.array([np.nan, np.nan, np.nan, 30.0]),
        usual_area=True,
        area_affinity=np.array([1.0, 0.0, np.nan, 1.0]),
    )
    config = BlendConfig(geo_strength=1.0, usual_area_half=5.0)
    result = blend(c, user_history=5, config=config)
    assert result.total[0] > result.total[2] > result.total[1]  # unknown: neither favoured nor penalised
    assert result.total[3] < result.total[2]  # 30 km away, whatever its district
    assert result.parts["distance"][2] == 0
    assert np.allclose(sum(result.parts.values()), result.total)
    # Trusted as much as the history it comes from: one item of history moves it less than many.
    gap = [float(np.subtract(*blend(c, user_history=h, config=config).total[:2])) for h in (1, 50)]
    assert 0 < gap[0] < gap[1]


def test_below_full_geo_strength_nearness_alone_never_outweighs_real_evidence() -> None:
    scores = {s: np.zeros(2) for s in SOURCES}
    scores["content"] = np.array([0.0, 0.2])
    c = candidates(
        item_ids=np.array([1, 2]), scores=scores, item_support=np.zeros(2), distance_km=np.array([0.0, 30.0])
    )
    result = blend(c, user_history=3, config=BlendConfig(geo_strength=0.5))
    assert result.total[1] > result.total[0]


def test_at_full_geo_strength_a_far_place_keeps_only_its_decayed_share() -> None:
    # The default: distance decay scales the whole score, so 30 km away (15 halvings at 2 km) a
    # place with evidence falls below one next door with none, and 2 km away it keeps half.
    scores = {s: np.zeros(3) for s in SOURCES}
    scores["content"] = np.array([0.0, 0.2, 0.2])
    c = candidates(
        item_ids=np.arange(3), scores=scores, item_support=np.zeros(3), distance_km=np.array([0.0, 30.0, 2.0])
    )
    config = BlendConfig()
    assert config.geo_strength == 1.0
    result = blend(c, user_history=3, config=config)
    assert result.total[0] > result.total[1]
    evidence = result.parts["content"][2]
    assert result.total[2] == pytest.approx(evidence / 2 + config.proximity / 2)
    assert np.allclose(sum(result.parts.values()), result.total)


def test_missing_and_negative_evidence_adds_nothing() -> None:
    scores = {s: np.array([np.nan, -0.4, 0.2]) for s in SOURCES}
    result = blend(candidates(scores=scores), user_history=10, config=BlendConfig())
    assert result.total[0] == 0 and result.total[1] == 0 and result.total[2] > 0


def test_mmr_keeps_near_duplicates_apart() -> None:
    a = np.array([1.0, 0.0])
    b = np.array([0.0, 1.0])
    vectors = np.stack([a, a, b, a])
    relevance = np.array([1.0, 0.99, 0.8, 0.98])
    assert mmr(relevance, vectors, k=2, trade_off=0.5).tolist() == [0, 2]
    assert mmr(relevance, vectors, k=2, trade_off=1.0).tolist() == [0, 1]
    assert mmr(relevance, None, k=10, trade_off=0.5).tolist() == [0, 1, 3, 2]


def test_haversine_and_decay() -> None:
    d = haversine_km(0.0, 0.0, np.array([0.0, 1.0, np.nan]), np.array([1.0, 0.0, 0.0]))
    assert d[0] == pytest.approx(111.19, abs=0.05) and d[1] == pytest.approx(111.19, abs=0.05)
    assert np.isnan(d[2])
    assert distance_decay(np.array([0.0, 2.0, np.nan]), 2.0).tolist() == [1.0, 0.5, 1.0]


def test_usual_places_are_the_located_liked_ones_heaviest_first() -> None:
    chosen = usual_places(
        np.array([37.0, 38.0, np.nan, 36.0, 35.0]),
        np.array([127.0, 128.0, 1.0, 126.0, 125.0]),
        np.array([1.0, 3.0, 5.0, 2.0, -1.0]),  # no coordinates; a net dislike
        limit=2,
    )
    assert chosen.tolist() == [1, 3]
    assert len(usual_places(np.array([np.nan]), np.array([np.nan]), np.array([1.0]))) == 0
    same_spot = usual_places(np.array([37.0, 38.0, 37.0]), np.array([127.0, 127.0, 127.0]), np.array([1.0, 2.0, 3.0]))
    assert same_spot.tolist() == [2, 1]  # two liked clips of one place count once, as the heavier


def test_distance_counts_from_the_nearest_usual_place_not_their_midpoint() -> None:
    home, work = (37.50, 127.00), (37.60, 127.00)  # about 11 km apart
    items_lat, items_lon = np.array([37.50, 37.60, 37.55, 37.59, np.nan]), np.array([127.0] * 5)
    d, which = nearest(np.array([home[0], work[0]]), np.array([home[1], work[1]]), items_lat, items_lon)
    assert d[0] == pytest.approx(0.0) and d[1] == pytest.approx(0.0)  # at home, at work
    assert d[2] == pytest.approx(5.56, abs=0.05)  # the midpoint is the far one
    assert which.tolist() == [0, 1, 0, 1, -1] and np.isnan(d[4])  # ties go to the heavier (first) place
    one, _ = nearest(np.array([home[0]]), np.array([home[1]]), items_lat, items_lon)
    assert np.allclose(one[:4], haversine_km(home[0], home[1], items_lat[:4], items_lon[:4]))
    none, which = nearest(np.array([]), np.array([]), items_lat, items_lon)
    assert np.isnan(none).all() and (which == -1).all()


def test_closest_evidence_and_top_parts() -> None:
    items = np.array([[1.0, 0.0], [0.0, 1.0]])
    evidence = np.array([[0.0, 1.0], [1.0, 0.0]])
    index, sim = closest(items, evidence)
    assert index.tolist() == [1, 0] and sim.tolist() == [1.0, 1.0]
    none_index, none_sim = closest(items, np.zeros((0, 2)))
    assert none_index.tolist() == [-1, -1] and np.isnan(none_sim).all()
    parts = {"content": np.array([0.2]), "interest": np.array([0.5]), "distance": np.array([-0.1])}
    assert top_parts(parts, 0) == [("interest", 0.5), ("content", 0.2)]


def test_a_reason_names_what_lifts_an_item_above_the_ordinary_candidate() -> None:
    # Every candidate is about as popular (0.5); item 0 alone matches the person's search well.
    parts = {
        "popularity": np.array([0.50, 0.50, 0.48, 0.52, 0.90, 0.50]),
        "interest": np.array([0.30, 0.00, 0.04, 0.00, 0.00, 0.01]),
        "distance": np.array([-0.1, 0.0, -0.2, 0.0, 0.0, 0.0]),
    }
    typical = typical_parts(parts)
    assert typical == {"popularity": 0.5, "interest": pytest.approx(0.005), "distance": 0.0}
    assert top_parts(parts, 0)[0] == ("popularity", 0.5)  # the largest part...
    assert top_parts(parts, 0, typical=typical) == [("interest", 0.3), ("popularity", 0.5)]  # ...shared by all
    # Far more popular than the rest: popularity is what singles item 4 out.
    assert top_parts(parts, 4, typical=typical)[0] == ("popularity", 0.9)
    # A faint match (under a tenth of the score) is no reason; then the largest part leads, and a
    # negative part never appears.
    assert top_parts(parts, 5, typical=typical) == [("popularity", 0.5), ("interest", 0.01)]
    assert top_parts(parts, 2, typical=typical) == [("popularity", 0.48), ("interest", 0.04)]
    # A part with no finite value counts as 0 for an ordinary candidate.
    assert typical_parts({"curator": np.array([np.nan, np.nan])}) == {"curator": 0.0}


def test_the_similarity_floor_rescales_squeezed_cosines_so_content_can_compete() -> None:
    squeezed = candidates(
        scores={"content": np.array([0.95, 0.90, 0.85]), "popularity": np.array([0.0, 0.5, 1.0])},
        item_support=np.array([0, 0, 0]),
    )
    plain = blend(squeezed, user_history=3, config=BlendConfig(popularity=0.2))
    floored = blend(squeezed, user_history=3, config=BlendConfig(popularity=0.2, similarity_floor=0.85))
    assert np.argmax(plain.total) == 2  # popularity swamps cosines that differ by 0.1
    assert np.argmax(floored.total) == 0  # measured against the model's floor, content decides
    assert floored.parts["content"][2] == 0


def test_similarity_floor_is_the_mean_cosine_of_random_pairs() -> None:
    rng = np.random.default_rng(0)
    shared = rng.normal(size=64)
    vectors = np.stack([shared + 0.3 * rng.normal(size=64) for _ in range(200)])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    pairwise = vectors @ vectors.T
    expected = (pairwise.sum() - np.trace(pairwise)) / (200 * 199)
    from recommender.ranking.blend import similarity_floor

    assert similarity_floor(vectors) == pytest.approx(expected, abs=0.02)
    assert similarity_floor(vectors[:1]) == 0.0
    orthogonal = np.eye(10)
    assert similarity_floor(orthogonal) == 0.0


VISIT, VIEW = 6.0, 1.0


def co_visits() -> sp.csr_matrix:
    """Four people: 0 went to items 0 and 1, 1 to 0, 1 and 2, 2 to 2 and 3; 3 went to 1 and was only
    shown 3 (a view: net weight 1)."""
    rows = [0, 0, 1, 1, 1, 2, 2, 3, 3]
    cols = [0, 1, 0, 1, 2, 2, 3, 1, 3]
    values = [VISIT] * 8 + [VIEW]
    return sp.csr_matrix((np.asarray(values, np.float32), (rows, cols)), shape=(4, 4))


def test_item_neighbours_are_co_visits_over_the_cosine_norm_and_views_do_not_count() -> None:
    sims = fit_item_neighbours(co_visits(), NeighbourParams(shrink=0.0)).toarray()
    # Users per item: 2, 3, 2, 1 (a view of item 3 is no visit). 0 and 1 share 2 people: 2/sqrt(2*3).
    assert sims[0, 1] == pytest.approx(2 / np.sqrt(6)) and sims[1, 0] == pytest.approx(2 / np.sqrt(6))
    assert sims[0, 2] == pytest.approx(1 / 2) and sims[2, 3] == pytest.approx(1 / np.sqrt(2))
    assert sims[1, 3] == 0 and sims[0, 3] == 0  # shown item 3 in a list: that links it to nothing
    assert np.all(np.diag(sims) == 0)  # an item is not its own neighbour
    damped = fit_item_neighbours(co_visits(), NeighbourParams(shrink=1.0)).toarray()
    assert damped[0, 1] == pytest.approx(2 / (np.sqrt(6) + 1))
    # Asymmetric: co-visits over n_i^a * n_j^(1-a); a = 1 divides by the row item's count alone.
    by_row = fit_item_neighbours(co_visits(), NeighbourParams(shrink=0.0, asymmetry=1.0)).toarray()
    assert by_row[0, 1] == pytest.approx(2 / 2) and by_row[1, 0] == pytest.approx(2 / 3)
    every_entry = fit_item_neighbours(co_visits(), NeighbourParams(shrink=0.0, min_weight=1.0)).toarray()
    assert every_entry[1, 3] > 0  # with the threshold at a view, the view counts


def test_item_neighbours_keep_the_k_nearest_whatever_the_block_size() -> None:
    whole = fit_item_neighbours(co_visits(), NeighbourParams(k=1, shrink=0.0))
    assert np.diff(whole.indptr).tolist() == [1, 1, 1, 1]
    assert whole.toarray().argmax(axis=1).tolist() == [1, 0, 3, 2]
    rng = np.random.default_rng(3)
    visits = sp.random(60, 40, density=0.2, random_state=rng, format="csr", dtype=np.float32)
    one_block = fit_item_neighbours(visits, NeighbourParams(k=5, block=1024)).toarray()
    small_blocks = fit_item_neighbours(visits, NeighbourParams(k=5, block=7)).toarray()
    assert np.allclose(one_block, small_blocks) and np.all((one_block > 0).sum(axis=1) <= 5)
    given = co_visits()
    fit_item_neighbours(given)
    assert given.data.tolist() == co_visits().data.tolist()  # the training matrix is left as it was


def test_neighbour_scores_sum_the_history_items_rows_and_peak_at_one() -> None:
    sims = fit_item_neighbours(co_visits(), NeighbourParams(shrink=0.0))
    scores = neighbour_scores(sims, np.array([0, -1]), np.array([VISIT, VISIT]), 3.0)  # -1: not in the model
    assert scores is not None
    assert scores.tolist() == pytest.approx([0.0, 1.0, (1 / 2) / (2 / np.sqrt(6)), 0.0])
    assert neighbour_scores(sims, np.array([-1]), np.array([VISIT]), 3.0) is None
    assert neighbour_scores(sims, np.array([0]), np.array([VIEW]), 3.0) is None  # only shown: no history


def test_the_neighbours_share_mixes_them_into_the_collaborative_score() -> None:
    als, near = np.array([0.8, 0.2, np.nan]), np.array([0.0, 1.0, np.nan])
    parts = {
        share: blend(
            candidates(scores={"collaborative": als, "neighbours": near}),
            user_history=1000,
            config=BlendConfig(neighbours=share, item_support_half=0, user_history_half=0),
        ).parts["collaborative"]
        for share in (0.0, 0.5, 1.0)
    }
    assert parts[0.0].tolist() == pytest.approx([0.8, 0.2, 0.0])
    assert parts[0.5].tolist() == pytest.approx([0.4, 0.6, 0.0])
    assert parts[1.0].tolist() == pytest.approx([0.0, 1.0, 0.0])


def test_a_model_keeps_its_neighbours_through_save_and_load(model: FactorModel, tmp_path: Path) -> None:
    matrix, _, _ = build_matrix(*checkerboard())  # every event of weight 1
    with_neighbours = replace(model, neighbours=fit_item_neighbours(matrix, NeighbourParams(min_weight=1.0)))
    with_neighbours.save(tmp_path / "m.npz")
    loaded = FactorModel.load(tmp_path / "m.npz")
    assert loaded.neighbours is not None
    assert (loaded.neighbours != with_neighbours.neighbours).nnz == 0
    liked = model.items.ids[:1]  # an even item: its neighbours are the even items
    scores = loaded.neighbour_scores(liked, np.ones(1))
    assert scores is not None and np.all(scores[1::2] == 0) and scores[2::2].max() == 1.0
    model.save(tmp_path / "old.npz")  # written as before neighbours existed
    assert FactorModel.load(tmp_path / "old.npz").neighbour_scores(liked, np.ones(1)) is None
    with pytest.raises(ModelFileError, match="neighbours"):
        replace(model, neighbours=sp.csr_matrix((2, 2), dtype=np.float32))
    assert with_neighbours.neighbours is not None
    corrupt = with_neighbours.neighbours.copy()
    corrupt.indices[0] = len(model.items) + 5  # an item that does not exist
    with pytest.raises(ModelFileError, match="do not exist"):
        replace(model, neighbours=corrupt)
