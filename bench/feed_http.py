"""The feed endpoint over HTTP, served by gunicorn, against a plain Django view on the same server.

Both paths go through the same gunicorn (2 sync workers, 127.0.0.1, a free port), the same
middleware and the same client; the baseline (``/bench/plain/``, defined in ``bench.urls``) sends
a saved feed response without computing it. Closed-loop clients (threads + http.client, a fixed
number of requests each and a time limit) at 1, 8 and 32 concurrency.
Targets at 8 clients: p50 ≤ 3x, p99 ≤ 5x; zero errors at 32; quality: ≥ 99% of feed responses
hold ``limit`` items.

The server runs as deployed: feeds cached in Redis (``recommender/feed_cache.py``,
``FEED_CACHE_SECONDS`` at its default), so a person asking again gets the computed feed back.
The suite reports how many measured feed requests were cache hits, and also measures a second
server with the cache off (``FEED_CACHE_SECONDS=0``: every feed computed) at 8 clients, so the
cost of computing a feed stays visible.
"""

from __future__ import annotations

import http.client
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis
from django.conf import settings
from django.contrib.auth.models import User
from rest_framework_simplejwt.tokens import AccessToken

from bench import als, data, server
from bench.harness import Comparison, SuiteResult, interleave, percentile

ROOT = Path(__file__).resolve().parent.parent
FEED = "/api/v1/feed/places/?limit=20"
PLAIN = "/bench/plain/"
LIMIT = 20
# Requests per client per run, by concurrency: bounded, so a slow server cannot stall the suite.
REQUESTS: dict[str, dict[int, int]] = {"smoke": {1: 3, 8: 1, 32: 1}, "full": {1: 20, 8: 12, 32: 4}}
TIME_LIMIT = {"smoke": 30.0, "full": 120.0}  # seconds per run, whatever is left of its requests
REPETITIONS = 5
CACHE_URL = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/12")  # flushed by the suite


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    errors: int = 0
    full_feeds: int = 0  # responses holding LIMIT items
    cache_hits: int = 0  # responses served from the feed cache (X-Feed-Cache: hit)
    seconds: float = 0.0


@contextmanager
def gunicorn(env_extra: dict[str, str], log: Path) -> Iterator[int]:
    """A gunicorn (2 workers) serving ``bench.wsgi`` on a free loopback port; stopped on exit."""
    env = {
        "JWT_SIGNING_KEY": str(settings.SIMPLE_JWT["SIGNING_KEY"]),
        "MODEL_ARTIFACTS_DIR": str(settings.MODEL_ARTIFACTS_DIR),
        **server.UNTHROTTLED,
        **env_extra,
    }
    with server.gunicorn(data.database_url(), log, app="bench.wsgi:application", env=env) as port:
        yield port


