"""``manage.py import_data FORMAT PATH [--limit N] [--source NAME]``: load a dataset, idempotently."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from pathlib import Path
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from recommender.importers import FORMATS, get_importer
from recommender.importers.base import ImportContext, render_summary


class Command(BaseCommand):
    help = (
        "Import a dataset folder (places, clips, reviews, interactions, searches). Re-running is a no-op; "
        "malformed input aborts with file and line, leaving the database unchanged."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("format", choices=sorted(FORMATS), help="input format")
        parser.add_argument("path", type=Path, help="the dataset folder")
        parser.add_argument("--limit", type=int, default=None, help="read at most N rows per file")
        parser.add_argument("--source", default=None, help="source name stored on rows (generic: default 'csv')")

    def handle(self, *args: Any, **options: Any) -> None:
        fmt: str = options["format"]
        folder: Path = options["path"]
        limit: int | None = options["limit"]
        if limit is not None and limit < 1:
            raise CommandError("--limit must be a positive number")
        if not folder.is_dir():
            raise CommandError(f"not a folder: {folder}")
        source: str = options["source"] or FORMATS[fmt][1]
        if fmt != "generic" and options["source"] and options["source"] != FORMATS[fmt][1]:
            raise CommandError(f"--source is fixed to {FORMATS[fmt][1]!r} for format {fmt}")
        if ":" in source or not source.strip() or len(source) > 50:
            raise CommandError(f"--source {source!r} must be 1-50 characters without ':'")
        ctx = ImportContext(folder=folder, source=source, limit=limit, progress=cast(TextIO, self.stderr._out))
        started = time.monotonic()
        with transaction.atomic():
            get_importer(fmt)(ctx)
        self.stdout.write(render_summary(ctx))
        self.stdout.write(f"{fmt} import from {folder} done in {time.monotonic() - started:.1f}s")
