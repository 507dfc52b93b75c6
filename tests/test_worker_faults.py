"""Fault drills on real processes: killed workers, a wiped Redis, a stopped worker lose no review.

Each drill runs a real Celery worker (prefork, 2 children) on a private Redis server, against the
test database, with the LLM stand-in answering every request after ~200 ms. Work is enqueued the
way production does it: by the sweep (``sweep_pending``), which claims rows in the database for
PIPELINE_CLAIM_SECONDS. The database, not the queue, is the record of what is pending, so:

- a SIGKILLed pool child: its task is rejected and redelivered at once (acks_late +
  reject_on_worker_lost);
- a SIGKILLed worker, or a Redis restarted empty: the messages it held are gone, the claims expire
  and the next sweep enqueues those reviews again. Redelivery takes at most the claim lease plus
  the sweep interval (PIPELINE_CLAIM_SECONDS + PIPELINE_SWEEP_SECONDS: 600 s + 30 s by default,
  10 s + 1 s here);
- a SIGTERMed worker finishes what it runs (warm shutdown) and leaves the rest in the queue.

``FAULT_DRILL_REVIEWS`` sets the size (40 by default; ``make reliability`` runs 1,000).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
from django.db.models import Count
from pytest_django.fixtures import Settings

from bench.server import free_port
from places.models import Review
from recommender.models import PlaceKeyword, ReviewKeyword
from tests.conftest import ROOT, database_url_for_subprocess, wait_for
from tests.factories import PlaceFactory, ReviewFactory, UserFactory
from tests.llm_standin import DEFAULT_KEYWORDS, LLMStandIn, Reply
from workers.keywording import active_extractor

REVIEWS = int(os.environ.get("FAULT_DRILL_REVIEWS", "40"))
CLAIM_SECONDS = 10
LLM_DELAY = 0.2
KEYWORDS_PER_REVIEW = len(DEFAULT_KEYWORDS["keywords"])


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


class RedisServer:
    """A private redis-server that keeps nothing on disk, so a restart starts it empty."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(cmd, cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_for(lambda: _pings(redis.Redis.from_url(self.url)), timeout=10), "redis-server did not start"

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()


