"""Curator tools for the place catalogue."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from places.models import Place, Review
from recommender import feed_cache, services


@admin.register(Place)
class PlaceAdmin(admin.ModelAdmin[Place]):
    list_display = ("name", "category", "district", "is_active", "has_embedding", "source", "updated_at")
    list_filter = ("is_active", "category", "source")
    search_fields = ("name", "address", "district", "description", "external_id")
    readonly_fields = ("keyword_summary", "embedding_key", "created_at", "updated_at")
    exclude = ("embedding", "embedding_claimed_until")
    actions = ("recompute_embeddings", "rerun_extraction", "activate", "deactivate")
    list_per_page = 50

    @admin.display(boolean=True, description="embedded")
    def has_embedding(self, place: Place) -> bool:
        return bool(place.embedding_key)

    @admin.action(description="Re-compute embeddings of the selected places")
    def recompute_embeddings(self, request: HttpRequest, queryset: QuerySet[Place]) -> None:
        # Clearing the key makes the rows stale; the worker sweep does the rest.
        count = queryset.update(embedding_key="", embedding_claimed_until=None)
        messages.success(request, f"{count} places queued for re-embedding (the worker picks them up within a minute).")

    @admin.action(description="Re-run keyword extraction on the selected places' reviews")
    def rerun_extraction(self, request: HttpRequest, queryset: QuerySet[Place]) -> None:
        count = Review.objects.filter(place__in=queryset).update(
            keywords_key="", extraction_failed_key="", extraction_error="", extraction_claimed_until=None
        )
        messages.success(request, f"{count} reviews queued for keyword extraction.")

    @admin.action(description="Show in feeds")
    def activate(self, request: HttpRequest, queryset: QuerySet[Place]) -> None:
        messages.success(request, f"{queryset.update(is_active=True)} places shown.")
        feed_cache.touch_catalogue()

    @admin.action(description="Hide from feeds")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Place]) -> None:
        messages.success(request, f"{queryset.update(is_active=False)} places hidden.")
        feed_cache.touch_catalogue()


class ExtractionStateFilter(admin.SimpleListFilter):
    title = "extraction"
    parameter_name = "extraction"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin[Review]) -> list[tuple[str, str]]:
        return [("failed", "failed"), ("never", "not extracted yet"), ("done", "extracted")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Review]) -> QuerySet[Review]:
        if self.value() == "failed":
            return queryset.exclude(extraction_failed_key="")
        if self.value() == "never":
            return queryset.filter(keywords_key="", extraction_failed_key="")
        if self.value() == "done":
            return queryset.exclude(keywords_key="")
        return queryset


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin[Review]):
    list_display = ("short_text", "place", "rating", "language", "source", "created_at", "extraction_error")
    list_filter = (ExtractionStateFilter, "rating", "language", "source")
    search_fields = ("text", "place__name")
    raw_id_fields = ("user", "place")
    readonly_fields = ("keywords_key", "extraction_failed_key", "extraction_error", "updated_at")
    exclude = ("extraction_claimed_until",)
    actions = ("rerun_extraction",)
    list_select_related = ("place",)
    list_per_page = 50

    @admin.display(description="text")
    def short_text(self, review: Review) -> str:
        return review.text[:80]

    @admin.action(description="Re-run keyword extraction (also retries failed ones)")
    def rerun_extraction(self, request: HttpRequest, queryset: QuerySet[Review]) -> None:
        count = queryset.update(
            keywords_key="", extraction_failed_key="", extraction_error="", extraction_claimed_until=None
        )
        messages.success(request, f"{count} reviews queued for keyword extraction.")

    # As the site's own review actions do (recommender.services): a review written here records the
    # visit it implies, a rating changed here reaches its writer's feeds (a low rating is never
    # "liked"), and a review removed here leaves its place's keywords and summary.
    def save_model(self, request: HttpRequest, obj: Review, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            services.record_review_visit(obj)
        feed_cache.touch_person(obj.user_id)

    def delete_model(self, request: HttpRequest, obj: Review) -> None:
        services.remove_reviews([obj.pk])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Review]) -> None:
        services.remove_reviews(list(queryset.values_list("pk", flat=True)))
