"""Start keyword extraction right after a row commits, so cold start does not wait for the sweep.

Tasks are sent by name: web and API code never imports the workers package (the workers import
us, not the other way round), and a worker on another host runs them.
"""

from __future__ import annotations

import logging

from django.db import transaction

from workers.celery import app as celery_app

logger = logging.getLogger(__name__)

EXTRACT_REVIEW = "workers.tasks.extract_review_keywords"
EXTRACT_QUERY = "workers.tasks.extract_query_keywords"
TRAIN_MODELS = "workers.tasks.train_models"


def send(task_name: str, *args: int) -> None:
    celery_app.send_task(task_name, args=list(args))


def enqueue_on_commit(task_name: str, *args: int) -> None:
    """Send ``task_name(*args)`` after commit; a broker outage is logged, never a failed request.

    The pipeline sweep (workers.tasks.sweep_pending) finds the row stale and enqueues it again,
    so a lost message delays the work, it does not lose it.
    """

    def after_commit() -> None:
        try:
            send(task_name, *args)
        except Exception:  # kombu raises many types on a broker outage; the sweep is the retry
            logger.warning(
                "could not enqueue %s%s; the sweep or schedule will pick it up", task_name, args, exc_info=True
            )

    transaction.on_commit(after_commit)
