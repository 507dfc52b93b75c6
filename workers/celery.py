"""The Celery app. Configuration comes from Django settings (CELERY_* names)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "recommender.settings")

app = Celery("recommender")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["workers"])

app.conf.beat_schedule = {
    "sweep-missing-embeddings": {"task": "workers.tasks.sweep_missing_embeddings", "schedule": 120.0},
}
