"""``python manage.py loadtest [--clients 50] [--seconds 300] [--json out.json]``.

Runs bench/load.py against this settings' database (load the demo or real data first): locust
people through gunicorn, then checks every acknowledged write is stored. Exits non-zero on any
failed request or lost write.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from bench import load


class Command(BaseCommand):
    help = "Load test: N concurrent people (locust) against gunicorn; p50/p95/p99 and a lost-write check."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clients", type=int, default=50)
        parser.add_argument("--seconds", type=float, default=300)
        parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
        parser.add_argument("--json", type=Path, help="also write the figures here")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["clients"] < 1 or options["seconds"] < 1:
            raise CommandError("--clients and --seconds must be at least 1")
        self.stdout.write(f"{options['clients']} people for {options['seconds']:.0f} s …")
        result = load.run(options["clients"], options["seconds"], options["workers"])
        self.stdout.write(result.table())
        self.stdout.write(f"acknowledged writes: {result.acknowledged}; missing: {result.missing}")
        if options["json"]:
            options["json"].write_text(json.dumps(result.__dict__, indent=2), encoding="utf-8")
        if result.failures or any(result.missing.values()) or not result.requests:
            raise CommandError(f"{result.failures} failed requests, missing writes {result.missing}")
