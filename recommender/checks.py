"""The project's own deployment checks, run by `manage.py check --deploy`.

They catch settings that are valid Python but unsafe or incoherent for this app: an open API,
unbounded lists, or Celery settings under which a killed worker loses work or runs it twice.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def check_api_defaults(app_configs: Any = None, **kwargs: Any) -> list[Error | Warning]:
    problems: list[Error | Warning] = []
    rest: dict[str, Any] = settings.REST_FRAMEWORK
    permissions = list(rest.get("DEFAULT_PERMISSION_CLASSES", ["rest_framework.permissions.AllowAny"]))
    if not permissions or "rest_framework.permissions.AllowAny" in permissions:
        problems.append(Error("DRF's default permission is AllowAny", id="recommender.E001"))
    if not rest.get("DEFAULT_PAGINATION_CLASS") or not rest.get("PAGE_SIZE"):
        problems.append(Error("API lists have no default pagination", id="recommender.E002"))
    if not rest.get("DEFAULT_THROTTLE_CLASSES"):
        problems.append(Error("API has no throttling", id="recommender.E003"))
    caches = settings.CACHES.get("default", {}).get("BACKEND", "")
    if caches.endswith("LocMemCache"):
        problems.append(
            Warning(
                "throttle counters live in a per-process cache",
                hint="Set CACHE_URL to Redis so every server process shares the counters.",
                id="recommender.W001",
            )
        )
    return problems


@register(deploy=True)
def check_celery_reliability(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    problems = []
    if not settings.CELERY_TASK_ACKS_LATE or not settings.CELERY_TASK_REJECT_ON_WORKER_LOST:
        problems.append(
            Error("a killed worker would lose its task: set acks_late and reject_on_worker_lost", id="recommender.E010")
        )
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600)
    name, limit = _longest_time_limit()
    if isinstance(visibility, int) and visibility <= limit:
        problems.append(
            Error(
                f"CELERY_VISIBILITY_TIMEOUT ({visibility} s) must exceed the time limit of every task, or running "
                f"tasks are redelivered: {name} may run {limit} s",
                id="recommender.E011",
            )
        )
    if settings.CELERY_WORKER_PREFETCH_MULTIPLIER != 1:
        problems.append(Error("prefetch more than one long task per worker process", id="recommender.E012"))
    if settings.CELERY_TASK_ALWAYS_EAGER:
        problems.append(Error("CELERY_TASK_ALWAYS_EAGER runs tasks inside web requests", id="recommender.E013"))
    return problems


def _longest_time_limit() -> tuple[str, int]:
    """The task allowed to run longest and its hard time limit (its own, or CELERY_TASK_TIME_LIMIT)."""
    import workers.tasks  # noqa: F401  (registers the tasks)
    from workers.celery import app

    limits = {
        name: int(task.time_limit or settings.CELERY_TASK_TIME_LIMIT)
        for name, task in app.tasks.items()
        if not name.startswith("celery.")
    }
    limits.setdefault("CELERY_TASK_TIME_LIMIT", settings.CELERY_TASK_TIME_LIMIT)
    return max(limits.items(), key=lambda item: item[1])
