"""``manage.py load_demo``: load the seeded, redistributable demo data set.

Idempotent: a second run with the same options leaves the same rows. ``--reset`` deletes all
demo rows first. Also creates the demo-only login ``demo`` / ``demo`` with a little history.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from tqdm import tqdm

from recommender import demo

STAGES = 6  # generate, keywords, places, clips, users, activity


class Command(BaseCommand):
    help = (
        "Load generated demo data (Seoul places, clips, people, interactions, reviews, searches). "
        "Creates the demo-only login demo/demo. Never run against a database real people use."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
        parser.add_argument("--users", type=int, default=60, help="number of demo people (default 60)")
        parser.add_argument("--places", type=int, default=150, help="number of places (default 150)")
        parser.add_argument("--reset", action="store_true", help="delete existing demo rows first")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.monotonic()
        for name in ("users", "places"):
            if options[name] < 0:
                raise CommandError(f"--{name} must not be negative")
        with tqdm(total=STAGES, desc="demo data", unit="step", disable=options["no_progress"]) as bar:

            def progress(stage: str, rows: int) -> None:
                bar.set_postfix_str(f"{stage}: {rows}")
                bar.update(1)

            data = demo.generate(seed=options["seed"], users=options["users"], places=options["places"])
            progress("generated", len(data.places) + len(data.clips) + len(data.users))
            with transaction.atomic():
                if options["reset"]:
                    deleted = demo.delete_demo_data()
                    bar.write(f"deleted {sum(deleted.values())} demo rows", file=sys.stderr)
                demo.write_demo_data(data, progress=progress)
        counts = demo.demo_counts()
        elapsed = time.monotonic() - started
        width = max(len(label) for label in counts)
        lines = [f"Demo data (seed {options['seed']}) loaded in {elapsed:.1f}s:"]
        lines += [f"  {label:<{width}}  {count}" for label, count in counts.items()]
        lines.append(f"Demo-only login: username {demo.DEMO_LOGIN_USERNAME!r}, password {demo.DEMO_LOGIN_PASSWORD!r}.")
        self.stdout.write("\n".join(lines))
