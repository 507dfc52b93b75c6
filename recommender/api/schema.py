"""Helpers that keep the OpenAPI annotations short and the documented errors accurate."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse

from recommender.api.exceptions import ErrorSerializer

_MEANING = {
    400: "invalid input: the body names each bad field",
    401: "not signed in, or the token is invalid or expired",
    403: "signed in but not allowed",
    404: "no such object (or not yours)",
    429: "too many requests: retry after the Retry-After seconds",
}


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Documented error answers (all share the ``{"error": ...}`` body); 429 is always possible."""
    return {status: OpenApiResponse(ErrorSerializer, description=_MEANING[status]) for status in (*statuses, 429)}
