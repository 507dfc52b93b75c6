"""One error shape for the whole API: ``{"error": {"code", "message", "fields"}}``.

Validation errors keep their field paths ("events.3.kind"); unexpected exceptions are logged
and answered with a generic 500 body, so a traceback never reaches a client even with DEBUG on.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404
from drf_spectacular.utils import inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler

from places.services import ReviewError
from recommender.quota import QuotaExceeded
from recommender.services import InvalidAction

logger = logging.getLogger(__name__)


ErrorSerializer = inline_serializer(
    "Error",
    {
        "error": inline_serializer(
            "ErrorBody",
            {
                "code": serializers.CharField(help_text="machine-readable, e.g. invalid, not_found, throttled"),
                "message": serializers.CharField(help_text="human-readable summary"),
                "fields": serializers.DictField(
                    child=serializers.ListField(child=serializers.CharField()),
                    help_text='per-field messages, keyed by path ("events.3.kind")',
                ),
            },
        )
    },
)  # the body of every 4xx/5xx answer


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """``{"events": [{}, {"kind": ["bad"]}]}`` → ``{"events.1.kind": ["bad"]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "" if key == "non_field_errors" and not prefix else f"{prefix}{key}"
            out.update(flatten_errors(value, f"{name}." if name else ""))
    elif isinstance(detail, list) and detail and all(not isinstance(item, dict | list) for item in detail):
        out.setdefault(prefix.rstrip(".") or "non_field_errors", []).extend(str(item) for item in detail)
    elif isinstance(detail, list):
        for index, value in enumerate(detail):
            if value:
                out.update(flatten_errors(value, f"{prefix}{index}."))
    elif detail is not None:
        out.setdefault(prefix.rstrip(".") or "non_field_errors", []).append(str(detail))
    return out


def _first_code(detail: Any, default: str) -> str:
    if isinstance(detail, exceptions.ErrorDetail):
        return str(detail.code or default)
    if isinstance(detail, dict):
        if "code" in detail and isinstance(detail.get("code"), str):  # simplejwt token errors
            return str(detail["code"])
        for value in detail.values():
            return _first_code(value, default)
    if isinstance(detail, list) and detail:
        return _first_code(detail[0], default)
    return default


def _convert(exc: Exception) -> Exception:
    """Domain and Django errors → DRF errors with the right status."""
    if isinstance(exc, QuotaExceeded):
        return exceptions.Throttled(wait=exc.retry_after, detail=str(exc), code="quota_exceeded")
    if isinstance(exc, InvalidAction | ReviewError):
        return exceptions.ValidationError({"non_field_errors": [str(exc)]}, code="invalid")
    if isinstance(exc, DjangoValidationError):
        return exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied()
    return exc


def database_unavailable(exc: BaseException | None) -> bool:
    """A lost or refused database connection (not a bad query): the request may simply be retried."""
    return isinstance(exc, OperationalError | InterfaceError)


def cache_unavailable(exc: BaseException | None) -> bool:
    """Redis (the shared cache: LLM quotas) refused or dropped the connection: retry later."""
    return isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError)


def unavailable_message(exc: BaseException | None) -> str | None:
    """The 503 message for an outage of a service the request needs; None for any other error."""
    if database_unavailable(exc):
        return "The database is not answering; try again in a few seconds."
    if cache_unavailable(exc):
        return "A service we depend on is not answering; try again in a few seconds."
    return None


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    exc = _convert(exc)
    response = exception_handler(exc, context)
    outage = unavailable_message(exc) if response is None else None
    if outage is not None:
        logger.warning("service unavailable: %r", exc)
        response = Response(error_body("unavailable", outage), 503)
        response["Retry-After"] = "5"
        return response
    if response is None:
        logger.exception("unhandled API error", exc_info=exc)
        return Response(error_body("server_error", "Something went wrong on our side; it has been logged."), 500)
    assert isinstance(exc, exceptions.APIException)
    detail = exc.detail
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_errors(detail)
        first = next(iter(fields.items()), ("", ["Invalid input."]))
        message = first[1][0] if first[0] == "non_field_errors" else f"{first[0]}: {first[1][0]}"
        response.data = error_body("invalid", message, fields)  # per-field codes would be noise
    else:
        if isinstance(detail, dict):  # simplejwt: {"detail": ..., "code": ..., "messages": [...]}
            message = str(detail.get("detail", exc.default_detail))
        elif isinstance(detail, list):
            message = "; ".join(str(item) for item in detail)
        else:
            message = str(detail)
        response.data = error_body(_first_code(detail, str(exc.default_code)), message)
    return response
