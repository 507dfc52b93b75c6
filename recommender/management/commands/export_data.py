"""``manage.py export_data PATH``: the catalogue and its activity in the generic CSV format."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError

from recommender.exporting import ITEM_TYPES, export_generic


class Command(BaseCommand):
    help = (
        "Write items.csv, interactions.csv, reviews.csv and searches.csv (docs/import-format.md) from one "
        "snapshot of the database: for import_data generic elsewhere, or evaluate generic --tune on your own data."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", type=Path, help="the folder to write (created if missing)")
        parser.add_argument(
            "--item-type", choices=ITEM_TYPES, help="only places or only clips, with their activity (default: both)"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")

    def handle(self, *args: Any, **options: Any) -> None:
        folder: Path = options["path"]
        if folder.exists() and not folder.is_dir():
            raise CommandError(f"not a folder: {folder}")
        started = time.monotonic()
        try:
            counts = export_generic(
                folder,
                item_type=options["item_type"],
                progress=None if options["no_progress"] else cast(TextIO, self.stderr._out),
            )
        except OSError as exc:
            raise CommandError(f"cannot write to {folder}: {exc.strerror or exc}") from exc
        summary = ", ".join(f"{name} {count:,}" for name, count in counts.items())
        self.stdout.write(f"exported to {folder} in {time.monotonic() - started:.1f}s: {summary}")
