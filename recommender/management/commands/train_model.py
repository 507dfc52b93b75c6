"""Train ALS models from the interactions in the database and publish them."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from recommender.models import ItemKind
from recommender.training import NotEnoughData, train_model


class Command(BaseCommand):
    help = "Train the ALS model of places, clips or both, and make the new versions live."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", nargs="?", choices=["place", "clip", "all"], default="all")
        parser.add_argument("--no-publish", action="store_true", help="train and record, but keep the live model")

    def handle(self, *args: Any, **options: Any) -> None:
        kinds = list(ItemKind) if options["kind"] == "all" else [ItemKind(options["kind"])]
        for kind in kinds:
            try:
                row = train_model(kind, publish_it=not options["no_publish"])
            except NotEnoughData as exc:
                self.stdout.write(self.style.WARNING(f"{kind}: {exc}"))
                continue
            state = "live" if row.is_live else "not published"
            self.stdout.write(
                f"{kind}: {row.version} ({state}) — {row.users} users × {row.items} items, "
                f"{row.interactions} interactions, {row.training_seconds:.1f} s"
            )
