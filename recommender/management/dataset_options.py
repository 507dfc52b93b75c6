"""The dataset arguments ``evaluate`` and ``finetune_embedder`` share, and loading from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser

from recommender.evaluation.datasets import DATASETS, DEFAULT_FOLDERS, Dataset, load
from recommender.models import DEFAULT_KIND_WEIGHTS


def add_dataset_arguments(parser: CommandParser) -> None:
    parser.add_argument("dataset", choices=DATASETS)
    parser.add_argument("--path", type=Path, help="dataset folder (default ../shared/data/<folder>)")
    parser.add_argument(
        "--item-type",
        choices=("place", "clip"),
        help="generic: rank this type's items (a folder holding both needs it)",
    )


def load_dataset(options: dict[str, Any], **load_options: Any) -> tuple[Dataset, Path]:
    """The dataset the options name, and its folder; a CommandError says what is missing or wrong."""
    name: str = options["dataset"]
    if name == "generic" and options["path"] is None:
        raise CommandError("the generic format needs --path FOLDER (interactions.csv + items.csv)")
    if options.get("item_type") and name != "generic":
        raise CommandError(f"--item-type is for the generic format; {name} has one item type")
    if name == "generic":
        load_options["item_type"] = options.get("item_type")
    folder: Path = options["path"] or Path(settings.BASE_DIR).parent / "shared" / "data" / DEFAULT_FOLDERS[name]
    if not folder.is_dir():
        raise CommandError(f"dataset folder not found: {folder}")
    try:
        weights = {str(k): v for k, v in DEFAULT_KIND_WEIGHTS.items()}
        dataset = load(name, folder, weights, **load_options)
    except (OSError, KeyError, ValueError) as exc:
        raise CommandError(f"cannot read {name} from {folder}: {exc!r}") from exc
    if not len(dataset.users):
        raise CommandError(f"{folder}: no interactions")
    return dataset, folder