def _pings(client: object) -> bool:
    try:
        return bool(client.ping())  # type: ignore[attr-defined]
    except Exception:
        return False


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class Drill:
    """The world of one drill: a Redis, a stand-in LLM, workers, and the test database."""

    def __init__(self, redis_server: RedisServer, llm: LLMStandIn, tmp_path: Path) -> None:
        self.redis = redis_server
        self.llm = llm
        self.tmp_path = tmp_path
        self.queue = f"drill-{uuid.uuid4().hex[:8]}"
        self.workers: list[Worker] = []

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": database_url_for_subprocess(),
            "CELERY_BROKER_URL": self.redis.url,
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "LLM_BASE_URL": self.llm.base_url,
            "LLM_MODEL": "stand-in",
            "LLM_TIMEOUT_SECONDS": "10",
            "PIPELINE_CLAIM_SECONDS": str(CLAIM_SECONDS),
            "OPENBLAS_NUM_THREADS": "1",
            "PYTHONUNBUFFERED": "1",
        }

    def start_worker(self) -> Worker:
        log_path = self.tmp_path / f"worker{len(self.workers)}.log"
        cmd = [
            sys.executable, "-m", "celery", "-A", "recommender", "worker", "--pool=prefork", "--concurrency=2",
            "--loglevel=INFO", "-Q", self.queue, "-n", f"{self.queue}-{len(self.workers)}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]  # fmt: skip
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(cmd, cwd=ROOT, env=self.env(), stdout=log_file, stderr=subprocess.STDOUT)
        worker = Worker(process, log_path)
        self.workers.append(worker)
        ready = wait_for(lambda: "ready." in worker.log() or process.poll() is not None, timeout=60)
        assert ready and process.poll() is None, f"worker did not start:\n{worker.log()}"
        return worker

    def sweep(self) -> None:
        """What beat does every PIPELINE_SWEEP_SECONDS: the worker claims and enqueues pending rows."""
        from recommender import celery_app
        from workers.tasks import sweep_pending

        with celery_app.connection_for_write(self.redis.url) as conn:
            cast(Any, sweep_pending).apply_async(connection=conn, queue=self.queue)

    def sweep_until_done(self, ids: list[int], timeout: float) -> float:
        """Sweep every second (as beat would, sped up) until every review is done; seconds taken."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if done(ids) == len(ids):
                return time.monotonic() - start
            self.sweep()
            time.sleep(1)
        return float("inf")

    def stop(self) -> None:
        for worker in self.workers:
            if worker.process.poll() is None:
                for pid in children_of(worker.process.pid):
                    os.kill(pid, signal.SIGKILL)
                worker.process.kill()
                worker.process.wait()


@pytest.fixture
def drill(transactional_db: None, llm_standin: LLMStandIn, tmp_path: Path, settings: Settings) -> Iterator[Drill]:
    if subprocess.run(["which", "redis-server"], capture_output=True).returncode != 0:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("redis-server is not installed")
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    llm_standin.script(Reply.slow(LLM_DELAY))
    settings.LLM_BASE_URL, settings.LLM_MODEL = llm_standin.base_url, "stand-in"  # the workers' extractor
    world = Drill(server, llm_standin, tmp_path)
    try:
        yield world
    finally:
        world.stop()
        server.kill()


def make_reviews(n: int) -> list[int]:
    place = PlaceFactory(name="강변 카페")
    users = [UserFactory() for _ in range(max(1, n // 10))]
    text = "조용한 카페, 강이 보이는 자리. Review {}"
    return [ReviewFactory(user=users[i % len(users)], place=place, text=text.format(i)).pk for i in range(n)]


def done(ids: list[int]) -> int:
    """Reviews whose keywords are stored for their current text and the active extractor."""
    extractor_id = active_extractor().id
    pending = Review.objects.needing_keywords(extractor_id).filter(pk__in=ids).count()
    return len(ids) - pending


def assert_nothing_lost_or_doubled(ids: list[int]) -> None:
    assert done(ids) == len(ids), "lost reviews"
    counts = ReviewKeyword.objects.filter(review_id__in=ids).values("review_id").annotate(n=Count("id"))
    assert {row["n"] for row in counts} == {KEYWORDS_PER_REVIEW}, "duplicate or missing keyword rows"
    assert len(counts) == len(ids)
    assert not Review.objects.filter(pk__in=ids).exclude(extraction_failed_key="").exists()
    # The place's profile counts every review: concurrent stores for one place lost no update.
    place_id = Review.objects.get(pk=ids[0]).place_id
    mentions = set(PlaceKeyword.objects.filter(place_id=place_id).values_list("count", flat=True))
    assert mentions == {len(ids)}


def test_killing_pool_children_and_the_whole_worker_loses_nothing_and_doubles_nothing(drill: Drill) -> None:
    ids = make_reviews(REVIEWS)
    first = drill.start_worker()
    drill.sweep()

    assert wait_for(lambda: done(ids) >= REVIEWS // 4, timeout=120), first.log()
    child = children_of(first.process.pid)[0]
    os.kill(child, signal.SIGKILL)  # a pool child dies (most likely mid-task: tasks are ~all LLM wait)
    assert wait_for(lambda: "signal 9" in first.log(), timeout=20), "the worker did not notice its child die"

    assert wait_for(lambda: done(ids) >= REVIEWS // 2, timeout=120), first.log()
    for pid in children_of(first.process.pid):
        os.kill(pid, signal.SIGKILL)
    os.kill(first.process.pid, signal.SIGKILL)  # then the whole worker, with what it had fetched
    first.process.wait()
    killed_at = done(ids)

    drill.start_worker()
    seconds = drill.sweep_until_done(ids, timeout=CLAIM_SECONDS * 6 + 60)

    assert_nothing_lost_or_doubled(ids)
    calls = len(drill.llm.chat_requests())
    kills = 1 + 1  # one pool child, one worker
    in_flight = 2  # a killed worker's two children may each have had a call in flight
    assert calls <= REVIEWS + kills + in_flight, f"{calls} LLM calls for {REVIEWS} reviews"
    print(f"\n[drill] {REVIEWS} reviews; {killed_at} done when the worker was killed; the rest "
          f"finished {seconds:.1f} s later; {calls} LLM calls")  # fmt: skip


def test_a_redis_restarted_empty_only_delays_work_the_sweep_finds_it_again(drill: Drill) -> None:
    ids = make_reviews(REVIEWS)
    drill.start_worker()
    drill.sweep()
    assert wait_for(lambda: done(ids) >= REVIEWS // 3, timeout=120)

    drill.redis.kill()  # every queued message is gone
    drill.redis.start()
    lost_with_redis = REVIEWS - done(ids)

    seconds = drill.sweep_until_done(ids, timeout=CLAIM_SECONDS * 6 + 60)
    assert_nothing_lost_or_doubled(ids)
    assert lost_with_redis > 0, "Redis was restarted after all work was done: the drill tested nothing"
    print(f"\n[drill] {lost_with_redis} reviews were queued when Redis was wiped; all done {seconds:.1f} s later")


def test_a_stopped_worker_finishes_what_it_runs_and_the_rest_is_picked_up(drill: Drill) -> None:
    ids = make_reviews(REVIEWS)
    first = drill.start_worker()
    drill.sweep()
    assert wait_for(lambda: done(ids) >= REVIEWS // 4, timeout=120)

    first.process.send_signal(signal.SIGTERM)  # a deploy: warm shutdown
    assert first.process.wait(timeout=60) == 0
    assert done(ids) < REVIEWS, "the worker had finished everything before it was stopped"
    calls_before = len(drill.llm.chat_requests())
    assert calls_before == done(ids), "a call was cut off: warm shutdown should finish running tasks"

    # Messages still in the queue go to the next worker at once; the few the stopped worker had
    # fetched stay unacked in Redis until the visibility timeout, so the sweep re-enqueues them
    # once their claim lapses.
    drill.start_worker()
    seconds = drill.sweep_until_done(ids, timeout=CLAIM_SECONDS * 6 + 60)
    assert_nothing_lost_or_doubled(ids)
    assert len(drill.llm.chat_requests()) == REVIEWS  # nobody was killed: exactly one call per review
    print(f"\n[drill] SIGTERM: all done {seconds:.1f} s after the new worker started")
