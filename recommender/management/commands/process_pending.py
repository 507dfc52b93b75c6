"""Work through everything the pipeline still has to do, with a progress bar.

With ``--inline`` the tasks run in this process (no broker needed: the same task code a worker
runs). Without it, the command asks the workers to sweep and watches the pending counts fall.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from workers import tasks


def pending_counts() -> dict[str, int]:
    return {kind: queryset.count() for kind, queryset in tasks.pending_work().items()}


class Command(BaseCommand):
    help = "Extract keywords and compute embeddings for every pending review, search, place, clip and keyword."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--inline", action="store_true", help="run the tasks here instead of on the workers")
        parser.add_argument("--timeout", type=float, default=3600.0, help="give up after this many seconds")
        parser.add_argument("--batch", type=int, default=64, help="inline: rows per step")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch"] < 1:
            raise CommandError("--batch must be at least 1")
        if options["timeout"] <= 0:
            raise CommandError("--timeout must be more than 0 seconds")
        started = time.monotonic()
        counts = pending_counts()
        total = sum(counts.values())
        if not total:
            self.stdout.write("Nothing pending.")
            return
        bar = tqdm(total=total, desc="pending work", unit="row", file=self.stderr)
        done = 0
        while True:
            remaining = sum(counts.values())
            bar.total = max(bar.total or 0, done + remaining)  # embeddings go stale as keywords land
            bar.set_postfix({kind: n for kind, n in counts.items() if n})
            if not remaining:
                break
            if time.monotonic() - started > options["timeout"]:
                bar.close()
                raise CommandError(f"timed out with {remaining} rows still pending: {counts}")
            if options["inline"]:
                self._step_inline(options["batch"])
            else:
                tasks.sweep_pending.delay()
                time.sleep(2.0)
            new_counts = pending_counts()
            progressed = max(remaining - sum(new_counts.values()), 0)
            done += progressed
            bar.update(progressed)
            counts = new_counts
        bar.close()
        failed = tasks.Review.objects.exclude(extraction_failed_key="").count()
        self.stdout.write(
            f"Done in {time.monotonic() - started:.1f} s: {done} rows processed, {failed} reviews failed."
        )

    def _step_inline(self, batch: int) -> None:
        pending = tasks.pending_work()
        for review_id in pending["reviews"].values_list("pk", flat=True)[:batch]:
            tasks.extract_review_keywords(review_id)
        for query_id in pending["searches"].values_list("pk", flat=True)[:batch]:
            tasks.extract_query_keywords(query_id)
        for kind, task in (
            ("places", tasks.embed_places),
            ("clips", tasks.embed_clips),
            ("keywords", tasks.embed_keywords),
        ):
            ids = list(pending[kind].values_list("pk", flat=True)[: batch * 2])
            if ids:
                task(ids)
