"""What a signed-in person does: batches of interaction events, and searches."""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from clips.models import Clip
from places.models import Place
from recommender import services
from recommender.api.exceptions import error_body, flatten_errors
from recommender.api.params import parse_body
from recommender.api.queries import filter_catalogue
from recommender.api.schema import errors
from recommender.api.serializers import (
    ClipSummarySerializer,
    PlaceSummarySerializer,
    SearchSerializer,
)
from recommender.api.throttling import ScopedThrottle
from recommender.enqueue import EXTRACT_QUERY, enqueue_on_commit
from recommender.models import InteractionKind, SearchQuery

MAX_EVENTS = 500  # one upload of a long offline session; ~1 s to record on 2 cores
SEARCH_RESULTS = 10


class EventInput(serializers.Serializer):
    """One event. Only these fields are read: weight, user, source… in the body are ignored."""

    item_type = serializers.ChoiceField(choices=["place", "clip"])
    item_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    kind = serializers.ChoiceField(choices=InteractionKind.choices)
    watched_fraction = serializers.FloatField(required=False, allow_null=True, min_value=0.0, max_value=1.0)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True)
    event_id = serializers.CharField(
        required=False,
        allow_null=True,
        max_length=200,
        help_text="idempotency key: a resent event is not counted twice; may not start with "
        + " or ".join(f"'{prefix}'" for prefix in services.RESERVED_KEY_PREFIXES)
        + " (the app's own keys)",
    )

    def validate_event_id(self, value: str | None) -> str | None:
        if value is not None and value.startswith(services.RESERVED_KEY_PREFIXES):
            raise serializers.ValidationError(f"may not start with {value.split(':', 1)[0]}: (the app's own keys)")
        return value


class EventBatchInput(serializers.Serializer):
    # Each event is validated on its own (EventInput) so one bad event doesn't fail the batch.
    events = serializers.ListField(
        child=serializers.DictField(), min_length=1, max_length=MAX_EVENTS, help_text=f"1..{MAX_EVENTS} events"
    )


class EventResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="position in the request's events")
    event_id = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=["created", "duplicate", "error"])
    id = serializers.IntegerField(allow_null=True, help_text="the stored interaction (created or duplicate)")
    error = serializers.DictField(allow_null=True, help_text='{"code", "message", "fields"} when status is error')


class InteractionBatchApi(GenericAPIView[Any]):
    permission_classes = [IsAuthenticated]
    throttle_classes = [*GenericAPIView.throttle_classes, ScopedThrottle]
    throttle_scope = "events"

    @extend_schema(
        request=inline_serializer("InteractionBatch", {"events": EventInput(many=True)}),
        responses={
            200: inline_serializer(
                "InteractionBatchResult",
                {
                    "created": serializers.IntegerField(),
                    "duplicates": serializers.IntegerField(),
                    "errors": serializers.IntegerField(),
                    "results": EventResultSerializer(many=True),
                },
            ),
            **errors(400, 401),
        },
    )
    def post(self, request: Request) -> Response:
        """Record a batch of events; each one succeeds or fails on its own (see ``results``).

        The request is a 400 only when the envelope is wrong (no ``events`` list, or too many).
        """
        events = parse_body(EventBatchInput, request)["events"]
        parsed: list[tuple[bool, dict[str, Any]]] = []
        for raw in events:
            serializer = EventInput(data=raw)
            valid = serializer.is_valid()
            parsed.append((valid, dict(serializer.validated_data) if valid else flatten_errors(serializer.errors)))
        items = _load_items([event for valid, event in parsed if valid])
        results = []
        for index, (raw, (valid, event)) in enumerate(zip(events, parsed, strict=True)):
            event_id = raw.get("event_id") if isinstance(raw.get("event_id"), str) else None
            results.append(_record(request.user, index, event_id, valid, event, items))
        counts = {s: sum(1 for r in results if r["status"] == s) for s in ("created", "duplicate", "error")}
        body = {"created": counts["created"], "duplicates": counts["duplicate"], "errors": counts["error"]}
        return Response({**body, "results": results})


def _load_items(events: list[Any]) -> dict[tuple[str, int], Place | Clip]:
    """Every item the batch names, in two queries."""
    wanted: dict[str, set[int]] = {"place": set(), "clip": set()}
    for event in events:
        wanted[event["item_type"]].add(event["item_id"])
    found: dict[tuple[str, int], Place | Clip] = {}
    for place in Place.objects.filter(pk__in=wanted["place"], is_active=True) if wanted["place"] else []:
        found["place", place.pk] = place
    for clip in Clip.objects.filter(pk__in=wanted["clip"], is_active=True) if wanted["clip"] else []:
        found["clip", clip.pk] = clip
    return found


def _record(
    user: Any, index: int, event_id: str | None, valid: bool, event: dict[str, Any], items: dict[Any, Any]
) -> dict[str, Any]:
    """Record one parsed event; ``event`` holds the field errors when it is not ``valid``."""
    result: dict[str, Any] = {"index": index, "event_id": event_id, "status": "error", "id": None, "error": None}
    if not valid:
        field, messages = next(iter(event.items()))
        result["error"] = error_body("invalid", f"{field}: {messages[0]}", event)["error"]
        return result
    item = items.get((event["item_type"], event["item_id"]))
    if item is None:
        result["error"] = error_body("not_found", f"no {event['item_type']} {event['item_id']}")["error"]
        return result
    try:
        interaction, created = services.record_interaction(
            user,
            item,
            event["kind"],
            watched_fraction=event.get("watched_fraction"),
            occurred_at=event.get("occurred_at"),
            idempotency_key=event.get("event_id"),
        )
    except services.InvalidAction as exc:
        result["error"] = error_body("invalid", str(exc))["error"]
        return result
    result.update(status="created" if created else "duplicate", id=interaction.pk)
    return result


class SearchInput(serializers.Serializer):
    text = serializers.CharField(max_length=services.MAX_SEARCH_LENGTH, help_text="what the person typed")


class SearchResultSerializer(serializers.Serializer):
    search = SearchSerializer()
    places = PlaceSummarySerializer(many=True)
    clips = ClipSummarySerializer(many=True)


class SearchApi(GenericAPIView[SearchQuery]):
    permission_classes = [IsAuthenticated]
    serializer_class = SearchSerializer

    def get_queryset(self) -> Any:
        return SearchQuery.objects.filter(user_id=cast(int, self.request.user.pk)).order_by("-created_at", "-pk")

    @extend_schema(responses={200: SearchSerializer(many=True), **errors(401, 404)})
    def get(self, request: Request) -> Response:
        """Your own searches, newest first."""
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(SearchSerializer(page, many=True).data)

    @extend_schema(request=SearchInput, responses={201: SearchResultSerializer, **errors(400, 401)})
    def post(self, request: Request) -> Response:
        """Search places and clips; the search also shapes your recommendations (cold start)."""
        text = parse_body(SearchInput, request)["text"]
        search = services.record_search(request.user, text)  # type: ignore[arg-type]
        enqueue_on_commit(EXTRACT_QUERY, search.pk)
        places = filter_catalogue(Place.objects.filter(is_active=True), "place", {"q": search.text})
        clips = filter_catalogue(
            Clip.objects.filter(is_active=True).select_related("place"), "clip", {"q": search.text}
        )
        body = {"search": search, "places": places[:SEARCH_RESULTS], "clips": clips[:SEARCH_RESULTS]}
        return Response(SearchResultSerializer(body).data, status=status.HTTP_201_CREATED)
