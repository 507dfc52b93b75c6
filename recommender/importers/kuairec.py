"""KuaiRec side information: ``kuairec_caption_category.csv`` -> Clip(source "kuairec", language "zh").

Title = caption, else the cover text, else "Video <id>" (300 chars max); category = first-level
category name ("UNKNOWN" -> ""); each ``topic_tag`` ("[a,b,c]") -> Keyword(language "zh") + ClipKeyword.
``item_categories.csv`` / ``user_features.csv`` are not imported (numeric ids, no interactions).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from clips.models import Clip
from recommender.importers.base import (
    ImportContext,
    Where,
    ensure_keywords,
    read_csv_raw,
    upsert,
    upsert_by_external_id,
)
from recommender.models import ClipKeyword

FILE = "kuairec_caption_category.csv"
COLUMNS = ("video_id", "manual_cover_text", "caption", "topic_tag", "first_level_category_name")


def _unknown(value: str) -> str:
    value = value.strip()
    return "" if value == "UNKNOWN" else value


def _repaired_rows(ctx: ImportContext) -> Iterator[tuple[Where, dict[str, str]]]:
    """Rows, re-joining the few records whose caption holds an unquoted line break.

    The published file has 4 captions with a bare carriage return outside quotes, which any CSV
    reader takes as the end of the record: a short record (video_id, cover, start of caption)
    followed by the rest (end of caption, topic_tag, categories). When the two widths add up to
    one row they are merged (the break kept as "\\n"); any other wrong width is an error.
    """
    pending: tuple[Where, list[str]] | None = None
    width = 0
    for where, header, values in read_csv_raw(ctx, FILE, COLUMNS):
        width = len(header)
        if pending is not None:
            start, head = pending
            pending = None
            if len(head) + len(values) - 1 == width:
                merged = [*head[:-1], head[-1] + "\n" + values[0], *values[1:]]
                yield start, dict(zip(header, merged, strict=True))
                continue
            raise start.error(f"expected {width} fields, found {len(head)}")
        if len(values) == width:
            yield where, dict(zip(header, values, strict=True))
        elif len(values) < width:
            pending = (where, values)
        else:
            raise where.error(f"expected {width} fields, found {len(values)}")
    if pending is not None and ctx.limit is not None:
        ctx.skip("split record cut in half by --limit")
    elif pending is not None:
        raise pending[0].error(f"expected {width} fields, found {len(pending[1])}")


def _tags(value: str) -> list[str]:
    text = value.strip()
    if not (text.startswith("[") and text.endswith("]")):
        raise ValueError(f"topic_tag {value!r} is not a [tag,tag,...] list")
    return list(dict.fromkeys(t.strip()[:100] for t in text[1:-1].split(",") if t.strip()))


def run(ctx: ImportContext) -> None:
    """Import the clips and their topic tags."""
    clips: dict[str, dict[str, Any]] = {}
    tags: dict[str, list[str]] = {}
    for where, row in _repaired_rows(ctx):
        with where:
            video_id = row["video_id"].strip()
            if not video_id.isdigit():
                raise ValueError(f"video_id {video_id!r} is not a number")
            caption = row["caption"].strip()
            cover = _unknown(row["manual_cover_text"])
            clips[video_id] = {
                "title": (caption or cover or f"Video {video_id}")[:300],
                "caption": caption,
                "category": _unknown(row["first_level_category_name"])[:100],
                "language": "zh",
            }
            tags[video_id] = _tags(row["topic_tag"])

    clip_ids = upsert_by_external_id(ctx, Clip, clips)
    keyword_ids = ensure_keywords(ctx, {(t, "zh"): {} for ts in tags.values() for t in ts})
    links = {(clip_ids[video_id], keyword_ids[(t, "zh")]): {"weight": 1.0} for video_id, ts in tags.items() for t in ts}
    upsert(
        ctx,
        ClipKeyword,
        "ClipKeyword",
        ("clip_id", "keyword_id"),
        links,
        ClipKeyword.objects.filter(clip__source=ctx.source),
    )
