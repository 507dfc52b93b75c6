"""Curator rules: saving them with an audit trail, and loading those in force for a feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from django.contrib.auth.models import User
from django.db import transaction
from django.forms.models import model_to_dict

from recommender import feed_cache
from recommender.models import CuratorRule, CuratorRuleChange, ItemKind, RuleAction
from recommender.ranking.rules import Rule


def _snapshot(rule: CuratorRule) -> dict[str, Any]:
    data = model_to_dict(rule)
    return {key: (value.isoformat() if isinstance(value, datetime) else value) for key, value in data.items()}


def save_rule(rule: CuratorRule, user: User | None) -> CuratorRule:
    """Validate and save a rule, recording who changed what. Raises ValidationError for bad rules."""
    rule.full_clean()
    with transaction.atomic():
        before = None
        if rule.pk is not None:
            previous = CuratorRule.objects.select_for_update().filter(pk=rule.pk).first()
            before = _snapshot(previous) if previous is not None else None
        if rule.pk is None and rule.created_by_id is None and user is not None:
            rule.created_by = user
        rule.save()
        feed_cache.touch_catalogue()
        after = _snapshot(rule)
        changes = {
            key: [before.get(key) if before else None, value]
            for key, value in after.items()
            if before is None or before.get(key) != value
        }
        CuratorRuleChange.objects.create(
            rule_id_value=rule.pk,
            action="created" if before is None else "changed",
            changed_by=user,
            snapshot=after,
            changes=changes,
        )
    return rule


def delete_rule(rule: CuratorRule, user: User | None) -> None:
    with transaction.atomic():
        CuratorRuleChange.objects.create(
            rule_id_value=rule.pk, action="deleted", changed_by=user, snapshot=_snapshot(rule), changes={}
        )
        rule.delete()
        feed_cache.touch_catalogue()


def rules_in_force(kind: str, at: datetime) -> list[Rule]:
    """The rules the ranker applies to a feed of ``kind`` at time ``at``, as plain values."""
    item_field = "place_id" if kind == ItemKind.PLACE else "clip_id"
    other_field = "clip_id" if kind == ItemKind.PLACE else "place_id"
    rules = []
    rows = cast(list[dict[str, Any]], list(CuratorRule.objects.in_force(kind, at).order_by("pk").values()))
    for row in rows:
        about_place = kind == ItemKind.CLIP and row["place_id"] is not None
        if about_place and row["action"] == RuleAction.PIN:
            continue  # a place's pin holds a position in the places feed; it has no one clip to pin
        if row[other_field] is not None and not about_place:
            continue  # a rule about a clip says nothing about the places feed
        rules.append(
            Rule(
                rule_id=row["id"],
                action=row["action"],
                item_id=row[item_field],
                place_id=row["place_id"] if about_place else None,
                category=row["category"],
                latitude=row["latitude"],
                longitude=row["longitude"],
                radius_km=row["radius_km"],
                factor=row["factor"],
                position=row["position"] if row["action"] == RuleAction.PIN else None,
            )
        )
    return rules
