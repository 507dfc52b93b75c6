"""The Celery app. Configuration comes from Django settings (CELERY_* names)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recommender.settings")

app = Celery("recommender")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["workers"])


@app.on_after_finalize.connect
def schedule_sweep(sender: Celery, **kwargs: object) -> None:
    from django.conf import settings

    sender.add_periodic_task(float(settings.PIPELINE_SWEEP_SECONDS), sender.signature("workers.tasks.sweep_pending"))
    sender.add_periodic_task(float(settings.TRAIN_EVERY_SECONDS), sender.signature("workers.tasks.train_models"))
    if settings.BLEND_AUTO_TUNE:
        every = float(settings.BLEND_TUNE_EVERY_SECONDS)
        sender.add_periodic_task(every, sender.signature("workers.tasks.tune_blends"))
