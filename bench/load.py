"""A load test: locust people against a production server setup, then a check that nothing is lost.

gunicorn (``--workers``, DEBUG off, throttles lifted) serves the database Django uses right now;
``locust`` runs ``bench/locustfile.py`` headless with N concurrent people for S seconds (closed
loop, 50–250 ms think time). Reported per endpoint: requests, failures, p50/p95/p99 (ms). Checked
afterwards: every write the server acknowledged (reviews, searches, interactions) is stored.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import data, server

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class LoadResult:
    clients: int
    seconds: float
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    acknowledged: dict[str, int] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return sum(e["requests"] for e in self.endpoints if e["name"] != "Aggregated")

    @property
    def failures(self) -> int:
        return sum(e["failures"] for e in self.endpoints if e["name"] != "Aggregated")

    def table(self) -> str:
        lines = [f"{'endpoint':44} {'requests':>9} {'failures':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"]
        for e in self.endpoints:
            lines.append(
                f"{e['method'] + ' ' + e['name']:44.44} {e['requests']:>9} {e['failures']:>8} "
                f"{e['p50']:>7} {e['p95']:>7} {e['p99']:>7}"
            )
        return "\n".join(lines)


def _percentile(row: dict[str, str], name: str) -> int:
    value = row.get(name, "N/A")
    return int(float(value)) if value not in ("N/A", "") else 0


def run(clients: int = 50, seconds: float = 300, workers: int = 3, out_dir: Path | None = None) -> LoadResult:
    out_dir = out_dir or Path(tempfile.mkdtemp(prefix="load-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    acks = out_dir / "acks.jsonl"
    acks.unlink(missing_ok=True)
    env = {**server.UNTHROTTLED, "LLM_SUBMISSIONS_PER_DAY": "0", "LOAD_ACK_FILE": str(acks)}
    # Simulated people post far more than the daily LLM quota allows a real one.
    with server.gunicorn(data.database_url(), out_dir / "gunicorn.log", workers=workers, env=env) as port:
        subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
             "-u", str(clients), "-r", str(max(1, clients // 2)), "--run-time", f"{int(seconds)}s",
             "--host", f"http://127.0.0.1:{port}", "--csv", str(out_dir / "load"), "--only-summary",
             "--stop-timeout", "30", "--loglevel", "WARNING"],
            cwd=ROOT, env={**os.environ, **env}, check=False, timeout=seconds + 180,
        )  # fmt: skip
    result = LoadResult(clients=clients, seconds=seconds)
    with (out_dir / "load_stats.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            result.endpoints.append(
                {
                    "method": row["Type"],
                    "name": row["Name"],
                    "requests": int(row["Request Count"]),
                    "failures": int(row["Failure Count"]),
                    "p50": _percentile(row, "50%"),
                    "p95": _percentile(row, "95%"),
                    "p99": _percentile(row, "99%"),
                }
            )
    result.acknowledged, result.missing = verify(acks)
    return result


def verify(acks: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Every acknowledged write, looked up in the database: counts acknowledged and missing, by kind."""
    from places.models import Review
    from recommender.models import Interaction, SearchQuery

    wanted: dict[str, set[Any]] = {"review": set(), "search": set(), "interaction": set()}
    if acks.exists():
        for line in acks.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            wanted[entry["kind"]].add(entry["value"])
    found: dict[str, set[Any]] = {
        "review": set(Review.objects.filter(pk__in=wanted["review"]).values_list("pk", flat=True)),
        "search": set(SearchQuery.objects.filter(pk__in=wanted["search"]).values_list("pk", flat=True)),
        "interaction": set(
            Interaction.objects.filter(idempotency_key__in=wanted["interaction"]).values_list(
                "idempotency_key", flat=True
            )
        ),
    }
    return (
        {kind: len(values) for kind, values in wanted.items()},
        {kind: len(values - found[kind]) for kind, values in wanted.items()},
    )
