"""export_data: the database in the generic CSV format, which import_data and evaluate read back."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from clips.models import Clip
from places.models import Place, Review
from recommender import exporting
from recommender.models import Interaction, InteractionKind, SearchQuery
from tests.factories import (
    ClipFactory,
    InteractionFactory,
    PlaceFactory,
    ReviewFactory,
    SearchQueryFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

AT = timezone.make_aware(dt.datetime(2025, 5, 1, 14, 30), dt.UTC)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _catalogue() -> dict[str, object]:
    """Korean and English rows with every optional column used, and two identical key-less events."""
    ana, bo = UserFactory(username="ana.kim"), UserFactory(username="bo.lee")
    river = PlaceFactory(
        name="한강뷰 카페",
        district="망원동",
        address="서울 마포구 망원로 1",
        description='조용하고 "뷰"가 좋아요,\n공부하기 좋아요',
        opening_hours={"mon": [["09:00", "24:00"]], "sat": [["22:00", "02:00"]]},
    )
    plain = PlaceFactory(name="Corner Bakery", latitude=None, longitude=None, district="", category="")
    tour = ClipFactory(title="망원 카페 투어", caption="한강 보이는 카페 3곳", place=river, language="ko")
    ClipFactory(title="Night walk", media_url="https://cdn.example.com/w.mp4", duration_seconds=12.5)
    # Weighed by an importer (five check-ins), not by its kind; keyed by another system's user id.
    InteractionFactory(
        user=ana,
        place=river,
        kind=InteractionKind.VISIT,
        weight=7.5,
        occurred_at=AT,
        idempotency_key="fsq:ana@corp.kr:1",
    )
    for _ in range(2):  # alike in every column: still two events
        InteractionFactory(user=ana, place=plain, kind=InteractionKind.VIEW, occurred_at=AT)
    InteractionFactory(user=bo, place=None, clip=tour, kind=InteractionKind.WATCH, watched_fraction=0.4, occurred_at=AT)
    InteractionFactory(user=bo, place=plain, kind=InteractionKind.DISLIKE, occurred_at=AT, idempotency_key="app-7")
    ReviewFactory(user=ana, place=river, rating=None, text="커피가 맛있고\n뷰가 좋아요", language="ko", created_at=AT)
    SearchQueryFactory(user=bo, text="quiet cafe, river view", language="en", created_at=AT)
    return {"river": river, "tour": tour}


def _events(copies: bool) -> list[tuple[str, str, str, float, float | None, dt.datetime]]:
    """Every interaction as (person, item name, kind, weight, fraction, time), originals or copies.

    An imported person is the user ``copy:<original user's id>``: named here by that original."""
    names = dict(User.objects.values_list("pk", "username"))
    rows = Interaction.objects.filter(source="copy") if copies else Interaction.objects.exclude(source="copy")
    out = []
    for i in rows.select_related("user", "place", "clip"):
        person = names[int(i.user.username.removeprefix("copy:"))] if copies else i.user.username
        item = i.place.name if i.place is not None else i.clip.title  # type: ignore[union-attr]
        out.append((person, item, i.kind, i.weight, i.watched_fraction, i.occurred_at))
    return sorted(out, key=repr)


def test_an_export_imports_back_as_the_same_catalogue_and_activity(tmp_path: Path) -> None:
    made = _catalogue()
    call_command("export_data", str(tmp_path), "--no-progress")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(exporting.FILES)  # nothing partial left
    call_command("import_data", "generic", str(tmp_path), "--source", "copy")

    originals = {p.name: p for p in Place.objects.exclude(source="copy")}
    copies = {p.name: p for p in Place.objects.filter(source="copy")}
    assert copies.keys() == originals.keys()
    for name, copy in copies.items():
        original = originals[name]
        assert copy.external_id == str(original.pk)
        for field in ("district", "address", "description", "latitude", "longitude", "opening_hours", "category"):
            assert getattr(copy, field) == getattr(original, field), (name, field)
    tour = Clip.objects.get(source="copy", title="망원 카페 투어")
    assert tour.place == copies["한강뷰 카페"] and tour.caption == made["tour"].caption  # type: ignore[attr-defined]
    walk = Clip.objects.get(source="copy", title="Night walk")
    assert (walk.media_url, walk.duration_seconds) == ("https://cdn.example.com/w.mp4", 12.5)

    # Every event, with its kind, weight, watched share and time; the two alike events stay two.
    assert _events(copies=True) == _events(copies=False)
    assert Interaction.objects.filter(source="copy").count() == 5
    review = Review.objects.get(source="copy")
    assert (review.text, review.rating, review.created_at) == ("커피가 맛있고\n뷰가 좋아요", None, AT)
    assert SearchQuery.objects.get(source="copy").text == "quiet cafe, river view"


def test_an_export_names_people_only_by_their_number(tmp_path: Path) -> None:
    _catalogue()
    call_command("export_data", str(tmp_path), "--no-progress")
    written = "".join(p.read_text(encoding="utf-8") for p in tmp_path.iterdir())
    assert "ana.kim" not in written and "bo.lee" not in written and "@example.com" not in written
    assert "ana@corp.kr" not in written  # an imported event's key holds its source's user id
    people = {row["user_id"] for row in _read(tmp_path / "interactions.csv")}
    assert people == {
        str(pk) for pk in User.objects.filter(username__in=["ana.kim", "bo.lee"]).values_list("pk", flat=True)
    }


