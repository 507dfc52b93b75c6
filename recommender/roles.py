"""The curator role: everything about the catalogue, keywords, rules and models; nothing about accounts."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

CURATORS = "Curators"
CURATOR_APPS = ("places", "clips", "recommender")


def ensure_curator_group(**kwargs: Any) -> Group:
    """Create or refresh the Curators group (run after every migrate, so new models are covered)."""
    group, _ = Group.objects.get_or_create(name=CURATORS)
    permissions = Permission.objects.filter(content_type__app_label__in=CURATOR_APPS)
    group.permissions.set(permissions)
    return group
