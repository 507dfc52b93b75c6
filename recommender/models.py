"""What people do and what the system learned: interactions, searches, keywords, profiles."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from pgvector.django import HnswIndex, VectorField

from clips.models import Clip
from places.models import EMBEDDING_DIMENSIONS, Place, Review
from places.pipeline import source_key


class InteractionKind(models.TextChoices):
    VIEW = "view", "view"
    CLICK = "click", "click"
    LIKE = "like", "like"
    SAVE = "save", "save"
    VISIT = "visit", "visit"
    WATCH = "watch", "watch"
    SKIP = "skip", "skip"
    DISLIKE = "dislike", "dislike"


# Implicit-feedback strength of each kind: a visit or a full watch says more than a view;
# skip and dislike count against. ``watch`` is scaled by the watched fraction.
DEFAULT_KIND_WEIGHTS: dict[str, float] = {
    InteractionKind.VIEW: 1.0,
    InteractionKind.CLICK: 2.0,
    InteractionKind.LIKE: 4.0,
    InteractionKind.SAVE: 5.0,
    InteractionKind.VISIT: 6.0,
    InteractionKind.WATCH: 5.0,
    InteractionKind.SKIP: -1.0,
    InteractionKind.DISLIKE: -5.0,
}


def interaction_weight(kind: str, watched_fraction: float | None = None) -> float:
    """The default weight of one event of ``kind``."""
    weight = DEFAULT_KIND_WEIGHTS[kind]
    if kind == InteractionKind.WATCH:
        weight *= watched_fraction if watched_fraction is not None else 1.0
    return weight


class Interaction(models.Model):
    """One event between a person and exactly one item (a place or a clip)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="interactions")
    place = models.ForeignKey(Place, null=True, blank=True, on_delete=models.CASCADE, related_name="interactions")
    clip = models.ForeignKey(Clip, null=True, blank=True, on_delete=models.CASCADE, related_name="interactions")
    kind = models.CharField(max_length=10, choices=InteractionKind.choices)
    weight = models.FloatField()
    watched_fraction = models.FloatField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    # A client-chosen key per event, so a retried upload or re-run import is not counted twice.
    # NULL, not "": events without a key must not collide in the unique constraint below.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    source = models.CharField(max_length=50, default="app")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(place__isnull=False, clip__isnull=True) | Q(place__isnull=True, clip__isnull=False),
                name="interaction_exactly_one_item",
            ),
            models.CheckConstraint(
                condition=Q(watched_fraction__isnull=True) | Q(watched_fraction__gte=0, watched_fraction__lte=1),
                name="interaction_watched_fraction_0_to_1",
            ),
            models.UniqueConstraint(
                fields=["user", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="interaction_unique_user_idempotency_key",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-occurred_at"], name="interaction_user_recent_idx"),
            models.Index(fields=["place", "kind"], name="interaction_place_kind_idx"),
            models.Index(fields=["clip", "kind"], name="interaction_clip_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {'place' if self.place_id else 'clip'} {self.place_id or self.clip_id}"


class QueryIntent(models.TextChoices):
    # A search for a taste ("quiet café with a river view") vs. a task (a visa office's phone
    # number, opening hours): only interest searches shape recommendations.
    INTEREST = "interest", "interest"
    TASK = "task", "task"


class SearchQueryQuerySet(models.QuerySet["SearchQuery"]):
    def with_keywords_source(self, extractor_id: str) -> SearchQueryQuerySet:
        return self.annotate(keywords_source_key=source_key(models.F("text"), extractor_id))

    def needing_keywords(self, extractor_id: str) -> SearchQueryQuerySet:
        return (
            self.with_keywords_source(extractor_id)
            .exclude(keywords_key=models.F("keywords_source_key"))
            .exclude(extraction_failed_key=models.F("keywords_source_key"))
        )


class SearchQuery(models.Model):
    """A search a person typed; interest searches feed their cold-start profile."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="searches")
    text = models.CharField(max_length=500)
    language = models.CharField(max_length=10, blank=True)
    source = models.CharField(max_length=50, default="app")
    external_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()
    intent = models.CharField(max_length=10, choices=QueryIntent.choices, blank=True)
    keywords_key = models.CharField(max_length=64, blank=True)
    extraction_failed_key = models.CharField(max_length=64, blank=True)
    extraction_error = models.TextField(blank=True)
    extraction_claimed_until = models.DateTimeField(null=True, blank=True)

    objects = SearchQueryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "search queries"
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="searchquery_unique_source_external_id",
            ),
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="search_user_recent_idx")]

    def __str__(self) -> str:
        return self.text


class KeywordQuerySet(models.QuerySet["Keyword"]):
    def with_embedding_source(self, model_name: str) -> KeywordQuerySet:
        return self.annotate(
            embedding_source=models.F("text"), embedding_source_key=source_key(models.F("text"), model_name)
        )

    def needing_embedding(self, model_name: str) -> KeywordQuerySet:
        return self.with_embedding_source(model_name).exclude(embedding_key=models.F("embedding_source_key"))


class Keyword(models.Model):
    """A normalised keyword ("조용한", "river view") with an English tag and an embedding."""

    text = models.CharField(max_length=100)
    language = models.CharField(max_length=10)
    tag_en = models.CharField(max_length=100, blank=True)
    is_hidden = models.BooleanField(default=False)
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True)
    embedding_key = models.CharField(max_length=64, blank=True)
    embedding_claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = KeywordQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["text", "language"], name="keyword_unique_text_language"),
        ]
        indexes = [
            HnswIndex(
                name="keyword_embedding_hnsw_v2",
                fields=["embedding"],
                m=16,
                # 128, not pgvector's 64: recall@10 .93 instead of .86 at the default ef_search (40)
                # (docs/benchmarks.md); built concurrently beside the old index, then that is dropped.
                ef_construction=128,
                opclasses=["vector_cosine_ops"],
            ),
        ]

    def __str__(self) -> str:
        return self.text


class Polarity(models.IntegerChoices):
    NEGATIVE = -1, "negative"
    NEUTRAL = 0, "neutral"
    POSITIVE = 1, "positive"


class ReviewKeyword(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="keyword_links")
    keyword = models.ForeignKey(Keyword, on_delete=models.CASCADE, related_name="review_links")
    weight = models.FloatField(default=1.0)
    polarity = models.SmallIntegerField(choices=Polarity.choices, default=Polarity.POSITIVE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["review", "keyword"], name="reviewkeyword_unique")]

    def __str__(self) -> str:
        return f"{self.review_id} → {self.keyword_id}"


class PlaceKeyword(models.Model):
    """A keyword's aggregate over a place's reviews (or from a curated source such as Naver's)."""

    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="keyword_links")
    keyword = models.ForeignKey(Keyword, on_delete=models.CASCADE, related_name="place_links")
    weight = models.FloatField(default=1.0)
    count = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=50, default="reviews")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["place", "keyword", "source"], name="placekeyword_unique")]

    def __str__(self) -> str:
        return f"{self.place_id} → {self.keyword_id}"


