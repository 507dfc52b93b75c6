"""Run the whole app on one machine: migrate, load demo data, Celery workers + beat, the web server."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from places.models import Place
from recommender.models import ModelVersion


class Command(BaseCommand):
    help = (
        "Migrate, load demo data if the catalogue is empty, start Celery workers (one with beat, one for "
        "training and tuning), serve the web UI."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "addrport", nargs="?", default="127.0.0.1:8000", help="where to serve (default %(default)s)"
        )
        parser.add_argument("--no-demo", action="store_true", help="do not load demo data into an empty catalogue")
        parser.add_argument("--no-worker", action="store_true", help="do not start Celery workers and beat")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("database migrated")
        if not options["no_demo"] and not Place.objects.exists():
            call_command("load_demo", stdout=self.stdout, stderr=self.stderr)
        if not ModelVersion.objects.exists():
            call_command("train_model", stdout=self.stdout, stderr=self.stderr)
        self._ensure_demo_admin()

        workers = [] if options["no_worker"] else self._start_workers()
        try:
            call_command("runserver", options["addrport"], use_reloader=False)
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()

    def _ensure_demo_admin(self) -> None:
        """On the embedded dev default only, make an admin/admin account so /admin/ can be tried."""
        if not (settings.DEBUG and settings.EMBEDDED_DATABASE):
            return
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            return
        users.objects.create_superuser("admin", "admin@example.com", "admin")
        self.stdout.write(self.style.WARNING("created a demo superuser admin/admin (embedded dev database only)"))

    def _start_workers(self) -> list[subprocess.Popen[bytes]]:
        """One worker with beat for keywords and embeddings, one for training and tuning (minutes
        long): a tuning never holds up a new review's keywords."""
        schedule = settings.DATA_DIR / "celerybeat-schedule"
        base = [sys.executable, "-m", "celery", "-A", "recommender", "worker", "--loglevel=INFO", "--concurrency=1"]
        default, heavy = settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_HEAVY_QUEUE
        self.stdout.write(
            f"starting Celery workers for the queues {default!r} (with beat) and {heavy!r} "
            f"(broker {settings.CELERY_BROKER_URL.split('@')[-1]})"
        )
        workers = [
            subprocess.Popen(
                [*base, "--beat", f"--schedule={schedule}", "-Q", default, "-n", f"{default}@%h"],
                cwd=settings.BASE_DIR,
            )
        ]
        if heavy != default:
            workers.append(subprocess.Popen([*base, "-Q", heavy, "-n", f"{heavy}@%h"], cwd=settings.BASE_DIR))
        # Embed whatever is missing now rather than at the first beat tick.
        from workers.tasks import sweep_pending

        sweep_pending.delay()
        return workers
