"""Inspect or stop the embedded PostgreSQL used when DATABASE_URL is unset."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from recommender import embedded_db


class Command(BaseCommand):
    help = "Show whether the embedded PostgreSQL runs and where it keeps its data, or stop it."
    requires_system_checks: list[str] = []  # settings did not start the server for this command

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["status", "stop"])

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.EMBEDDED_DATABASE:
            raise CommandError("DATABASE_URL is set: the app uses an external PostgreSQL, not the embedded one")
        data_dir = settings.DATA_DIR / "postgres"
        if options["action"] == "stop":
            stopped = embedded_db.stop(data_dir)
            self.stdout.write("stopped" if stopped else "was not running")
        elif embedded_db.is_running(data_dir):
            self.stdout.write(f"running, data in {data_dir}")
        else:
            self.stdout.write(f"not running, data in {data_dir}")