def test_an_interrupted_export_leaves_the_folder_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _catalogue()
    for name in ("items.csv", "reviews.csv"):
        (tmp_path / name).write_text("an older export\n", encoding="utf-8")
    rows = exporting._rows

    def broken(queryset, *fields):  # type: ignore[no-untyped-def]
        yield from rows(queryset, *fields)
        if queryset.model is Review:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(exporting, "_rows", broken)
    with pytest.raises(CommandError, match="No space left on device"):
        call_command("export_data", str(tmp_path), "--no-progress")
    # items.csv and interactions.csv were complete before the fault, but they do not replace the
    # older export's: a folder never mixes two snapshots. Nothing partial is left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["items.csv", "reviews.csv"]
    assert all(p.read_text(encoding="utf-8") == "an older export\n" for p in tmp_path.iterdir())


@pytest.mark.django_db(transaction=True)
def test_an_export_reads_one_snapshot_while_people_keep_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg
    from django.db import connection

    person, place = UserFactory(), PlaceFactory()
    InteractionFactory(user=person, place=place)
    params = connection.get_connection_params()
    dsn = psycopg.conninfo.make_conninfo(**{k: v for k, v in params.items() if isinstance(v, str | int)})
    original = exporting._interactions

    def meanwhile(events):  # type: ignore[no-untyped-def]
        # items.csv is written; another process now adds a place and a visit to it.
        with psycopg.connect(dsn, autocommit=True) as other:
            new_place = other.execute(
                "INSERT INTO places_place (name, category, address, district, opening_hours, description, source,"
                " external_id, is_active, keyword_summary, embedding_key, created_at, updated_at)"
                " VALUES ('Opened meanwhile', '', '', '', '{}', '', 'manual', '', true, '', '', now(), now())"
                " RETURNING id"
            ).fetchone()[0]  # type: ignore[index]
            other.execute(
                "INSERT INTO recommender_interaction (user_id, place_id, kind, weight, occurred_at, created_at, source)"
                " VALUES (%s, %s, 'visit', 3, now(), now(), 'app')",
                (person.pk, new_place),
            )
        yield from original(events)

    monkeypatch.setattr(exporting, "_interactions", meanwhile)
    exporting.export_generic(tmp_path)
    assert Interaction.objects.count() == 2  # the write went through
    assert len((tmp_path / "interactions.csv").read_text().splitlines()) == 2  # header + the snapshot's one
    call_command("import_data", "generic", str(tmp_path), "--source", "copy")  # every reference resolves


def test_an_export_of_one_item_type_keeps_its_activity_and_every_search(tmp_path: Path) -> None:
    _catalogue()
    call_command("export_data", str(tmp_path / "clips"), "--item-type", "clip", "--no-progress")
    items = _read(tmp_path / "clips" / "items.csv")
    assert [row["item_type"] for row in items] == ["clip", "clip"]
    assert all(row["place_id"] == "" for row in items)  # no reference to a place that is not there
    events = _read(tmp_path / "clips" / "interactions.csv")
    assert [(row["item_type"], row["kind"]) for row in events] == [("clip", "watch")]
    assert _read(tmp_path / "clips" / "reviews.csv") == []
    assert [row["text"] for row in _read(tmp_path / "clips" / "searches.csv")] == ["quiet cafe, river view"]
    call_command("import_data", "generic", str(tmp_path / "clips"), "--source", "copy")  # and it reads back
    assert Interaction.objects.filter(source="copy", clip__isnull=False).count() == 1

    call_command("export_data", str(tmp_path / "places"), "--item-type", "place", "--no-progress")
    assert {row["item_type"] for row in _read(tmp_path / "places" / "items.csv")} == {"place"}
    kinds = sorted(row["kind"] for row in _read(tmp_path / "places" / "interactions.csv"))
    assert kinds == ["dislike", "view", "view", "visit"]
    assert len(_read(tmp_path / "places" / "reviews.csv")) == 1


def test_export_data_refuses_a_path_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.write_text("x", encoding="utf-8")
    with pytest.raises(CommandError, match="not a folder"):
        call_command("export_data", str(target))
    with pytest.raises(ValueError, match="item type must be one of place, clip"):
        exporting.export_generic(tmp_path / "out", item_type="video")


def test_evaluate_tunes_on_an_export_of_the_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from recommender import evaluation

    # 30 people, each visiting a few of 12 places in two neighbourhoods: enough to split and tune.
    people = [UserFactory() for _ in range(30)]
    places = [PlaceFactory(district="망원동" if i < 6 else "성수동", latitude=37.5 + i / 100) for i in range(12)]
    for n, person in enumerate(people):
        for k in range(4):
            InteractionFactory(user=person, place=places[(n % 2) * 6 + (n + k) % 6], kind=InteractionKind.VISIT)
    call_command("export_data", str(tmp_path / "export"), "--no-progress")
    monkeypatch.setattr(evaluation, "TUNE_ALS", ())
    monkeypatch.setattr(evaluation, "TUNE_GRID", {"popularity": (0.5, 2.0)})
    monkeypatch.setattr(evaluation, "TUNE_GEO_GRID", {"geo_strength": (1.0,), "usual_area_half": (0.0,)})
    report = tmp_path / "report.json"
    call_command(
        "evaluate", "generic", "--path", str(tmp_path / "export"), "--embedding-model", "none", "--tune",
        "--factors", "4", "--iterations", "3", "--sample-users", "0", "--json", str(report),
    )  # fmt: skip
    result = json.loads(report.read_text())
    assert result["catalogue"] == {"users": 30, "items": 12, "pairs": 120}
    assert result["evaluated_users"] > 0 and result["tuned"]["config"]["popularity"] in (0.5, 2.0)