def _get(port: int, target: str, token: str | None) -> tuple[int, bytes, bool]:
    """Status, body and whether the feed cache answered."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", target, headers={"Authorization": f"Bearer {token}"} if token else {})
        response = conn.getresponse()
        return response.status, response.read(), response.getheader("X-Feed-Cache") == "hit"
    finally:
        conn.close()


def load(port: int, target: str, tokens: list[str], clients: int, per_client: int, time_limit: float) -> Run:
    """``clients`` threads, each sending ``per_client`` requests back to back (closed loop)."""
    run = Run()
    lock = threading.Lock()
    deadline = time.monotonic() + time_limit

    def client(index: int) -> None:
        for j in range(per_client):
            if time.monotonic() > deadline:
                return
            started = time.perf_counter()
            try:
                status, body, hit = _get(port, target, tokens[(index * per_client + j) % len(tokens)])
                full = status == 200 and len(json.loads(body).get("items", [])) == LIMIT
            except (OSError, ValueError):
                status, full, hit = 0, False, False
            elapsed = time.perf_counter() - started
            with lock:
                if status == 200:
                    run.latencies.append(elapsed)
                    run.full_feeds += full
                    run.cache_hits += hit
                else:
                    run.errors += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.seconds = time.perf_counter() - started
    return run


def ensure_model(scale: str) -> list[str]:
    """Bench data and a live place model; access tokens of bench users with a history."""
    generated, loaded = als.ensure_live_model(scale)
    active = loaded.user_ids[sorted(set(generated.users[:2000].tolist()))[:64]]
    return [str(AccessToken.for_user(user)) for user in User.objects.filter(pk__in=active.tolist())]


def _compare(
    port: int,
    tokens: list[str],
    clients: int,
    per_client: int,
    scale: str,
    on_step: Callable[[], None] | None,
    *,
    suffix: str = "",
    targets: bool = True,
) -> tuple[list[Comparison], list[Run], list[Run]]:
    """Feed vs plain at ``clients`` concurrency: p50 (interleaved), p99 and requests/s."""
    runs: dict[str, list[Run]] = {"baseline": [], "measured": []}

    def side(label: str, target: str) -> float:
        r = load(port, target, tokens, clients, per_client, TIME_LIMIT[scale])
        runs[label].append(r)
        return percentile(r.latencies, 50) * 1000

    p50 = interleave(
        f"p50 latency, {clients} clients{suffix}",
        lambda: side("baseline", PLAIN),
        lambda: side("measured", FEED),
        repetitions=REPETITIONS,
        unit="ms",
        target=3.0 if targets and clients == 8 else None,
        on_step=on_step,
    )
    # The warm-up pair is not in p50's samples; drop it here too.
    base, meas = runs["baseline"][1:], runs["measured"][1:]
    p99 = Comparison(
        f"p99 latency, {clients} clients{suffix}",
        "ms",
        [percentile(r.latencies, 99) * 1000 for r in meas],
        [percentile(r.latencies, 99) * 1000 for r in base],
        target=5.0 if targets and clients == 8 else None,
    )
    rate = Comparison(
        f"requests/s, {clients} clients{suffix}",
        "/s",
        [len(r.latencies) / r.seconds for r in meas],
        [len(r.latencies) / r.seconds for r in base],
        goal="higher",
    )
    return [p50, p99, rate], meas, base


def _bodies(port: int, tokens: list[str]) -> list[bytes]:
    return [_get(port, FEED, token)[1] for token in tokens]


def run(scale: str, on_step: Callable[[], None] | None = None) -> SuiteResult:
    result = SuiteResult("feed_http", scale)
    tokens = ensure_model(scale)
    workdir = Path(tempfile.mkdtemp(prefix="bench-feed-"))
    body_file = workdir / "plain.json"
    feed_runs: list[Run] = []
    cache = redis.Redis.from_url(CACHE_URL)
    cache.flushdb()
    cached_env = {"BENCH_PLAIN_BODY": str(body_file), "CACHE_URL": CACHE_URL}
    with gunicorn(cached_env, workdir / "gunicorn.log") as port:
        status, body, _ = _get(port, FEED, tokens[0])
        if status != 200:
            raise RuntimeError(f"feed answered {status}: {body[:500]!r}")
        body_file.write_bytes(body)
        for clients, per_client in REQUESTS[scale].items():
            comparisons, meas, base = _compare(port, tokens, clients, per_client, scale, on_step)
            result.comparisons += comparisons
            result.info[f"errors_{clients}_clients"] = {
                "feed": sum(r.errors for r in meas),
                "plain": sum(r.errors for r in base),
            }
            feed_runs += meas
        sample = tokens[:8]
        from_cache = _bodies(port, sample)
    cache.flushdb()
    # The same app with the cache off: what computing every feed costs.
    with gunicorn({**cached_env, "FEED_CACHE_SECONDS": "0"}, workdir / "gunicorn-uncached.log") as port:
        computed = _bodies(port, sample)
        clients = 8
        comparisons, meas, base = _compare(
            port, tokens, clients, REQUESTS[scale][clients], scale, on_step, suffix=", cache off", targets=False
        )
        result.comparisons += comparisons
        result.info["errors_8_clients_cache_off"] = {"feed": sum(r.errors for r in meas)}
        uncached_answered = sum(len(r.latencies) for r in meas)
    cache.flushdb()
    errors_32 = result.info["errors_32_clients"]
    result.check("errors at 32 clients", errors_32["feed"] + errors_32["plain"], "lower", 0)
    answered = sum(len(r.latencies) for r in feed_runs)
    result.check("feeds with limit items", sum(r.full_feeds for r in feed_runs) / max(answered, 1), "higher", 0.99)
    same = sum(json.loads(a) == json.loads(b) for a, b in zip(from_cache, computed, strict=True))
    result.check("cached feed = computed feed", same / len(sample), "higher", 0.99)
    result.info.update(
        server="gunicorn, 2 sync workers, feeds cached in Redis",
        feed_requests=answered,
        cache_hit_share=round(sum(r.cache_hits for r in feed_runs) / max(answered, 1), 3),
        feed_requests_cache_off=uncached_answered,
        body_bytes=len(body),
    )
    return result
