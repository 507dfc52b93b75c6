"""``manage.py tune_blend [place|clip|all]``: auto-tune the blend on the database's own data now.

What the scheduled ``workers.tasks.tune_blends`` does (recommender/tuning.py), with progress bars;
``--train`` then trains and publishes, so the pick is served at once.
"""

from __future__ import annotations

import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommender.models import BlendTuning, ItemKind
from recommender.training import NotEnoughData, train_model
from recommender.tuning import TuningBusy, tune_catalogue


def describe(row: BlendTuning) -> str:
    text = f"{row.kind}: {row.status} — {row.note}"
    if row.blend:
        weights = ", ".join(f"{name} {value:g}" for name, value in row.blend.items())
        als = ", ".join(f"{name} {value:g}" for name, value in row.als.items())
        text += f"\n  blend: {weights}\n  ALS: {als}"
    text += (
        f"\n  {row.validation_users} validation people, {row.grid_size} settings tried, "
        f"{row.users} people × {row.items} items ({row.pairs} pairs), {row.seconds:.1f} s"
    )
    return text


class Command(BaseCommand):
    help = "Tune the blend weights and ALS settings on this catalogue's data (what the schedule does)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", nargs="?", choices=["place", "clip", "all"], default="all")
        parser.add_argument("--force", action="store_true", help="tune even if nothing changed since the last tuning")
        parser.add_argument("--train", action="store_true", help="then train and publish where the weights changed")
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.BLEND_AUTO_TUNE:
            raise CommandError("BLEND_AUTO_TUNE is off: a tuning would not be served (set BLEND_AUTO_TUNE=1)")
        kinds = list(ItemKind) if options["kind"] == "all" else [ItemKind(options["kind"])]
        progress = None if options["no_progress"] else sys.stderr
        for kind in kinds:
            try:
                done = tune_catalogue(kind, force=options["force"], progress=progress)
            except TuningBusy as exc:
                self.stdout.write(self.style.WARNING(f"{kind}: skipped, {exc}"))
                continue
            if not done.ran:
                self.stdout.write(
                    f"{kind}: nothing changed since tuning {done.row.pk} ({done.row.status}); --force tunes again"
                )
                continue
            self.stdout.write(describe(done.row))
            if options["train"] and done.changes_serving:
                try:
                    model = train_model(kind)
                except NotEnoughData as exc:
                    self.stdout.write(self.style.WARNING(f"{kind}: {exc}"))
                    continue
                self.stdout.write(f"{kind}: {model.version} is live with these weights")
