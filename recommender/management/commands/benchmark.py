"""``python manage.py benchmark [suite ...] [--scale smoke|full] [--json out.json]``.

Runs the suites in ``bench/`` and prints, per suite, each figure as measured, baseline, ratio
(median, min, max), target and PASS/MISS, plus its quality checks. Targets are reported, never
enforced: the exit status is 0 whatever the figures (machines are shared). Adds rows tagged
``source='bench'`` (users ``bench-…``) and a ``bench_vectors`` table: use a dedicated database.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from bench.harness import SuiteResult, format_table, machine_info, write_json

SUITES = ("als", "feed_http", "embeddings", "vectors", "memory")


class Command(BaseCommand):
    help = "Benchmark the recommender against baselines measured in the same run (ratios, not times)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("suites", nargs="*", metavar="suite", help=f"any of {', '.join(SUITES)} (default: all)")
        parser.add_argument("--scale", choices=["smoke", "full"], default="full")
        parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")

    def handle(self, *args: Any, **options: Any) -> None:
        suites = options["suites"] or list(SUITES)
        unknown = sorted(set(suites) - set(SUITES))
        if unknown:
            raise CommandError(f"unknown suite {', '.join(unknown)}; choose from {', '.join(SUITES)}")
        # A dedicated, possibly brand-new database (a fresh DATA_DIR): bring its schema up first.
        call_command("migrate", interactive=False, verbosity=0)
        results: list[SuiteResult] = []
        with tqdm(total=len(suites), desc="suites", unit="suite", disable=options["verbosity"] == 0) as bar:
            for name in suites:
                bar.set_postfix_str(name)
                with tqdm(desc=f"  {name} steps", unit="run", leave=False, disable=options["verbosity"] == 0) as steps:
                    result = import_module(f"bench.{name}").run(options["scale"], on_step=steps.update)
                results.append(result)
                self.stdout.write(format_table(result) + "\n")
                if options["json"]:  # written after each suite, so a late failure keeps earlier figures
                    write_json(options["json"], results, machine_info())
                bar.update()
