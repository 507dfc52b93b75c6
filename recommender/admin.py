"""Curator tools: keywords, activity, rules (audited), model versions."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path

from places.models import Review
from recommender import feed_cache
from recommender.curation import delete_rule, save_rule
from recommender.feeds import FeedRequest, recommend
from recommender.keywords import (
    merge_keywords,
    refresh_interest_vector,
    refresh_keyword_dependents,
    set_keywords_hidden,
)
from recommender.models import (
    BlendTuning,
    CuratorRule,
    CuratorRuleChange,
    Interaction,
    Keyword,
    ModelVersion,
    PipelineStatus,
    SearchQuery,
)
from recommender.ranking.als import ModelFileError
from recommender.services import delete_account, delete_accounts
from recommender.training import publish


@admin.register(Keyword)
class KeywordAdmin(admin.ModelAdmin[Keyword]):
    list_display = ("text", "language", "tag_en", "is_hidden", "reviews", "places")
    list_filter = ("is_hidden", "language")
    search_fields = ("text", "tag_en")
    list_editable = ("tag_en", "is_hidden")
    exclude = ("embedding", "embedding_key", "embedding_claimed_until")
    actions = ("hide", "unhide", "merge_into_first")
    list_per_page = 100

    def get_queryset(self, request: HttpRequest) -> QuerySet[Keyword]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                review_count=Count("review_links", distinct=True), place_count=Count("place_links", distinct=True)
            )
        )

    @admin.display(ordering="review_count")
    def reviews(self, keyword: Any) -> int:
        return int(keyword.review_count)

    @admin.display(ordering="place_count")
    def places(self, keyword: Any) -> int:
        return int(keyword.place_count)

    @admin.action(description="Hide (a wrong keyword: kept out of profiles, place summaries and explanations)")
    def hide(self, request: HttpRequest, queryset: QuerySet[Keyword]) -> None:
        count = set_keywords_hidden(list(queryset.values_list("pk", flat=True)), True)
        messages.success(request, f"{count} keywords hidden.")

    @admin.action(description="Show again")
    def unhide(self, request: HttpRequest, queryset: QuerySet[Keyword]) -> None:
        count = set_keywords_hidden(list(queryset.values_list("pk", flat=True)), False)
        messages.success(request, f"{count} keywords shown.")

    def save_model(self, request: HttpRequest, obj: Keyword, form: Any, change: bool) -> None:
        """An edit of ``is_hidden``, ``tag_en`` or ``text`` (the form, or the list's editable columns) reaches
        the places, interest vectors and feeds that read the keyword, as the actions do."""
        before = list(Keyword.objects.filter(pk=obj.pk).values_list("text", "tag_en").first() or ()) if change else []
        super().save_model(request, obj, form, change)
        if change and {"is_hidden", "tag_en", "text"} & set(form.changed_data):
            refresh_keyword_dependents([obj.pk], extra_names=before)

    @admin.action(description="Merge the selected keywords into the first one (by id)")
    def merge_into_first(self, request: HttpRequest, queryset: QuerySet[Keyword]) -> None:
        keywords = list(queryset.order_by("pk"))
        if len(keywords) < 2:
            messages.warning(request, "Select at least two keywords to merge.")
            return
        merged = merge_keywords(keywords[0], keywords[1:])
        messages.success(request, f"Merged {merged} keywords into “{keywords[0].text}”.")


class _RefreshesPersonsFeeds:
    """A curator's edit or delete of a person's row refreshes that person's cached feeds.

    Here, not as model signals: a delete signal on interactions would make every cascade (an
    account or a place deleted) load each interaction row instead of one DELETE.
    """

    def refresh(self, user_id: int) -> None:
        feed_cache.touch_person(user_id)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        self.refresh(obj.user_id)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        user_id = obj.user_id
        super().delete_model(request, obj)  # type: ignore[misc]
        self.refresh(user_id)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        user_ids = set(queryset.values_list("user_id", flat=True))
        super().delete_queryset(request, queryset)  # type: ignore[misc]
        for user_id in sorted(user_ids):
            self.refresh(user_id)


@admin.register(Interaction)
class InteractionAdmin(_RefreshesPersonsFeeds, admin.ModelAdmin[Interaction]):
    list_display = ("user", "kind", "place", "clip", "weight", "occurred_at", "source")
    list_filter = ("kind", "source")
    raw_id_fields = ("user", "place", "clip")
    date_hierarchy = "occurred_at"
    list_select_related = ("user", "place", "clip")
    list_per_page = 100


@admin.register(SearchQuery)
class SearchQueryAdmin(_RefreshesPersonsFeeds, admin.ModelAdmin[SearchQuery]):
    list_display = ("text", "intent", "language", "created_at", "extraction_error")
    list_filter = ("intent", "language", "source")
    search_fields = ("text",)
    raw_id_fields = ("user",)
    readonly_fields = ("keywords_key", "extraction_failed_key", "extraction_error")
    exclude = ("extraction_claimed_until",)
    actions = ("rerun_extraction",)

    def refresh(self, user_id: int) -> None:
        """A search edited or deleted no longer shapes the person's interest vector (nor their feeds)."""
        refresh_interest_vector(user_id)

    @admin.action(description="Re-run intent and keyword extraction (also retries failed ones)")
    def rerun_extraction(self, request: HttpRequest, queryset: QuerySet[SearchQuery]) -> None:
        count = queryset.update(
            keywords_key="", extraction_failed_key="", extraction_error="", extraction_claimed_until=None
        )
        messages.success(request, f"{count} searches queued for extraction.")


@admin.register(CuratorRule)
class CuratorRuleAdmin(admin.ModelAdmin[CuratorRule]):
    change_list_template = "admin/curatorrule_changelist.html"

    def get_urls(self) -> list[URLPattern]:
        preview = path("preview/", self.admin_site.admin_view(self.preview_view), name="recommender_preview_feed")
        return [preview, *super().get_urls()]

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        """A person's feed (or a new visitor's, from a location and a few interests), before and after rules."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = {key: request.GET.get(key, "").strip() for key in ("user", "kind", "lat", "lon", "keywords")}
        form["kind"] = form["kind"] if form["kind"] in ("place", "clip") else "place"
        context: dict[str, Any] = {**self.admin_site.each_context(request), "form": form, "feeds": []}
        user = None
        if form["user"]:
            user = User.objects.filter(username=form["user"]).first()
            if user is None:
                context["error"] = f"No person with username “{form['user']}”."
                return render(request, "admin/preview_feed.html", context)
        try:
            lat = float(form["lat"]) if form["lat"] else None
            lon = float(form["lon"]) if form["lon"] else None
        except ValueError:
            context["error"] = "Latitude and longitude must be numbers."
            return render(request, "admin/preview_feed.html", context)
        on_earth = lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180
        if (lat is not None or lon is not None) and not on_earth:
            context["error"] = "Give both latitude (−90…90) and longitude (−180…180), or neither."
            return render(request, "admin/preview_feed.html", context)
        wanted = [k.strip() for k in form["keywords"].split(",") if k.strip()]
        found = dict(Keyword.objects.filter(text__in=wanted).values_list("text", "pk"))
        context["unknown_keywords"] = [k for k in wanted if k not in found]
        base = FeedRequest(kind=form["kind"], latitude=lat, longitude=lon, interest_keywords=tuple(found.values()))
        context["feeds"] = [
            ("After rules", recommend(user, base)),
            ("Before rules", recommend(user, replace(base, apply_rules=False))),
        ]
        return render(request, "admin/preview_feed.html", context)

    list_display = ("__str__", "action", "scope", "factor", "position", "starts_at", "ends_at", "is_active")
    list_filter = ("action", "scope", "is_active")
    search_fields = ("category", "note", "place__name", "clip__title")
    raw_id_fields = ("place", "clip")
    readonly_fields = ("created_by", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("action", "scope", "is_active", "note")}),
        (
            "Target: one item, a category, or an area",
            {
                "fields": ("place", "clip", "category", ("latitude", "longitude", "radius_km")),
                "description": "A place's block, boost or bury also reaches the clips about it in the clips feed "
                "(scope: all feeds or clips feed); a place's pin holds its position in the places feed only.",
            },
        ),
        ("Strength", {"fields": ("factor", "position")}),
        ("When", {"fields": ("starts_at", "ends_at")}),
        ("Record", {"fields": ("created_by", "created_at", "updated_at")}),
    )

    def save_model(self, request: HttpRequest, obj: CuratorRule, form: Any, change: bool) -> None:
        save_rule(obj, request.user)  # type: ignore[arg-type]

    def delete_model(self, request: HttpRequest, obj: CuratorRule) -> None:
        delete_rule(obj, request.user)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CuratorRule]) -> None:
        for rule in queryset:
            delete_rule(rule, request.user)  # type: ignore[arg-type]


@admin.register(CuratorRuleChange)
class CuratorRuleChangeAdmin(admin.ModelAdmin[CuratorRuleChange]):
    list_display = ("rule_id_value", "action", "changed_by", "changed_at", "changes")
    list_filter = ("action",)
    search_fields = ("rule_id_value",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the audit trail is append-only


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin[ModelVersion]):
    list_display = (
        "version",
        "kind",
        "is_live",
        "created_at",
        "users",
        "items",
        "interactions",
        "training_seconds",
        "held_out",
    )
    list_filter = ("kind", "is_live")
    readonly_fields = [f.name for f in ModelVersion._meta.fields]
    actions = ("make_live",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions come from training

    @admin.display(description="held-out recall@10 (collaborative as served / ALS / popularity)")
    def held_out(self, row: ModelVersion) -> str:
        metrics = row.metrics or {}
        if "als_recall@10" not in metrics:
            return "–"
        served = f"{metrics['collaborative_recall@10']:.3f} / " if "collaborative_recall@10" in metrics else "– / "
        return (
            f"{served}{metrics['als_recall@10']:.3f} / {metrics['popularity_recall@10']:.3f} "
            f"({metrics['users']} people)"
        )

    @admin.action(description="Make live (roll forward or back)")
    def make_live(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        if queryset.count() != 1:
            messages.warning(request, "Select exactly one version.")
            return
        row = queryset.get()
        try:
            publish(row)
        except ModelFileError as exc:
            messages.error(request, f"{row.version} was not published: {exc}")
            return
        messages.success(request, f"{row.version} is now the live {row.kind} model.")


@admin.register(BlendTuning)
class BlendTuningAdmin(admin.ModelAdmin[BlendTuning]):
    """Auto-tuning runs (recommender/tuning.py): what was picked on which data, and how it did."""

    list_display = ("created_at", "kind", "status", "validation", "validation_users", "seconds")
    list_filter = ("kind", "status")
    readonly_fields = [f.name for f in BlendTuning._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # rows come from tuning (manage.py tune_blend or the schedule)

    @admin.display(description="validation NDCG@10 (settings → tuned)")
    def validation(self, row: BlendTuning) -> str:
        if row.val_ndcg is None or row.val_ndcg_settings is None:
            return "–"
        return f"{row.val_ndcg_settings:.4f} → {row.val_ndcg:.4f}"


@admin.register(PipelineStatus)
class PipelineStatusAdmin(admin.ModelAdmin[PipelineStatus]):
    """Pipeline health: what waits for extraction or embedding, what failed, and a retry button."""

    list_display = ("kind", "pending", "failed", "last_error", "swept_at")
    actions = ("retry_failed",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Retry failed extractions of the selected kinds")
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[PipelineStatus]) -> None:
        retried = 0
        kinds = set(queryset.values_list("kind", flat=True))
        if "reviews" in kinds:
            retried += Review.objects.exclude(extraction_failed_key="").update(extraction_failed_key="")
        if "searches" in kinds:
            retried += SearchQuery.objects.exclude(extraction_failed_key="").update(extraction_failed_key="")
        messages.success(request, f"{retried} failed rows queued again; the next sweep picks them up.")


admin.site.site_header = "Place & clip recommender — curator tools"
admin.site.site_title = "Curator tools"
admin.site.index_title = "Catalogue, rules and models"


class AccountAdmin(UserAdmin):
    """Django's account admin, with deletion as the person's own "delete my account" does it
    (``services.delete_account``): refresh tokens blacklisted, reviewed places' keywords rebuilt
    and the models retrained without them, not only the cascade."""

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        delete_account(obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        delete_accounts(list(queryset))  # one transaction, one retraining


admin.site.unregister(User)
admin.site.register(User, AccountAdmin)
