"""Shared machinery for dataset importers.

Every importer parses and validates its whole input first (raising :class:`ImportFileError`,
which names the file and line), then writes with the bulk helpers here. The management command
wraps the whole run in one transaction, so a malformed file leaves the database unchanged.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import CommandError
from django.db import models
from django.utils import timezone
from tqdm import tqdm

from recommender.models import Interaction, Keyword

BATCH_SIZE = 1000

# The datasets without dates (Kakao reviews, Foursquare check-ins) get this fixed, deterministic
# time, so a re-run compares equal and changes nothing.
UNDATED = dt.datetime(2022, 1, 1, tzinfo=dt.UTC)


class ImportFileError(CommandError):
    """Malformed input: the message always names the file and, where known, the line."""

    def __init__(self, file: str, line: int | None, message: str) -> None:
        where = f"{file} line {line}" if line is not None else file
        super().__init__(f"{where}: {message}")
        self.file = file
        self.line = line


class Where:
    """A file + line position; as a context manager it turns ``ValueError`` into ``ImportFileError``."""

    def __init__(self, file: str, line: int | None) -> None:
        self.file = file
        self.line = line

    def error(self, message: str) -> ImportFileError:
        """An :class:`ImportFileError` at this position."""
        return ImportFileError(self.file, self.line, message)

    def __enter__(self) -> Where:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None and issubclass(exc_type, ValueError) and not isinstance(exc, ImportFileError):
            raise self.error(str(exc)) from exc


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ImportContext:
    """What every importer gets: the folder, the source name, the row limit, progress and summary."""

    folder: Path
    source: str
    limit: int | None = None
    progress: TextIO | None = None
    summary: dict[str, Counts] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def counts(self, label: str) -> Counts:
        """The (created, updated, unchanged) counter of ``label``, made on first use."""
        return self.summary.setdefault(label, Counts())

    def skip(self, reason: str) -> None:
        """Count one row skipped for ``reason`` (only ever with --limit: a reference outside the limit)."""
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def file(self, name: str) -> Path:
        """The path of ``name`` in the dataset folder; a missing file is a ``CommandError`` naming it."""
        path = self.folder / name
        if not path.is_file():
            raise CommandError(f"missing file: {path}")
        return path

    def bar(self, iterable: Iterable[Any], desc: str, total: int | None = None) -> Iterator[Any]:
        """``iterable`` wrapped in a tqdm progress bar on the progress stream (stderr)."""
        return iter(tqdm(iterable, desc=desc, total=total, file=self.progress, disable=self.progress is None))


def render_summary(ctx: ImportContext) -> str:
    """The end-of-run table: per model, how many rows were created, updated and left unchanged."""
    lines = [f"{'model':<16}{'created':>10}{'updated':>10}{'unchanged':>11}"]
    for label, c in ctx.summary.items():
        lines.append(f"{label:<16}{c.created:>10}{c.updated:>10}{c.unchanged:>11}")
    for reason, n in ctx.skipped.items():
        lines.append(f"skipped {n} row(s): {reason}")
    return "\n".join(lines)


# --- reading --------------------------------------------------------------------------------


def read_csv(
    ctx: ImportContext, name: str, required: Sequence[str], delimiter: str = ",", quoted: bool = True
) -> Iterator[tuple[Where, dict[str, str]]]:
    """Rows of the CSV ``name`` as dicts with their position (the line the record starts on).

    UTF-8, a BOM tolerated; quoted fields may span lines. Stops after ``ctx.limit`` rows. A missing
    required column, a row of the wrong width or undecodable bytes raise :class:`ImportFileError`.
    """
    for where, header, values in read_csv_raw(ctx, name, required, delimiter, quoted):
        if len(values) != len(header):
            raise where.error(f"expected {len(header)} fields, found {len(values)}")
        yield where, dict(zip(header, values, strict=True))


def read_csv_raw(
    ctx: ImportContext, name: str, required: Sequence[str], delimiter: str = ",", quoted: bool = True
) -> Iterator[tuple[Where, list[str], list[str]]]:
    """Like :func:`read_csv` but yields (position, header, field list) without a width check.

    ``quoted`` False: no field is quoted, a quote is text (Last.fm's tab-separated files)."""
    path = ctx.file(name)
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = (
            csv.reader(fh, delimiter=delimiter)
            if quoted
            else csv.reader(fh, delimiter=delimiter, quoting=csv.QUOTE_NONE)
        )
        try:
            first = next(reader, None)
            if first is None:
                raise ImportFileError(name, 1, "empty file (no header row)")
            header = [h.strip() for h in first]
            missing = [c for c in required if c not in header]
            if missing:
                raise ImportFileError(name, 1, f"missing column(s): {', '.join(missing)}")
            count = 0
            start = reader.line_num + 1
            for row in ctx.bar(reader, desc=name):
                where = Where(name, start)
                start = reader.line_num + 1
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if ctx.limit is not None and count >= ctx.limit:
                    break
                if any("\x00" in field for field in row):  # PostgreSQL text cannot hold it
                    raise where.error("a NUL byte (\\x00) in the row: not text")
                count += 1
                yield where, header, row
        except UnicodeDecodeError as exc:
            raise ImportFileError(name, reader.line_num + 1, f"not valid UTF-8 ({exc.reason})") from exc
        except csv.Error as exc:
            raise ImportFileError(name, reader.line_num, f"CSV error: {exc}") from exc


def read_lines(ctx: ImportContext, name: str, skip_header: bool = False) -> Iterator[tuple[Where, str]]:
    """Non-blank lines of the text file ``name`` (UTF-8, BOM tolerated), line-ending stripped."""
    path = ctx.file(name)
    count = 0
    with path.open(encoding="utf-8-sig", newline="") as fh:
        try:
            for number, line in enumerate(ctx.bar(fh, desc=name), start=1):
                if skip_header and number == 1:
                    continue
                line = line.rstrip("\r\n")
                if not line.strip():
                    continue
                if ctx.limit is not None and count >= ctx.limit:
                    break
                if "\x00" in line:  # PostgreSQL text cannot hold it
                    raise ImportFileError(name, number, "a NUL byte (\\x00) in the line: not text")
                count += 1
                yield Where(name, number), line
        except UnicodeDecodeError as exc:
            raise ImportFileError(name, count + 1, f"not valid UTF-8 ({exc.reason})") from exc


def read_json_lines(ctx: ImportContext, name: str) -> Iterator[tuple[Where, dict[str, Any]]]:
    """Objects of the JSON-lines file ``name``; a line that is not a JSON object is an error."""
    for where, line in read_lines(ctx, name):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise where.error(f"bad JSON ({exc.msg})") from exc
        if not isinstance(obj, dict):
            raise where.error("expected a JSON object")
        yield where, obj


# --- parsing (each raises ValueError with a readable message; ``Where`` adds file + line) ---


def parse_float(value: str, what: str, *, lo: float | None = None, hi: float | None = None) -> float:
    """``value`` as a finite float within [lo, hi]."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{what} {value!r} is not a number") from None
    if not math.isfinite(number) or (lo is not None and number < lo) or (hi is not None and number > hi):
        raise ValueError(f"{what} {value!r} is out of range {lo} to {hi}")
    return number


def parse_int(value: str, what: str, *, lo: int | None = None, hi: int | None = None) -> int:
    """``value`` as a whole number (``"4.0"`` accepted) within [lo, hi]."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number != int(number):
        raise ValueError(f"{what} {value!r} is not a whole number")
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        raise ValueError(f"{what} {value!r} is out of range {lo} to {hi}")
    return int(number)


def parse_rating(value: str) -> int:
    """A 1-5 star rating (``"4"`` or ``"4.0"``)."""
    try:
        return parse_int(value, "rating", lo=1, hi=5)
    except ValueError:
        raise ValueError(f"rating {value!r} is not a number 1-5") from None


def parse_lat_lon(lat: str, lon: str) -> tuple[float, float]:
    """A latitude/longitude pair, range-checked."""
    return parse_float(lat, "latitude", lo=-90, hi=90), parse_float(lon, "longitude", lo=-180, hi=180)


def parse_datetime(value: str, what: str = "timestamp") -> dt.datetime:
    """An ISO 8601 date or date-time; naive values are taken as UTC."""
    text = value.strip()
    try:
        if len(text) == 10:
            parsed = dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
        else:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{what} {value!r} is not an ISO 8601 date") from None
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        parsed.astimezone(dt.UTC)
    except OverflowError:
        # 9999-12-31T23:00-05:00 is in the year 10000 in UTC, 0001-01-01T00:00+09:00 in the year 0:
        # stored, such a time could not be read back, and every later import and export would fail.
        raise ValueError(f"{what} {value!r} is outside the years 1-9999 in UTC") from None
    return parsed


def stable_id(*parts: str) -> str:
    """A stable sha1 hex id of ``parts`` (for rows the source gives no id)."""
    return hashlib.sha1("\x1f".join(parts).encode("utf-8"), usedforsecurity=False).hexdigest()


def interaction_key(*parts: str) -> str:
    """An idempotency key from ``parts`` joined by ':'; hashed if it would not fit in 200 chars."""
    key = ":".join(parts)
    return key if len(key) <= 200 else f"{parts[0]}:sha1:{stable_id(*parts)}"


# --- writing ----------------------------------------------------------------------------------


def ensure_users(ctx: ImportContext, external_ids: Iterable[str]) -> dict[str, int]:
    """Map each dataset user id to a Django user ``f"{source}:{id}"``, creating missing ones in bulk.

    The colon never occurs in a sign-up username, so these cannot collide with real accounts;
    imported users get an unusable password.
    """
    user_model = get_user_model()
    prefix = f"{ctx.source}:"
    wanted = {f"{prefix}{ext}": ext for ext in external_ids}
    longest = user_model._meta.get_field("username").max_length or 150
    too_long = sorted(ext for name, ext in wanted.items() if len(name) > longest)
    if too_long:
        raise ImportFileError(
            "users",
            None,
            f"user id {too_long[0]!r} is too long with the source {ctx.source!r}: "
            f"'source:user_id' must fit in {longest} characters (a shorter --source leaves more room)",
        )
    existing = dict(user_model.objects.filter(username__startswith=prefix).values_list("username", "id"))
    missing = [name for name in wanted if name not in existing]
    users = [user_model(username=name, password=make_password(None)) for name in missing]
    for batch_start in ctx.bar(range(0, len(users), BATCH_SIZE), desc="users"):
        created = user_model.objects.bulk_create(users[batch_start : batch_start + BATCH_SIZE])
        existing.update((u.username, u.pk) for u in created)
    counts = ctx.counts("User")
    counts.created += len(missing)
    counts.unchanged += len(wanted) - len(missing)
    return {ext: existing[name] for name, ext in wanted.items()}


def upsert(
    ctx: ImportContext,
    model: type[models.Model],
    label: str,
    key_fields: Sequence[str],
    rows: Mapping[tuple[Any, ...], dict[str, Any]],
    existing: models.QuerySet[Any],
) -> dict[tuple[Any, ...], int]:
    """Create or update ``rows`` (key tuple -> field values) and return key -> primary key.

    ``existing`` is the queryset the keys are looked up in (e.g. the source's rows); rows whose
    values differ are bulk-updated, missing ones bulk-created, equal ones left alone. Works with
    partial unique indexes (no ON CONFLICT). Every row must carry the same value fields.
    """
    value_fields = sorted({f for values in rows.values() for f in values})
    found = {tuple(r[k] for k in key_fields): r for r in existing.values("id", *key_fields, *value_fields)}
    has_updated_at = any(f.name == "updated_at" for f in model._meta.get_fields())
    now = timezone.now()
    to_create: list[models.Model] = []
    create_keys: list[tuple[Any, ...]] = []
    to_update: list[models.Model] = []
    ids: dict[tuple[Any, ...], int] = {}
    counts = ctx.counts(label)
    for key, values in rows.items():
        current = found.get(key)
        if current is None:
            to_create.append(model(**dict(zip(key_fields, key, strict=True)), **values))
            create_keys.append(key)
            continue
        ids[key] = current["id"]
        if all(_same(current[f], v) for f, v in values.items()):
            counts.unchanged += 1
            continue
        obj = model(id=current["id"], **dict(zip(key_fields, key, strict=True)), **values)
        if has_updated_at:
            obj.updated_at = now  # type: ignore[attr-defined]
        to_update.append(obj)
    for start in ctx.bar(range(0, len(to_create), BATCH_SIZE), desc=f"{label} create"):
        model._default_manager.bulk_create(to_create[start : start + BATCH_SIZE])
    for key, obj in zip(create_keys, to_create, strict=True):
        ids[key] = obj.pk
    update_fields = [*value_fields, *(["updated_at"] if has_updated_at else [])]
    if to_update and update_fields:
        for start in ctx.bar(range(0, len(to_update), BATCH_SIZE), desc=f"{label} update"):
            model._default_manager.bulk_update(to_update[start : start + BATCH_SIZE], update_fields)
    counts.created += len(to_create)
    counts.updated += len(to_update)
    return ids


def _same(current: Any, new: Any) -> bool:
    if isinstance(current, float) and isinstance(new, float):
        return math.isclose(current, new, rel_tol=1e-12, abs_tol=1e-12)
    return bool(current == new)


def upsert_by_external_id(
    ctx: ImportContext,
    model: type[models.Model],
    rows: Mapping[str, dict[str, Any]],
    source: str | None = None,
) -> dict[str, int]:
    """:func:`upsert` keyed by (source, external_id); returns external_id -> primary key."""
    source = source or ctx.source
    keyed = {(source, ext): values for ext, values in rows.items()}
    existing = model._default_manager.filter(source=source).exclude(external_id="")
    ids = upsert(ctx, model, model.__name__, ("source", "external_id"), keyed, existing)
    return {ext: pk for (_, ext), pk in ids.items()}


def existing_ids(model: type[models.Model], source: str) -> dict[str, int]:
    """external_id -> primary key of the rows of ``source`` already stored (for resolving references)."""
    qs = model._default_manager.filter(source=source).exclude(external_id="")
    return dict(qs.values_list("external_id", "id"))


def upsert_interactions(ctx: ImportContext, rows: Mapping[tuple[int, str], dict[str, Any]]) -> None:
    """Create or update interactions keyed by (user id, idempotency key).

    Keys always start with ``f"{source}:"``, so only this source's interactions are loaded to compare.
    """
    existing = Interaction.objects.filter(idempotency_key__startswith=f"{ctx.source}:")
    upsert(ctx, Interaction, "Interaction", ("user_id", "idempotency_key"), rows, existing)


def ensure_keywords(
    ctx: ImportContext, keywords: Mapping[tuple[str, str], dict[str, Any]]
) -> dict[tuple[str, str], int]:
    """Get or create keywords keyed by (text, language); returns that key -> primary key."""
    texts = {text for text, _ in keywords}
    existing = Keyword.objects.filter(text__in=texts)
    ids = upsert(ctx, Keyword, "Keyword", ("text", "language"), keywords, existing)
    return {(str(k[0]), str(k[1])): v for k, v in ids.items()}
