"""Recommendation feeds: ranked, explained places and clips for anyone (anonymous too)."""

from __future__ import annotations

import math
from typing import Any

from django.utils.translation import get_language
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication, JWTStatelessUserAuthentication

from clips.models import Clip
from recommender import feed_cache, services
from recommender.api.authentication import account
from recommender.api.params import FeedQuery, parse_query
from recommender.api.schema import errors
from recommender.api.serializers import ClipSummarySerializer, PlaceSummarySerializer
from recommender.models import ItemKind


def _feed_item_serializer(name: str, item: serializers.Serializer) -> serializers.Serializer:
    return inline_serializer(
        name,
        {
            "type": serializers.CharField(help_text="place or clip"),
            "item": item,
            "score": serializers.FloatField(allow_null=True),
            "distance_km": serializers.FloatField(allow_null=True),
            "reason": serializers.JSONField(
                help_text='{"code": search|similar|collaborative|new_match|interests|nearby|usual_area|pinned|'
                'popular, ...details}; "nearby" has distance_km, and near (the name of the place the person has '
                'been that it is near; in clip feeds, with via "clips", the place of clips they watched) when no '
                "location was sent, with been (false when that place was only saved or liked, or its clips only "
                'liked); "usual_area" has area (a district the person usually goes to, for an item without '
                'coordinates) and been (false when only saved or liked places are there); "collaborative" may '
                "have item (a place the "
                'person went to, or with via "clips" a clip they watched, whose neighbour this item is: people who '
                "went there also went here); every reason has keywords (English tags where a keyword has one) and "
                "keyword_texts (the same keywords as written, e.g. 조용한 for quiet, for a Korean UI)"
            ),
            "parts": serializers.DictField(
                child=serializers.FloatField(allow_null=True), required=False, help_text="only with explain=true"
            ),
            "evidence": serializers.JSONField(required=False, help_text="only with explain=true"),
        },
        many=True,
    )


def _feed_serializer(name: str, item: serializers.Serializer) -> serializers.Serializer:
    return inline_serializer(
        name,
        {
            "model_version": serializers.CharField(allow_null=True, help_text="also in the X-Model-Version header"),
            "origin": serializers.CharField(allow_null=True, help_text="request, usual_area or null"),
            "items": _feed_item_serializer(f"{name}Item", item),
        },
    )


def _finite(value: float | None) -> float | None:
    """JSON has no NaN: a score part that does not apply is null."""
    return value if value is not None and math.isfinite(value) else None


class _FeedApi(APIView):
    # A cached feed needs no account row: the token alone (recommender.api.authentication).
    authentication_classes = [JWTStatelessUserAuthentication, SessionAuthentication]
    permission_classes = [AllowAny]
    kind: str = ItemKind.PLACE

    def get_authenticators(self) -> list[Any]:
        if getattr(self, "swagger_fake_view", False):  # the schema: the same bearer JWT as everywhere
            return [JWTAuthentication(), SessionAuthentication()]
        return super().get_authenticators()

    def get(self, request: Request) -> Response:
        params = parse_query(FeedQuery, request)
        user_id = request.user.pk if request.user.is_authenticated else None
        key = {"kind": self.kind, "language": get_language(), **params}
        payload, hit = feed_cache.cached(user_id, key, lambda: self._payload(request, params))
        response = Response(payload)
        response["X-Model-Version"] = payload["model_version"] or "none"
        response["X-Feed-Cache"] = "hit" if hit else "miss"
        return response

    def _payload(self, request: Request, params: dict[str, Any]) -> dict[str, Any]:
        feed = services.recommend(
            account(request),
            services.FeedRequest(
                kind=self.kind,
                limit=params["limit"],
                latitude=params.get("lat"),
                longitude=params.get("lon"),
                radius_km=params.get("radius_km"),
                open_now=params["open_now"],
            ),
        )
        items = []
        for entry in feed.items:
            is_clip = isinstance(entry.item, Clip)
            if isinstance(entry.item, Clip):
                summary: Any = ClipSummarySerializer(entry.item)
            else:
                summary = PlaceSummarySerializer(entry.item)
            out: dict[str, Any] = {
                "type": "clip" if is_clip else "place",
                "item": summary.data,
                "score": _finite(entry.score),
                "distance_km": _finite(round(entry.distance_km, 3) if entry.distance_km is not None else None),
                "reason": entry.reason,
            }
            if params["explain"]:
                out["parts"] = {name: _finite(value) for name, value in entry.parts.items()}
                out["evidence"] = entry.evidence
            items.append(out)
        return {"model_version": feed.model_version, "origin": feed.origin, "items": items}


def _responses(name: str, item: serializers.Serializer) -> dict[int, Any]:
    ok = OpenApiResponse(_feed_serializer(name, item), description="the feed; header X-Model-Version names the model")
    return {200: ok, **errors(400)}


class PlaceFeedApi(_FeedApi):
    kind = ItemKind.PLACE

    @extend_schema(parameters=[FeedQuery], responses=_responses("PlaceFeed", PlaceSummarySerializer()))
    def get(self, request: Request) -> Response:
        """Recommended places: personal when signed in, popular and nearby otherwise."""
        return super().get(request)


class ClipFeedApi(_FeedApi):
    kind = ItemKind.CLIP

    @extend_schema(parameters=[FeedQuery], responses=_responses("ClipFeed", ClipSummarySerializer()))
    def get(self, request: Request) -> Response:
        """Recommended clips: personal when signed in, popular and nearby otherwise."""
        return super().get(request)
