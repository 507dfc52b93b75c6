"""Curator tools for the clip catalogue."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from clips.models import Clip
from recommender import feed_cache


@admin.register(Clip)
class ClipAdmin(admin.ModelAdmin[Clip]):
    list_display = ("title", "category", "creator", "place", "language", "is_active", "has_embedding", "source")
    list_filter = ("is_active", "language", "category", "source")
    search_fields = ("title", "caption", "creator", "external_id")
    raw_id_fields = ("place",)
    readonly_fields = ("keyword_summary", "embedding_key", "created_at", "updated_at")
    exclude = ("embedding", "embedding_claimed_until")
    actions = ("recompute_embeddings", "activate", "deactivate")
    list_select_related = ("place",)
    list_per_page = 50

    @admin.display(boolean=True, description="embedded")
    def has_embedding(self, clip: Clip) -> bool:
        return bool(clip.embedding_key)

    @admin.action(description="Re-compute embeddings of the selected clips")
    def recompute_embeddings(self, request: HttpRequest, queryset: QuerySet[Clip]) -> None:
        count = queryset.update(embedding_key="", embedding_claimed_until=None)
        messages.success(request, f"{count} clips queued for re-embedding.")

    @admin.action(description="Show in feeds")
    def activate(self, request: HttpRequest, queryset: QuerySet[Clip]) -> None:
        messages.success(request, f"{queryset.update(is_active=True)} clips shown.")
        feed_cache.touch_catalogue()

    @admin.action(description="Hide from feeds")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Clip]) -> None:
        messages.success(request, f"{queryset.update(is_active=False)} clips hidden.")
        feed_cache.touch_catalogue()
