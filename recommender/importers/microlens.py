"""MicroLens-50k titles: ``MicroLens-50k_titles.csv`` (``item,title``) -> Clip(source "microlens")."""

from __future__ import annotations

from typing import Any

from clips.models import Clip
from recommender.importers.base import ImportContext, read_csv, upsert_by_external_id


def run(ctx: ImportContext) -> None:
    """Import the English clip titles (the interaction pairs are not in the dataset folder)."""
    clips: dict[str, dict[str, Any]] = {}
    for where, row in read_csv(ctx, "MicroLens-50k_titles.csv", ("item", "title")):
        with where:
            item, title = row["item"].strip(), row["title"].strip()
            if not item:
                raise ValueError("item must not be empty")
            clips[item] = {"title": title[:300] or f"Video {item}", "caption": title, "language": "en"}
    upsert_by_external_id(ctx, Clip, clips)