class ClipKeyword(models.Model):
    clip = models.ForeignKey(Clip, on_delete=models.CASCADE, related_name="keyword_links")
    keyword = models.ForeignKey(Keyword, on_delete=models.CASCADE, related_name="clip_links")
    weight = models.FloatField(default=1.0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["clip", "keyword"], name="clipkeyword_unique")]

    def __str__(self) -> str:
        return f"{self.clip_id} → {self.keyword_id}"


class SearchQueryKeyword(models.Model):
    query = models.ForeignKey(SearchQuery, on_delete=models.CASCADE, related_name="keyword_links")
    keyword = models.ForeignKey(Keyword, on_delete=models.CASCADE, related_name="query_links")
    weight = models.FloatField(default=1.0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["query", "keyword"], name="searchquerykeyword_unique")]

    def __str__(self) -> str:
        return f"{self.query_id} → {self.keyword_id}"


class UserProfile(models.Model):
    """Per-person state the ranker reads: the interest vector built from searches and likes."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    interest_embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"profile of {self.user_id}"


class ItemKind(models.TextChoices):
    PLACE = "place", "place"
    CLIP = "clip", "clip"


class ModelVersion(models.Model):
    """A trained ALS model for one item kind. Exactly one per kind is live; switching is one UPDATE."""

    kind = models.CharField(max_length=10, choices=ItemKind.choices)
    version = models.CharField(max_length=64, unique=True)
    artifact = models.CharField(max_length=500, help_text="path under MODEL_ARTIFACTS_DIR")
    is_live = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    training_seconds = models.FloatField(default=0)
    users = models.PositiveIntegerField(default=0)
    items = models.PositiveIntegerField(default=0)
    interactions = models.PositiveIntegerField(default=0)
    params = models.JSONField(default=dict, blank=True)
    metrics = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind"], condition=Q(is_live=True), name="modelversion_one_live_per_kind"),
        ]
        indexes = [models.Index(fields=["kind", "-created_at"], name="modelversion_kind_recent_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.version}{' (live)' if self.is_live else ''}"


class TuningStatus(models.TextChoices):
    TUNED = "tuned", "tuned: the next training serves these weights"
    KEPT = "kept", "kept the settings: no gain on validation, or none confirmed on a second split"
    SKIPPED = "skipped", "skipped: too few people to validate on"


class BlendTuning(models.Model):
    """One run of the blend auto-tuning on the catalogue's own data (recommender/tuning.py).

    The latest row of a kind decides: if it is ``tuned`` and the settings still hash to its
    ``settings_key``, the next trained model of that kind is fitted with ``als`` and serves
    ``blend`` (over the BLEND_* and GEO_* settings); otherwise the settings are served.
    ``fingerprint`` says which data it saw, so unchanged data is not tuned twice.
    """

    kind = models.CharField(max_length=10, choices=ItemKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=TuningStatus.choices)
    note = models.TextField(blank=True)
    fingerprint = models.CharField(max_length=200)
    settings_key = models.CharField(max_length=32, blank=True, help_text="hash of the settings it started from")
    als = models.JSONField(default=dict, blank=True, help_text="factors, regularization, alpha")
    blend = models.JSONField(default=dict, blank=True, help_text="the tuned blend weights, by BlendConfig field")
    validation_users = models.PositiveIntegerField(default=0)
    val_ndcg = models.FloatField(null=True, blank=True, help_text="validation NDCG@10 of the tuned blend")
    val_ndcg_settings = models.FloatField(null=True, blank=True, help_text="the same for the settings' blend")
    confirmation = models.JSONField(
        default=dict, blank=True, help_text="tuned vs settings on a second validation split, with a 95% interval"
    )
    grid_size = models.PositiveIntegerField(default=0)
    users = models.PositiveIntegerField(default=0)
    items = models.PositiveIntegerField(default=0)
    pairs = models.PositiveIntegerField(default=0)
    embedding_model = models.CharField(max_length=200, blank=True)
    seconds = models.FloatField(default=0)

    class Meta:
        indexes = [models.Index(fields=["kind", "-created_at"], name="blendtuning_kind_recent_idx")]

    def __str__(self) -> str:
        return f"{self.kind} tuning {self.created_at:%Y-%m-%d %H:%M} ({self.status})"


class RuleAction(models.TextChoices):
    PIN = "pin", "pin to a position"
    BOOST = "boost", "boost by a factor"
    BURY = "bury", "bury by a factor"
    BLOCK = "block", "block"


class RuleScope(models.TextChoices):
    ALL = "all", "all feeds"
    PLACES = "places", "places feed"
    CLIPS = "clips", "clips feed"


class CuratorRuleQuerySet(models.QuerySet["CuratorRule"]):
    def in_force(self, kind: str, at: datetime) -> CuratorRuleQuerySet:
        """Rules active at ``at`` that apply to the feed of ``kind`` ("place" or "clip")."""
        scope = RuleScope.PLACES if kind == ItemKind.PLACE else RuleScope.CLIPS
        return self.filter(
            Q(is_active=True),
            Q(scope__in=[RuleScope.ALL, scope]),
            Q(starts_at__isnull=True) | Q(starts_at__lte=at),
            Q(ends_at__isnull=True) | Q(ends_at__gt=at),
        )


class CuratorRule(models.Model):
    """A curator's instruction to the ranker: pin, boost, bury or block an item, a category or an area."""

    action = models.CharField(max_length=10, choices=RuleAction.choices)
    scope = models.CharField(max_length=10, choices=RuleScope.choices, default=RuleScope.ALL)
    place = models.ForeignKey(Place, null=True, blank=True, on_delete=models.CASCADE, related_name="curator_rules")
    clip = models.ForeignKey(Clip, null=True, blank=True, on_delete=models.CASCADE, related_name="curator_rules")
    category = models.CharField(max_length=100, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    radius_km = models.FloatField(null=True, blank=True)
    factor = models.FloatField(null=True, blank=True, help_text="boost: > 1, bury: between 0 and 1")
    position = models.PositiveSmallIntegerField(null=True, blank=True, help_text="pin: 1 = top of the feed")
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CuratorRuleQuerySet.as_manager()

    class Meta:
        constraints = [
            # Exactly one target: an item, a category, or an area.
            models.CheckConstraint(
                condition=(
                    Q(place__isnull=False, clip__isnull=True, category="", latitude__isnull=True)
                    | Q(place__isnull=True, clip__isnull=False, category="", latitude__isnull=True)
                    | (Q(place__isnull=True, clip__isnull=True, latitude__isnull=True) & ~Q(category=""))
                    | Q(
                        place__isnull=True,
                        clip__isnull=True,
                        category="",
                        latitude__isnull=False,
                        longitude__isnull=False,
                        radius_km__gt=0,
                    )
                ),
                name="curatorrule_exactly_one_target",
            ),
            models.CheckConstraint(
                condition=~Q(action="boost") | Q(factor__gt=1),
                name="curatorrule_boost_factor_above_1",
            ),
            models.CheckConstraint(
                condition=~Q(action="bury") | Q(factor__gt=0, factor__lt=1),
                name="curatorrule_bury_factor_between_0_and_1",
            ),
            models.CheckConstraint(
                condition=~Q(action="pin") | (Q(position__gte=1) & (Q(place__isnull=False) | Q(clip__isnull=False))),
                name="curatorrule_pin_needs_item_and_position",
            ),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True) | Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")),
                name="curatorrule_ends_after_start",
            ),
        ]
        indexes = [models.Index(fields=["is_active", "scope"], name="curatorrule_active_scope_idx")]

    def __str__(self) -> str:
        target = (
            self.place
            or self.clip
            or self.category
            or f"{self.radius_km} km around ({self.latitude}, {self.longitude})"
        )
        return f"{self.get_action_display()}: {target}"

    def clean(self) -> None:
        """Refuse rules that would apply nowhere (the feeds would skip them in silence)."""
        super().clean()
        if self.action == RuleAction.PIN and self.place_id is not None and self.scope == RuleScope.CLIPS:
            message = "a place's pin holds a position in the places feed; it has no one clip to pin in the clips feed"
            raise ValidationError({"scope": message})
        if self.clip_id is not None and self.scope == RuleScope.PLACES:
            raise ValidationError({"scope": "a rule about a clip applies to the clips feed, not the places feed"})


