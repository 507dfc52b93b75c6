"""Tasks run in a real Celery worker process over Redis, against the real database."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import numpy as np
import pytest

from places.models import Place
from tests.conftest import WorkerHandle, wait_for
from tests.factories import ClipFactory, PlaceFactory
from workers.tasks import embed_clips, embed_places

pytestmark = pytest.mark.worker


def test_worker_embeds_a_place_sent_over_redis(celery_worker_process: WorkerHandle) -> None:
    place = PlaceFactory(name="조용한 한강뷰 카페", category="cafe", description="Quiet, river view")

    celery_worker_process.send(embed_places, [place.pk])

    def embedded() -> bool:
        return Place.objects.filter(pk=place.pk, embedding__isnull=False).exists()

    assert wait_for(embedded), f"worker did not store an embedding; its log:\n{celery_worker_process.log()}"
    vector = np.asarray(Place.objects.get(pk=place.pk).embedding)
    assert vector.shape == (384,)
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-3)
    assert "embed_places" in celery_worker_process.log() and "succeeded" in celery_worker_process.log()


def test_worker_survives_a_task_for_a_deleted_row_and_runs_the_next(celery_worker_process: WorkerHandle) -> None:
    gone = ClipFactory()
    gone_id = gone.pk
    gone.delete()
    clip = ClipFactory(title="Seongsu bakery tour")

    celery_worker_process.send(embed_clips, [gone_id])
    celery_worker_process.send(embed_clips, [clip.pk])

    clip.refresh_from_db()
    assert wait_for(lambda: type(clip).objects.filter(pk=clip.pk, embedding__isnull=False).exists())
    log = celery_worker_process.log()
    assert "succeeded in" in log and ": 0" in log  # the deleted clip's task embedded nothing, without failing
    assert "Traceback" not in log


@pytest.mark.shared_data
def test_worker_sweep_fills_keywords_and_embeddings_for_imported_korean_cafes(
    celery_worker_process: WorkerHandle, shared_data: Path
) -> None:
    from django.core.management import call_command

    from places.models import Review
    from recommender.models import ReviewKeyword
    from workers.tasks import pending_work, sweep_pending

    call_command("import_data", "korean_cafes", str(shared_data / "korean_cafes"), "--limit", "30", stdout=StringIO())
    assert Review.objects.count() == 30

    celery_worker_process.send(sweep_pending)

    def nothing_pending() -> bool:
        counts = {kind: qs.count() for kind, qs in pending_work().items()}
        if counts["reviews"] == 0 and any(counts.values()):
            celery_worker_process.send(sweep_pending)  # place embeddings go stale once keywords land
        return not any(counts.values())

    assert wait_for(nothing_pending, timeout=240, interval=1.0), celery_worker_process.log()[-3000:]
    assert ReviewKeyword.objects.values("review").distinct().count() >= 25  # a few reviews have no keywords
    assert not Place.objects.filter(embedding__isnull=True).exists()
    assert "Traceback" not in celery_worker_process.log()


# --- queues ----------------------------------------------------------------------------------


def test_training_and_tuning_go_to_the_heavy_queue_and_everything_else_to_the_default_one() -> None:
    from django.conf import settings

    import workers.tasks
    from recommender import celery_app

    heavy = {"workers.tasks.train_models", "workers.tasks.tune_blends"}
    names = {name for name in celery_app.tasks if name.startswith("workers.tasks.")}
    assert heavy < names and len(names) > len(heavy) and workers.tasks.train_models.name in heavy
    for name in names:
        queue = celery_app.amqp.router.route({}, name)["queue"].name
        assert queue == (settings.CELERY_HEAVY_QUEUE if name in heavy else settings.CELERY_TASK_DEFAULT_QUEUE), name
    # A worker started without -Q consumes every queue the app declares: both.
    assert {queue.name for queue in celery_app.conf.task_queues} == {"celery", "heavy"}


def test_a_training_sent_by_name_waits_on_the_heavy_queue_in_redis(redis_url: str) -> None:
    import redis

    from recommender import celery_app
    from recommender.enqueue import TRAIN_MODELS

    client = redis.Redis.from_url(redis_url)
    client.delete("heavy", "celery")
    try:
        with celery_app.connection_for_write(redis_url) as conn:
            for queue in celery_app.conf.task_queues:  # as the two workers declare them on start
                queue(conn.default_channel).declare()
            celery_app.send_task(TRAIN_MODELS, connection=conn)
            celery_app.send_task("workers.tasks.sweep_pending", connection=conn)
        # One copy each, on its own queue (queues bound to one routing key would each get a copy).
        assert (client.llen("heavy"), client.llen("celery")) == (1, 1)
    finally:
        client.delete("heavy", "celery")


@pytest.mark.django_db
def test_runapp_starts_a_worker_with_beat_and_one_for_training_and_stops_both() -> None:
    from unittest import mock

    from django.core.management import call_command

    started: list[list[str]] = []
    processes: list[mock.Mock] = []

    def popen(cmd: list[str], **kwargs: object) -> mock.Mock:
        started.append(cmd)
        processes.append(mock.Mock())
        return processes[-1]

    module = "recommender.management.commands.runapp"
    with (
        mock.patch(f"{module}.subprocess.Popen", side_effect=popen),
        mock.patch(f"{module}.call_command") as commands,
        mock.patch("workers.tasks.sweep_pending.delay") as sweep,
    ):
        call_command("runapp", "--no-demo", stdout=StringIO())
    with_beat = [cmd for cmd in started if "--beat" in cmd]
    assert len(started) == 2 and len(with_beat) == 1
    queues = [cmd[cmd.index("-Q") + 1] for cmd in started]
    assert queues[started.index(with_beat[0])] == "celery" and sorted(queues) == ["celery", "heavy"]
    assert all(cmd[cmd.index("-n") + 1].split("@")[0] == q for cmd, q in zip(started, queues, strict=True))
    assert [c.args[0] for c in commands.call_args_list][-1] == "runserver" and sweep.call_count == 1
    # The server has stopped (here: returned at once), and so have both workers.
    assert all(p.terminate.call_count == 1 and p.wait.call_count == 1 for p in processes)
