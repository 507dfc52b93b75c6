"""Places, clips and reviews: public reads, and writes of your own reviews."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.models import User
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from clips.models import Clip
from places import services as place_services
from places.models import Place, Review
from recommender import services
from recommender.api.params import CatalogueQuery, LimitQuery, parse_body, parse_query
from recommender.api.queries import filter_catalogue, keywords_for, review_stats, similar_items
from recommender.api.schema import errors
from recommender.api.serializers import (
    ClipDetailSerializer,
    ClipListItemSerializer,
    PlaceDetailSerializer,
    PlaceListItemSerializer,
    ReviewSerializer,
    SimilarClipSerializer,
    SimilarPlaceSerializer,
)

LIST_KEYWORDS = 5  # per item in lists
DETAIL_KEYWORDS = 15
DETAIL_CLIPS = 20


class _CatalogueList(GenericAPIView[Any]):
    permission_classes = [AllowAny]
    kind = "place"

    def get_queryset(self) -> Any:
        if self.kind == "place":
            return Place.objects.filter(is_active=True)
        return Clip.objects.filter(is_active=True).select_related("place")

    def get(self, request: Request) -> Response:
        params = parse_query(CatalogueQuery, request)
        queryset = filter_catalogue(self.get_queryset(), self.kind, params)
        page = self.paginate_queryset(queryset)
        assert page is not None  # pagination is always on for this view
        keywords = keywords_for(self.kind, [item.pk for item in page], LIST_KEYWORDS)
        serializer = self.get_serializer(page, many=True, context={"keywords": keywords})
        return self.get_paginated_response(serializer.data)


class PlaceListApi(_CatalogueList):
    serializer_class = PlaceListItemSerializer

    @extend_schema(parameters=[CatalogueQuery], responses={200: PlaceListItemSerializer(many=True), **errors(400, 404)})
    def get(self, request: Request) -> Response:
        """Active places, newest first or nearest first with ``near``; filter and search them."""
        return super().get(request)


class ClipListApi(_CatalogueList):
    serializer_class = ClipListItemSerializer
    kind = "clip"

    @extend_schema(parameters=[CatalogueQuery], responses={200: ClipListItemSerializer(many=True), **errors(400, 404)})
    def get(self, request: Request) -> Response:
        """Active clips; ``district``, ``near`` and ``open_now`` apply to the clip's place."""
        return super().get(request)


class PlaceDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: PlaceDetailSerializer, **errors(404)})
    def get(self, request: Request, place_id: int) -> Response:
        """A place with its top keywords (with review counts), recent clips and review stats."""
        place = get_object_or_404(Place, pk=place_id, is_active=True)
        place.top_keywords = keywords_for("place", [place.pk], DETAIL_KEYWORDS)[place.pk]  # type: ignore[attr-defined]
        place.recent_clips = place.clips.filter(is_active=True).order_by("-pk")[:DETAIL_CLIPS]  # type: ignore[attr-defined]
        place.review_stats = review_stats(place.pk)  # type: ignore[attr-defined]
        return Response(PlaceDetailSerializer(place).data)


class ClipDetailApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(responses={200: ClipDetailSerializer, **errors(404)})
    def get(self, request: Request, clip_id: int) -> Response:
        """A clip with its keywords and the place it is about (if any)."""
        clip = get_object_or_404(Clip.objects.select_related("place"), pk=clip_id, is_active=True)
        clip.top_keywords = keywords_for("clip", [clip.pk], DETAIL_KEYWORDS)[clip.pk]  # type: ignore[attr-defined]
        return Response(ClipDetailSerializer(clip).data)


class SimilarPlacesApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(parameters=[LimitQuery], responses={200: SimilarPlaceSerializer(many=True), **errors(400, 404)})
    def get(self, request: Request, place_id: int) -> Response:
        """Places nearest by embedding, most similar first; empty while the place has no embedding."""
        limit = parse_query(LimitQuery, request)["limit"]
        place = get_object_or_404(Place, pk=place_id, is_active=True)
        rows = [{"similarity": sim, "place": other} for other, sim in similar_items(place, limit)]
        return Response(SimilarPlaceSerializer(rows, many=True).data)


class SimilarClipsApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(parameters=[LimitQuery], responses={200: SimilarClipSerializer(many=True), **errors(400, 404)})
    def get(self, request: Request, clip_id: int) -> Response:
        """Clips nearest by embedding, most similar first; empty while the clip has no embedding."""
        limit = parse_query(LimitQuery, request)["limit"]
        clip = get_object_or_404(Clip, pk=clip_id, is_active=True)
        rows = [{"similarity": sim, "clip": other} for other, sim in similar_items(clip, limit)]
        return Response(SimilarClipSerializer(rows, many=True).data)


class ReviewInput(serializers.Serializer):
    """Only these fields are read; anything else in the body (user, place, created_at…) is ignored."""

    rating = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=5)
    text = serializers.CharField(
        required=False, allow_blank=True, max_length=place_services.MAX_REVIEW_LENGTH, trim_whitespace=True
    )


class PlaceReviewsApi(GenericAPIView[Review]):
    serializer_class = ReviewSerializer
    queryset = Review.objects.none()  # for the schema; the view filters by place

    def get_permissions(self) -> list[Any]:
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    @extend_schema(responses={200: ReviewSerializer(many=True), **errors(404)})
    def get(self, request: Request, place_id: int) -> Response:
        """A place's reviews, newest first (public)."""
        place = get_object_or_404(Place, pk=place_id, is_active=True)
        reviews = Review.objects.filter(place=place).select_related("user").order_by("-created_at", "-pk")
        page = self.paginate_queryset(reviews)
        return self.get_paginated_response(ReviewSerializer(page, many=True).data)

    @extend_schema(request=ReviewInput, responses={201: ReviewSerializer, **errors(400, 401, 404)})
    def post(self, request: Request, place_id: int) -> Response:
        """Review a place; its keywords are extracted right after the review is saved."""
        data = parse_body(ReviewInput, request)
        place = get_object_or_404(Place, pk=place_id, is_active=True)
        review = services.write_review(request.user, place, **data)  # type: ignore[arg-type]
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)


class ReviewDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=ReviewInput, responses={200: ReviewSerializer, **errors(400, 401, 404)})
    def patch(self, request: Request, review_id: int) -> Response:
        """Change the rating and/or text of your own review (someone else's is a 404)."""
        data = parse_body(ReviewInput, request, partial=True)
        try:
            review = services.edit_review(cast(User, request.user), review_id, **data)
        except Review.DoesNotExist:
            raise NotFound("No such review.") from None
        return Response(ReviewSerializer(review).data)

    @extend_schema(request=None, responses={204: None, **errors(401, 404)})
    def delete(self, request: Request, review_id: int) -> Response:
        """Delete your own review (someone else's is a 404)."""
        try:
            services.delete_review(cast(User, request.user), review_id)
        except Review.DoesNotExist:
            raise NotFound("No such review.") from None
        return Response(status=status.HTTP_204_NO_CONTENT)
