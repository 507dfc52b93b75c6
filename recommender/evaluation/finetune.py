"""Fine-tune a sentence-transformers embedder on a catalogue's own TRAINING data.

Training pairs come from the same seeded split ``evaluate`` uses (:func:`split_pairs`, same
seed), so no test pair of that split ever reaches the model:

- ``doc``: a review or tag on a TRAINING (user, item) pair → that item's base text (name,
  district, keywords), the text the item is embedded from. Pairs are the same truncated texts
  :func:`recommender.evaluation.item_vectors` embeds.
- ``co-liked``: base text of item A → base text of item B, both positive TRAINING items of one
  user (a few seeded pairs per user). New items and cold users have no training pair, so they
  never appear.

Pairs are deduplicated, each text is used a bounded number of times (so one frequent tag or
popular item cannot dominate, and in-batch negatives stay distinct), the result is capped at
``max_pairs`` (half each kind when both have enough), all seeded.

The model is trained with MultipleNegativesRankingLoss (in-batch negatives, batches without
duplicate texts) through ``SentenceTransformerTrainer`` and saved atomically as a normal
sentence-transformers folder with a ``finetune.json`` manifest: dataset, seed and a fingerprint
of the training pairs. :func:`leak_problem` uses it so ``evaluate`` refuses to score a split
whose test pairs the model was trained on, and :func:`cache_name` gives every fine-tuning run its
own embedding-cache key (a re-trained folder at the same path must not reuse old vectors).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from recommender.evaluation.datasets import MAX_DOC_CHARS, MAX_TEXT_CHARS, Dataset
from recommender.evaluation.split import Split, split_pairs

MANIFEST = "finetune.json"
PAIR_KINDS = ("doc", "co-liked")


@dataclass(frozen=True)
class Pair:
    """One (anchor, positive) training pair and where it came from.

    ``user`` and ``items`` name the TRAINING (user, item) pairs it was built from: one item for a
    doc pair, the two co-liked items (anchor's, positive's) for a co-liked pair.
    """

    anchor: str
    positive: str
    kind: str  # "doc" or "co-liked"
    user: int
    items: tuple[int, ...]


def dataset_split(dataset: Dataset, seed: int) -> Split:
    """Exactly the split ``evaluate`` makes for ``seed``."""
    return split_pairs(dataset.users, dataset.items, dataset.weights, dataset.n_users, dataset.n_items, seed=seed)


def train_fingerprint(dataset: Dataset, split: Split) -> str:
    """SHA-1 of the sorted training (user key, item key) pairs: which pairs a model may have seen."""
    users, items = dataset.users[split.train].tolist(), dataset.items[split.train].tolist()
    rows = sorted(f"{dataset.user_keys[u]}\t{dataset.item_keys[i]}" for u, i in zip(users, items, strict=True))
    return hashlib.sha1("\n".join(rows).encode(), usedforsecurity=False).hexdigest()


def _capped(candidates: Iterable[Pair], per_text: int) -> list[Pair]:
    """Candidates in order, skipping any whose anchor or positive is already used ``per_text`` times."""
    used: Counter[str] = Counter()
    kept = []
    for pair in candidates:
        if used[pair.anchor] < per_text and used[pair.positive] < per_text:
            used[pair.anchor] += 1
            used[pair.positive] += 1
            kept.append(pair)
    return kept


def _alternate(first: list[Pair], second: list[Pair]) -> Iterator[Pair]:
    """first[0], second[0], first[1], second[1], …: both kinds share the per-text budget fairly."""
    for a, b in itertools.zip_longest(first, second):
        if a is not None:
            yield a
        if b is not None:
            yield b


def _shuffled(pairs: list[Pair], rng: np.random.Generator) -> list[Pair]:
    return [pairs[j] for j in rng.permutation(len(pairs))]


def build_pairs(
    dataset: Dataset,
    split: Split,
    *,
    seed: int,
    max_pairs: int = 20_000,
    kinds: tuple[str, ...] = PAIR_KINDS,
    co_liked_per_user: int = 5,
    per_text: int = 25,
) -> list[Pair]:
    """Deduplicated, seeded training pairs from the TRAINING pairs of ``split`` only (see module doc)."""
    if dataset.item_base_text is None:
        raise ValueError(f"{dataset.name} has no item text to fine-tune on")
    unknown = set(kinds) - set(PAIR_KINDS)
    if unknown or not kinds:
        raise ValueError(f"pair kinds must be among {PAIR_KINDS}, not {kinds!r}")
    if max_pairs < 1:
        raise ValueError("max_pairs must be positive")
    rng = np.random.default_rng(seed)
    base = [t[:MAX_TEXT_CHARS] for t in dataset.item_base_text]
    train = split.train

    docs: list[Pair] = []
    if "doc" in kinds:
        train_pairs = set(zip(dataset.users[train].tolist(), dataset.items[train].tolist(), strict=True))
        seen: set[tuple[str, int]] = set()
        for user, item, text in dataset.docs:
            doc = text[:MAX_DOC_CHARS].strip()
            if (user, item) not in train_pairs or not doc or not base[item].strip() or doc == base[item]:
                continue
            if (doc, item) not in seen:  # the same tag on one artist from many users is one pair
                seen.add((doc, item))
                docs.append(Pair(doc, base[item], "doc", user, (item,)))

    co_liked: list[Pair] = []
    if "co-liked" in kinds:
        positive = train & (dataset.weights > 0)
        users, items = dataset.users[positive], dataset.items[positive]
        order = np.argsort(users, kind="stable")
        users, items = users[order], items[order]
        bounds = np.flatnonzero(np.diff(users)) + 1
        seen_items: set[tuple[int, int]] = set()
        for chunk_u, chunk_i in zip(np.split(users, bounds), np.split(items, bounds), strict=True):
            if len(chunk_i) < 2:
                continue
            liked = chunk_i[rng.permutation(len(chunk_i))].tolist()
            # Disjoint neighbours in a seeded order: up to co_liked_per_user pairs, no item twice.
            for a, b in list(zip(liked[0::2], liked[1::2], strict=False))[:co_liked_per_user]:
                key = (min(a, b), max(a, b))
                if key in seen_items or base[a] == base[b] or not base[a].strip() or not base[b].strip():
                    continue
                seen_items.add(key)
                co_liked.append(Pair(base[a], base[b], "co-liked", int(chunk_u[0]), (a, b)))

    kept = _capped(_alternate(_shuffled(docs, rng), _shuffled(co_liked, rng)), per_text)
    docs = [p for p in kept if p.kind == "doc"]
    co_liked = [p for p in kept if p.kind == "co-liked"]
    n_co = min(len(co_liked), max(max_pairs // 2, max_pairs - len(docs)))
    n_docs = min(len(docs), max_pairs - n_co)
    return docs[:n_docs] + co_liked[:n_co]


def pair_counts(pairs: Iterable[Pair]) -> dict[str, int]:
    counts = Counter(p.kind for p in pairs)
    return {kind: counts.get(kind, 0) for kind in PAIR_KINDS}


@dataclass
class FineTuneResult:
    output: Path
    pairs: dict[str, int]
    epochs: int
    steps: int
    seconds: float
    manifest: dict[str, Any]

    def fit(self) -> dict[str, dict[str, float]]:
        """:func:`pair_fit` before and after training."""
        return dict(self.manifest["fit"])


def pair_fit(model: Any, pairs: list[Pair], n: int = 256, seed: int = 0) -> dict[str, float]:
    """How well ``model`` fits a seeded sample of (at most ``n``) training pairs.

    "top1": share of anchors whose nearest positive in the sample is their own (a duplicate text
    counts); "pair" / "random": mean cosine of the pairs and of mismatched ones. A training-fit
    check, not a quality measure (only ``evaluate`` says whether ranking improves): "top1"
    should rise; a "random" cosine that jumps towards "pair" means the space narrowed into a
    cone (everything similar), which rankings, being relative, may or may not survive.
    """
    rng = np.random.default_rng(seed)
    sample = [pairs[j] for j in sorted(rng.choice(len(pairs), size=min(n, len(pairs)), replace=False))]
    a = np.asarray(model.encode([p.anchor for p in sample], normalize_embeddings=True, show_progress_bar=False))
    b = np.asarray(model.encode([p.positive for p in sample], normalize_embeddings=True, show_progress_bar=False))
    nearest = np.argmax(a @ b.T, axis=1)
    top1 = np.mean([sample[j].positive == p.positive for p, j in zip(sample, nearest.tolist(), strict=True)])
    return {
        "top1": round(float(top1), 4),
        "pair": round(float(np.sum(a * b, axis=1).mean()), 4),
        "random": round(float(np.sum(a * np.roll(b, 1, axis=0), axis=1).mean()), 4),
    }


def fine_tune(
    pairs: list[Pair],
    base_path: str,
    output: Path,
    *,
    base_name: str,
    dataset: Dataset,
    split: Split,
    seed: int = 0,
    epochs: int = 1,
    batch_size: int = 32,
    learning_rate: float = 2e-5,
    threads: int | None = None,
    overwrite: bool = False,
    progress: TextIO | None = None,
) -> FineTuneResult:
    """Fine-tune ``base_path`` on ``pairs`` with in-batch negatives; save to ``output`` atomically.

    The model is written to a temporary sibling folder and renamed into place only when it is
    complete; an existing ``output`` is replaced only with ``overwrite``. ``threads`` pins torch's
    CPU threads while training (restored afterwards); ``progress=None`` hides the trainer's bar.
    """
    import torch
    from datasets import Dataset as HFDataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers import SentenceTransformerTrainingArguments as TrainingArguments
    from sentence_transformers.base.sampler import BatchSamplers
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss

    if not pairs:
        raise ValueError("no training pairs")
    if output.exists() and any(output.iterdir()) and not overwrite:
        raise FileExistsError(f"{output} exists and is not empty")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")  # no fork warnings; torch threads do the work
    previous_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    started = time.monotonic()
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.parent / f".{output.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        model = SentenceTransformer(base_path, device="cpu")
        fit_before = pair_fit(model, pairs, seed=seed)
        train_dataset = HFDataset.from_dict(
            {"anchor": [p.anchor for p in pairs], "positive": [p.positive for p in pairs]}
        )
        planned = max(1, -(-len(pairs) // batch_size)) * epochs
        args = TrainingArguments(
            output_dir=str(tmp / "trainer"),
            num_train_epochs=epochs,
            per_device_train_batch_size=batch_size,
            learning_rate=learning_rate,
            warmup_steps=0.1,  # a ratio of all steps (transformers >= 5)
            batch_sampler=BatchSamplers.NO_DUPLICATES,  # a duplicate in a batch is a false negative
            seed=seed,
            data_seed=seed,
            use_cpu=True,
            dataloader_pin_memory=False,
            save_strategy="no",
            report_to="none",
            logging_steps=max(1, planned // 10),
            disable_tqdm=progress is None,
        )
        loss = MultipleNegativesRankingLoss(model)
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=train_dataset, loss=loss)
        trainer.train()
        seconds = round(time.monotonic() - started, 1)
        counts, steps = pair_counts(pairs), int(trainer.state.global_step)
        fit = {"before": fit_before, "after": pair_fit(model, pairs, seed=seed)}
        manifest: dict[str, Any] = {
            "dataset": dataset.name,
            "seed": seed,
            "train_fingerprint": train_fingerprint(dataset, split),
            "base": base_name,
            "pairs": counts,
            "epochs": epochs,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "steps": steps,
            "seconds": seconds,
            "fit": fit,
            "run_id": uuid.uuid4().hex,
            "loss": "MultipleNegativesRankingLoss (in-batch negatives, no duplicate texts per batch)",
        }
        model_dir = tmp / "model"
        model.save(str(model_dir))
        (model_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _replace_dir(model_dir, output)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        torch.set_num_threads(previous_threads)
    return FineTuneResult(output, counts, epochs, steps, seconds, manifest)


def _replace_dir(new: Path, target: Path) -> None:
    """Move the complete folder ``new`` to ``target``; an old ``target`` is moved aside first."""
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
        target.rename(old)
    try:
        new.rename(target)
    except OSError:
        if old is not None:
            old.rename(target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# --- for evaluate -----------------------------------------------------------------------------


def read_manifest(model: str) -> dict[str, Any] | None:
    """The fine-tuning manifest of a model folder, or None (a packaged or other model)."""
    path = Path(model) / MANIFEST
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else None


def leak_problem(manifest: dict[str, Any], dataset: Dataset, seed: int) -> str | None:
    """Why evaluating ``dataset`` with ``seed`` would score pairs the model was trained on, or None.

    A model fine-tuned on this dataset must be evaluated on the split whose training pairs it
    saw (same data, same seed): another split's test pairs overlap those training pairs.
    """
    if manifest.get("dataset") != dataset.name:
        return None
    if manifest.get("train_fingerprint") == train_fingerprint(dataset, dataset_split(dataset, seed)):
        return None
    return (
        f"this model was fine-tuned on the training pairs of {manifest.get('dataset')} with seed "
        f"{manifest.get('seed')}; evaluating with seed {seed} (or other data) would score test pairs it was "
        f"trained on. Use --seed {manifest.get('seed')} with the same data, or fine-tune again with --seed {seed}."
    )


def cache_name(model: str, manifest: dict[str, Any] | None) -> str:
    """The embedding-cache key: a fine-tuned folder's key names its run, so retraining never reuses vectors."""
    return f"{model}@{manifest['run_id']}" if manifest and manifest.get("run_id") else model
