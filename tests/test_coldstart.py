"""New items: collaborative factors predicted from text (recommender.ranking.coldstart), no database.

The known answer: a catalogue whose ALS factors are an exact linear function of the item text
vectors; the map must recover that function and predict the factors of items it never saw.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recommender.ranking import coldstart
from recommender.ranking.als import ALSParams, FactorModel, ModelFileError, fit_als
from recommender.ranking.blend import SOURCES, BlendConfig, Candidates, blend
from recommender.ranking.coldstart import AttributeMap, fit_attribute_map
from recommender.ranking.matrix import build_matrix


def linear_catalogue(n: int = 200, d: int = 8, k: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, d))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    true_map = rng.normal(size=(d, k))
    return vectors, vectors @ true_map + 0.25, true_map


def test_the_map_recovers_a_linear_relation_and_predicts_unseen_items() -> None:
    vectors, factors, _ = linear_catalogue()
    support = np.full(len(vectors), 10)
    support[150:] = 0  # "new": not fitted on
    mapping = fit_attribute_map(vectors, factors, support, regularization=1e-6)
    assert mapping is not None
    predicted = mapping.predict(vectors[150:])
    assert np.allclose(predicted, factors[150:], atol=1e-3)


def test_the_map_is_the_weighted_ridge_solution_whatever_the_block_size(monkeypatch: pytest.MonkeyPatch) -> None:
    vectors, factors, _ = linear_catalogue(n=300, d=6, k=2, seed=4)
    factors += np.random.default_rng(5).normal(scale=0.3, size=factors.shape)  # not exactly linear
    support = np.random.default_rng(6).integers(0, 40, len(vectors))
    keep = support >= 2
    x = np.hstack([vectors[keep], np.ones((int(keep.sum()), 1))])
    w = np.log1p(support[keep])[:, None]
    penalty = np.eye(7)
    penalty[-1, -1] = 0.0
    expected = np.linalg.solve(x.T @ (w * x) + penalty, x.T @ (w * factors[keep]))  # in one piece
    for block in (7, 64, 10_000):
        monkeypatch.setattr(coldstart, "GRAM_BLOCK_ROWS", block)
        mapping = fit_attribute_map(vectors.astype(np.float32), factors, support)
        assert mapping is not None and np.allclose(mapping.weights, expected, atol=1e-5), block


def test_items_without_enough_support_do_not_teach_the_map() -> None:
    vectors, factors, _ = linear_catalogue()
    noisy = factors.copy()
    noisy[:50] = 100.0  # garbage factors, but on items nobody used twice
    support = np.full(len(vectors), 10)
    support[:50] = 1
    mapping = fit_attribute_map(vectors, noisy, support, min_support=2, regularization=1e-6)
    assert mapping is not None
    assert np.allclose(mapping.predict(vectors[:50]), factors[:50], atol=1e-3)


def test_too_few_known_items_or_misaligned_inputs_give_no_map() -> None:
    vectors, factors, _ = linear_catalogue(n=30)
    assert fit_attribute_map(vectors, factors, np.full(30, 10), min_items=31) is None
    assert fit_attribute_map(vectors, factors[:-1], np.full(30, 10)) is None
    assert fit_attribute_map(vectors, factors, np.zeros(30)) is None


def test_missing_text_predicts_nothing_and_wrong_widths_are_refused() -> None:
    vectors, factors, _ = linear_catalogue()
    mapping = fit_attribute_map(vectors, factors, np.full(len(vectors), 10))
    assert mapping is not None
    with_gap = vectors[:3].copy()
    with_gap[1] = np.nan
    predicted = mapping.predict(with_gap)
    assert np.all(predicted[1] == 0) and np.any(predicted[0] != 0)
    with pytest.raises(ValueError, match="dimensions"):
        mapping.predict(vectors[:, :4])
    with pytest.raises(ValueError, match="finite"):
        AttributeMap(np.full((9, 3), np.nan, dtype=np.float32))


def candidates(support: list[int], predicted: list[float] | None) -> Candidates:
    n = len(support)
    return Candidates(
        item_ids=np.arange(n),
        scores={s: np.zeros(n) for s in SOURCES},
        item_support=np.asarray(support),
        predicted=None if predicted is None else np.asarray(predicted),
    )


def test_a_predicted_score_lifts_a_new_item_and_counts_as_collaborative() -> None:
    config = BlendConfig(predicted=0.5)
    without = blend(candidates([0, 0], None), user_history=20, config=config)
    lifted = blend(candidates([0, 0], [0.8, 0.0]), user_history=20, config=config)
    assert without.total[0] == 0
    assert lifted.total[0] > lifted.total[1] == 0
    assert lifted.parts["collaborative"][0] == pytest.approx(lifted.total[0])
    assert np.allclose(sum(lifted.parts.values()), lifted.total)


def test_the_prediction_gives_way_to_real_factors_as_an_item_gains_users() -> None:
    config = BlendConfig(predicted=0.5, item_support_half=5.0)
    weights = [blend(candidates([s], [0.8]), user_history=20, config=config).total[0] for s in (0, 5, 50, 5000)]
    assert weights == sorted(weights, reverse=True)
    assert weights[-1] < 0.01 * weights[0]


def test_no_history_or_zero_trust_means_no_predicted_part() -> None:
    assert blend(candidates([0], [0.8]), user_history=0, config=BlendConfig()).total[0] == 0
    assert blend(candidates([0], [0.8]), user_history=20, config=BlendConfig(predicted=0.0)).total[0] == 0
    assert blend(candidates([0], [-0.8]), user_history=20, config=BlendConfig()).total[0] == 0  # only ever adds


@pytest.fixture(scope="module")
def model_with_map() -> FactorModel:
    rng = np.random.default_rng(2)
    users = rng.integers(0, 60, 900)
    items = rng.integers(0, 40, 900)
    matrix, user_index, item_index = build_matrix(users, items, np.ones(900, dtype=np.float32))
    model = fit_als(matrix, user_index, item_index, ALSParams(factors=4, iterations=5), version="with-map")
    vectors = rng.normal(size=(len(item_index), 6))
    mapping = fit_attribute_map(vectors, model.item_factors, model.item_support, min_items=10)
    assert mapping is not None
    return FactorModel(
        model.version,
        model.users,
        model.items,
        model.user_factors,
        model.item_factors,
        model.item_support,
        model.params,
        {"attribute_map_model": "test-model"},
        mapping,
    )


def test_the_map_is_saved_and_loaded_with_the_model(model_with_map: FactorModel, tmp_path: Path) -> None:
    path = tmp_path / "m.npz"
    model_with_map.save(path)
    loaded = FactorModel.load(path)
    assert loaded.attribute_map is not None and model_with_map.attribute_map is not None
    assert np.array_equal(loaded.attribute_map.weights, model_with_map.attribute_map.weights)
    assert loaded.meta["attribute_map_model"] == "test-model"


def test_a_model_without_a_map_still_loads(model_with_map: FactorModel, tmp_path: Path) -> None:
    plain = FactorModel(
        "plain",
        model_with_map.users,
        model_with_map.items,
        model_with_map.user_factors,
        model_with_map.item_factors,
        model_with_map.item_support,
        model_with_map.params,
    )
    plain.save(tmp_path / "plain.npz")
    assert FactorModel.load(tmp_path / "plain.npz").attribute_map is None


def test_a_map_of_the_wrong_width_or_with_nan_is_rejected(model_with_map: FactorModel, tmp_path: Path) -> None:
    m = model_with_map
    with pytest.raises(ModelFileError, match="another width"):
        FactorModel(
            "bad", m.users, m.items, m.user_factors, m.item_factors, m.item_support, m.params,
            attribute_map=AttributeMap(np.zeros((7, m.factors + 1), dtype=np.float32)),
        )  # fmt: skip
    m.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as data:
        arrays = {name: data[name] for name in data.files}
    arrays["attribute_map"] = np.full_like(arrays["attribute_map"], np.nan)
    np.savez(tmp_path / "nan.npz", **arrays)
    with pytest.raises(ModelFileError):
        FactorModel.load(tmp_path / "nan.npz")