class CuratorRuleChange(models.Model):
    """The audit trail: every create, change and delete of a rule, with who and a snapshot."""

    rule_id_value = models.BigIntegerField(help_text="id of the rule (kept after the rule is deleted)")
    action = models.CharField(max_length=10)  # created / changed / deleted
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)
    snapshot = models.JSONField(default=dict)
    changes = models.JSONField(default=dict, help_text="field: [before, after]")

    class Meta:
        ordering = ["-changed_at", "-pk"]
        indexes = [models.Index(fields=["rule_id_value", "-changed_at"], name="rulechange_rule_recent_idx")]

    def __str__(self) -> str:
        return f"rule {self.rule_id_value} {self.action} at {self.changed_at:%Y-%m-%d %H:%M}"


class PipelineStatus(models.Model):
    """What the last sweep found, per kind of row: written by the worker, read by the admin."""

    kind = models.CharField(max_length=20, unique=True)  # reviews, searches, places, clips, keywords
    pending = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    swept_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "pipeline status"
        ordering = ["kind"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.pending} pending, {self.failed} failed"


class MutedKeyword(models.Model):
    """A learned interest the person removed: kept out of their profile, interest vector and reasons."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="muted_keywords")
    keyword = models.ForeignKey(Keyword, on_delete=models.CASCADE, related_name="muted_by")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "keyword"], name="mutedkeyword_unique")]

    def __str__(self) -> str:
        return f"{self.user_id} muted {self.keyword_id}"
