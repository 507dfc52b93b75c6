"""import_data: every format on the real files (limited), idempotency, generic round trip, bad input."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from clips.models import Clip
from places.models import Place, Review
from recommender.evaluation.datasets import load_lastfm
from recommender.models import (
    ClipKeyword,
    Interaction,
    InteractionKind,
    Keyword,
    PlaceKeyword,
    SearchQuery,
    interaction_weight,
)

User = get_user_model()
BUSINESS = "yelp_academic_dataset_business.json"
TIP = "yelp_academic_dataset_tip.json"
MODELS = (Place, Review, Clip, Interaction, SearchQuery, Keyword, PlaceKeyword, ClipKeyword, User)


def run_import(fmt: str, path: Path, *args: str) -> str:
    """Run the command; return its stdout (the summary)."""
    out, err = StringIO(), StringIO()
    call_command("import_data", fmt, str(path), *args, stdout=out, stderr=err)
    return out.getvalue()


def table_counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in MODELS}


def summary_rows(summary: str) -> dict[str, tuple[int, int, int]]:
    """model -> (created, updated, unchanged), parsed from the summary table."""
    rows = [line.split() for line in summary.splitlines()[1:]]
    return {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in rows if len(r) == 4 and r[1].isdigit()}


def created_column(summary: str) -> dict[str, int]:
    """model -> created, parsed from the summary table."""
    return {model: counts[0] for model, counts in summary_rows(summary).items()}


def first_rows(path: Path, n: int, delimiter: str = ",") -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        return [row for _, row in zip(range(n), reader, strict=False)]


# --- real datasets --------------------------------------------------------------------------


@pytest.mark.shared_data
@pytest.mark.django_db
def test_korean_cafes_imports_places_reviews_visits_and_naver_keywords(shared_data: Path) -> None:
    folder = shared_data / "korean_cafes"
    n = 300
    run_import("korean_cafes", folder, "--limit", str(n))

    reviews = first_rows(folder / "reviews.csv", n)
    naver = first_rows(folder / "naver_review.csv", n)
    crawl = first_rows(folder / "naver_crawled_total.csv", n)
    naver_keys = {f"{r['search_name']} {r['address']}" for r in naver}
    crawl_keys = {f"{r['search_name']} {r['address']}" for r in crawl if r["same"] == "True"} - naver_keys
    cafes = {r["cafe"] for r in reviews}
    assert Review.objects.filter(source="kakao").count() == n
    assert set(Place.objects.filter(source="kakao").values_list("external_id", flat=True)) == (
        cafes | naver_keys | crawl_keys
    )
    assert User.objects.filter(username__startswith="kakao:").count() == len({r["user_id"] for r in reviews})

    first = reviews[0]
    place = Place.objects.get(source="kakao", external_id=first["cafe"])
    assert (place.name, place.district, place.category) == (first["name"], first["address"], "cafe")
    review = Review.objects.get(place=place, user__username=f"kakao:{first['user_id']}")
    assert review.text == first["review"].strip() and "\n" in review.text  # multi-line Korean intact
    assert review.rating == int(float(first["rating"])) and review.language == "ko"

    visits = Interaction.objects.filter(source="kakao")
    assert visits.count() == n
    assert set(visits.values_list("kind", "weight").distinct()) == {("visit", interaction_weight("visit"))}

    bubble = Place.objects.get(source="kakao", external_id="버블베어 방화동")
    assert bubble.address == "서울 강서구 금낭화로 167 방화8단지개화아파트"
    link = PlaceKeyword.objects.get(place=bubble, keyword__text="커피가 맛있어요", source="naver")
    assert link.count == 7 and link.weight == pytest.approx(7 / 18)
    assert link.keyword.tag_en == "great coffee" and link.keyword.language == "ko"
    assert not PlaceKeyword.objects.filter(place=bubble, keyword__text="대화하기 좋아요").exists()  # count 0


@pytest.mark.shared_data
@pytest.mark.django_db
def test_foursquare_imports_located_pois_and_weighted_visits(shared_data: Path) -> None:
    folder = shared_data / "foursquare_singapore"
    n = 2000
    summary = run_import("foursquare", folder, "--limit", str(n))

    locations = [line.split() for line in (folder / "FoursquareLocation.txt").read_text().splitlines()[:n]]
    assert Place.objects.filter(source="foursquare").count() == n
    loc, lat, lon = locations[0]
    place = Place.objects.get(source="foursquare", external_id=loc)
    assert (place.latitude, place.longitude) == (float(lat), float(lon))
    assert place.name == f"Singapore POI {loc.removeprefix('LOC_')}"

    known = {row[0] for row in locations}
    checkins = [line.split() for line in (folder / "train.txt").read_text().splitlines()[:n]]
    kept = [c for c in checkins if c[1] in known]
    assert Interaction.objects.filter(source="foursquare").count() == len(kept)
    assert f"skipped {n - len(kept)} row(s)" in summary
    user, loc, count = max(kept, key=lambda c: int(c[2]))
    visit = Interaction.objects.get(user__username=f"foursquare:{user}", place__external_id=loc)
    assert visit.weight == interaction_weight("visit") * int(count) and visit.kind == "visit"


@pytest.mark.shared_data
@pytest.mark.django_db
def test_yelp_imports_businesses_with_hours_and_tips_as_unrated_reviews(shared_data: Path) -> None:
    folder = shared_data / "yelp_boston_2015_subset"
    run_import("yelp", folder, "--limit", "300")

    assert Place.objects.filter(source="yelp").count() == 300
    bakery = Place.objects.get(source="yelp", external_id="Jp9svt7sRT4zwdbzQ8KQmw")
    assert bakery.address == "75 Federal Street, Financial District, Boston, MA 02110"
    assert (bakery.district, bakery.category, bakery.is_active) == ("Financial District", "Bakeries", False)
    assert bakery.latitude == pytest.approx(42.355246) and bakery.longitude == pytest.approx(-71.056915)
    deli = Place.objects.get(source="yelp", external_id="CgdK8DiyX9Y4kTKEPi_qgA")
    assert deli.opening_hours["mon"] == [["06:00", "15:00"]] and "sat" not in deli.opening_hours

    tip = Review.objects.get(source="yelp", place=deli, text="Great soup & sandwiches!")
    assert tip.rating is None and tip.language == "en"
    assert tip.created_at == dt.datetime(2011, 2, 9, tzinfo=dt.UTC)
    assert tip.user.username == "yelp:U54NM7zbsMRPwECY21ialQ"

    businesses = {json.loads(line)["business_id"] for line in (folder / BUSINESS).open().readlines()[:300]}
    tips = [json.loads(line) for line in (folder / TIP).open().readlines()[:300]]
    distinct = {
        (t["user_id"], t["business_id"], t["date"], t["text"].strip()) for t in tips if t["business_id"] in businesses
    }
    assert Review.objects.filter(source="yelp").count() == len(distinct)
    # Each tipper visited: one visit per (person, business), dated at their first tip there.
    first: dict[tuple[str, str], str] = {}
    for user, business, date, _ in sorted(distinct, key=lambda tip: tip[2]):
        first.setdefault((user, business), date)
    visits = Interaction.objects.filter(source="yelp").values_list(
        "user__username", "place__external_id", "occurred_at", "kind", "weight"
    )
    assert {(u.removeprefix("yelp:"), p): at.date().isoformat() for u, p, at, _, _ in visits} == first
    assert {(kind, weight) for _, _, _, kind, weight in visits} == {("visit", interaction_weight("visit"))}


@pytest.mark.shared_data
@pytest.mark.django_db
def test_kuairec_imports_chinese_clips_with_topic_keywords_and_repairs_split_captions(shared_data: Path) -> None:
    run_import("kuairec", shared_data / "kuairec_sideinfo", "--limit", "1500")

    clips = Clip.objects.filter(source="kuairec")
    # 1500 records, two of which are one row whose caption a stray carriage return split, merged back.
    assert clips.count() == 1499
    repaired = clips.get(external_id="1378")
    assert repaired.caption == "张凯教练：“我希望我们能开启一段王朝\n！”"
    assert repaired.category == "明星娱乐" and repaired.language == "zh"
    no_caption = clips.get(external_id="1")
    assert no_caption.title == "Video 1" and no_caption.category == "高新数码"
    tagged = clips.get(external_id="4")
    assert set(ClipKeyword.objects.filter(clip=tagged).values_list("keyword__text", flat=True)) == {
        "五爱市场",
        "感谢快手我要上热门",
        "搞笑",
    }
    assert Keyword.objects.get(text="搞笑").language == "zh"


@pytest.mark.shared_data
@pytest.mark.django_db
def test_microlens_imports_english_titles_as_clips(shared_data: Path) -> None:
    folder = shared_data / "microlens_50k"
    run_import("microlens", folder, "--limit", "500")

    rows = first_rows(folder / "MicroLens-50k_titles.csv", 500)
    assert Clip.objects.filter(source="microlens").count() == 500
    clip = Clip.objects.get(source="microlens", external_id=rows[1]["item"])
    assert clip.caption == rows[1]["title"] and clip.title == rows[1]["title"][:300] and clip.language == "en"


@pytest.mark.shared_data
@pytest.mark.django_db
def test_lastfm_imports_artists_log_weighted_plays_and_tags_as_searches(shared_data: Path) -> None:
    folder = shared_data / "hetrec_lastfm_2k"
    n = 1000
    run_import("lastfm", folder, "--limit", str(n))

    artists = first_rows(folder / "artists.dat", n, "\t")
    assert Clip.objects.filter(source="lastfm").count() == n
    malice = Clip.objects.get(source="lastfm", external_id="1")
    assert (malice.title, malice.category) == ("MALICE MIZER", "music")
    known = {a["id"] for a in artists}
    plays = [p for p in first_rows(folder / "user_artists.dat", n, "\t") if p["artistID"] in known]
    assert Interaction.objects.filter(source="lastfm").count() == len(plays)
    play = plays[0]
    watch = Interaction.objects.get(user__username=f"lastfm:{play['userID']}", clip__external_id=play["artistID"])
    assert watch.kind == "watch" and watch.weight == pytest.approx(math.log1p(int(play["weight"])))

    tags = {t["tagID"]: t["tagValue"] for t in first_rows(folder / "tags.dat", n, "\t")}
    earliest: dict[tuple[str, str], dt.datetime] = {}
    for t in first_rows(folder / "user_taggedartists.dat", n, "\t"):
        if t["tagID"] in tags:
            day = dt.datetime(int(t["year"]), int(t["month"]), int(t["day"]), tzinfo=dt.UTC)
            key = (t["userID"], t["tagID"])
            earliest[key] = min(day, earliest.get(key, day))
    assert SearchQuery.objects.filter(source="lastfm").count() == len(earliest)
    (user, tag_id), day = next(iter(earliest.items()))
    search = SearchQuery.objects.get(source="lastfm", external_id=f"{user}:{tag_id}")
    assert (search.text, search.created_at, search.user.username) == (tags[tag_id], day, f"lastfm:{user}")


@pytest.mark.django_db
def test_lastfm_names_keep_their_quotes(tmp_path: Path) -> None:
    # Tab-separated with no quoting: a quote is part of the name, not the start of a quoted field.
    write(
        tmp_path,
        "artists.dat",
        'id\tname\turl\tpictureURL\n1686\t"Weird Al" Yankovic\thttp://a\t\n2906\tRoyce da 5\'9"\thttp://b\t\n',
    )
    write(tmp_path, "user_artists.dat", "userID\tartistID\tweight\n2\t1686\t10\n")
    write(tmp_path, "tags.dat", "tagID\ttagValue\n")
    write(tmp_path, "user_taggedartists.dat", "userID\tartistID\ttagID\tday\tmonth\tyear\n")
    run_import("lastfm", tmp_path)
    assert sorted(Clip.objects.values_list("title", flat=True)) == ['"Weird Al" Yankovic', "Royce da 5'9\""]
    data = load_lastfm(tmp_path)  # evaluate reads them the same way
    assert data.item_base_text is not None and '"Weird Al" Yankovic' in data.item_base_text[0]


@pytest.mark.shared_data
@pytest.mark.django_db
def test_reimporting_a_real_dataset_creates_and_changes_nothing(shared_data: Path) -> None:
    folder = shared_data / "korean_cafes"
    first = run_import("korean_cafes", folder, "--limit", "200")
    counts = table_counts()
    snapshot = sorted(Review.objects.values_list("external_id", "rating", "text", "place_id", "user_id"))
    weights = sorted(PlaceKeyword.objects.values_list("place_id", "keyword_id", "count", "weight"))
    updated_at = max(Place.objects.values_list("updated_at", flat=True))

    second = run_import("korean_cafes", folder, "--limit", "200")

    assert sum(created_column(first).values()) > 0
    assert set(created_column(second).values()) == {0}
    assert table_counts() == counts
    assert sorted(Review.objects.values_list("external_id", "rating", "text", "place_id", "user_id")) == snapshot
    assert sorted(PlaceKeyword.objects.values_list("place_id", "keyword_id", "count", "weight")) == weights
    assert max(Place.objects.values_list("updated_at", flat=True)) == updated_at  # nothing rewritten


# --- generic format ---------------------------------------------------------------------------


def write(folder: Path, name: str, text: str, bom: bool = False) -> None:
    (folder / name).write_text(("\ufeff" if bom else "") + text, encoding="utf-8")


ITEMS = (
    (
        "item_type,item_id,name,category,district,address,latitude,longitude,description,opening_hours,"
        "caption,media_url,thumbnail_url,duration_seconds,language,place_id\n"
    )
    + """place,p1,한강뷰 카페,cafe,망원동,서울 마포구 망원로 1,37.556,126.901,"조용하고
뷰가 좋아요","{""mon"": [[""09:00"", ""22:00""]]}",,,,,,
place,p2,Quiet Books,bookstore,Mapo,,,,,,,,,,,
clip,c1,망원 카페 투어,cafe,,,,,,,한강 보이는 카페 3곳,https://cdn.example.com/c1.mp4,https://cdn.example.com/c1.jpg,42.5,ko,p1
"""
)
INTERACTIONS = """user_id,item_type,item_id,kind,timestamp,watched_fraction,event_id
u1,place,p1,visit,2024-05-01T14:30:00+09:00,,e-1001
u1,clip,c1,watch,2024-05-01T15:00:00+09:00,0.8,
민수,place,p2,like,2024-05-02,,
"""
REVIEWS = """review_id,user_id,place_id,rating,text,timestamp,language
r1,u1,p1,5,"커피가 맛있고
뷰가 좋아요",2024-05-02,ko
r2,민수,p2,,Nice and quiet.,2024-05-03T10:00:00Z,en
"""
SEARCHES = """search_id,user_id,text,timestamp,language
s1,u1,한강 뷰 카페,2024-05-01T13:00:00Z,ko
"""


@pytest.fixture
def generic_folder(tmp_path: Path) -> Path:
    write(tmp_path, "items.csv", ITEMS, bom=True)
    write(tmp_path, "interactions.csv", INTERACTIONS)
    write(tmp_path, "reviews.csv", REVIEWS)
    write(tmp_path, "searches.csv", SEARCHES, bom=True)
    return tmp_path


@pytest.mark.django_db
def test_with_a_limit_a_clip_whose_place_lies_beyond_it_comes_without_it(tmp_path: Path) -> None:
    # The clip (row 2) is about p2 (row 3): with --limit 2 the place is not read.
    items = ITEMS.splitlines(keepends=True)
    header, p1, p2, clip = items[0], "".join(items[1:3]), items[3], items[4].replace(",p1\n", ",p2\n")
    write(tmp_path, "items.csv", header + p1 + clip + p2)
    summary = run_import("generic", tmp_path, "--limit", "2")
    assert Clip.objects.get(external_id="c1").place is None
    assert "clip's place beyond --limit" in summary
    write(tmp_path, "items.csv", header + p1 + clip.replace(",p2\n", ",p9\n"))
    with pytest.raises(CommandError, match=r"place_id 'p9' is not a place in items\.csv"):  # no limit: an error
        run_import("generic", tmp_path)


@pytest.mark.django_db
def test_generic_round_trip_keeps_korean_text_links_and_weights(generic_folder: Path) -> None:
    run_import("generic", generic_folder)

    cafe = Place.objects.get(source="csv", external_id="p1")
    assert (cafe.name, cafe.district, cafe.address) == ("한강뷰 카페", "망원동", "서울 마포구 망원로 1")
    assert cafe.description == "조용하고\n뷰가 좋아요" and cafe.opening_hours == {"mon": [["09:00", "22:00"]]}
    assert (cafe.latitude, cafe.longitude) == (37.556, 126.901)
    assert Place.objects.get(source="csv", external_id="p2").latitude is None
    clip = Clip.objects.get(source="csv", external_id="c1")
    assert (clip.title, clip.place, clip.duration_seconds, clip.language) == ("망원 카페 투어", cafe, 42.5, "ko")
    assert clip.media_url == "https://cdn.example.com/c1.mp4"

    watch = Interaction.objects.get(user__username="csv:u1", clip=clip)
    assert watch.kind == InteractionKind.WATCH and watch.weight == pytest.approx(interaction_weight("watch", 0.8))
    assert watch.watched_fraction == 0.8
    visit = Interaction.objects.get(user__username="csv:u1", place=cafe)
    assert visit.idempotency_key == "csv:u1:e-1001"
    assert visit.occurred_at == dt.datetime(2024, 5, 1, 5, 30, tzinfo=dt.UTC)
    # A review is a visit unless interactions.csv has that visit: u1's review of p1 adds none,
    # 민수's review of p2 (only liked there) adds one, dated as the review.
    assert Interaction.objects.filter(user__username="csv:u1", place=cafe).count() == 1
    minsu = Interaction.objects.filter(user__username="csv:민수").order_by("occurred_at")
    assert [(i.kind, i.weight) for i in minsu] == [
        ("like", interaction_weight("like")),
        ("visit", interaction_weight("visit")),
    ]
    assert minsu[1].occurred_at == dt.datetime(2024, 5, 3, 10, tzinfo=dt.UTC)
    assert (
        minsu[1].idempotency_key == "csv:민수:review:r2" and minsu[1].place_id == Place.objects.get(external_id="p2").pk
    )
    assert not User.objects.get(username="csv:민수").has_usable_password()

    review = Review.objects.get(source="csv", external_id="r1")
    assert (review.text, review.rating, review.place, review.language) == ("커피가 맛있고\n뷰가 좋아요", 5, cafe, "ko")
    assert Review.objects.get(source="csv", external_id="r2").rating is None
    search = SearchQuery.objects.get(source="csv", external_id="s1")
    assert (search.text, search.user.username) == ("한강 뷰 카페", "csv:u1")


@pytest.mark.django_db
def test_generic_reimport_creates_nothing_and_an_edited_row_is_updated(generic_folder: Path) -> None:
    run_import("generic", generic_folder)
    counts = table_counts()

    again = run_import("generic", generic_folder)
    assert set(created_column(again).values()) == {0}
    assert table_counts() == counts

    write(generic_folder, "items.csv", ITEMS.replace("Quiet Books", "Quiet Books & Tea"))
    edited = run_import("generic", generic_folder, "--source", "csv")
    assert table_counts() == counts
    assert summary_rows(edited)["Place"] == (0, 1, 1)
    assert Place.objects.get(source="csv", external_id="p2").name == "Quiet Books & Tea"


@pytest.mark.django_db
def test_generic_source_option_keeps_sources_apart(generic_folder: Path) -> None:
    run_import("generic", generic_folder)
    run_import("generic", generic_folder, "--source", "partner")
    assert Place.objects.filter(external_id="p1").count() == 2
    assert User.objects.filter(username="partner:u1").exists()


# --- malformed input --------------------------------------------------------------------------


def _generic(files: dict[str, str]) -> tuple[str, dict[str, str]]:
    return "generic", files


MALFORMED = [
    pytest.param(
        *_generic({"items.csv": ITEMS, "reviews.csv": REVIEWS.replace(",5,", ",abc,")}),
        "reviews.csv line 2: rating 'abc' is not a number 1-5",
        id="generic-rating-not-a-number",
    ),
    pytest.param(
        *_generic({"items.csv": ITEMS.replace("37.556", "95.0")}),
        "items.csv line 2: latitude '95.0' is out of range",
        id="generic-latitude-out-of-range",
    ),
    pytest.param(
        *_generic({"items.csv": ITEMS, "interactions.csv": INTERACTIONS.replace("place,p2,like", "place,p9,like")}),
        "interactions.csv line 4: unknown place 'p9'",
        id="generic-unknown-item",
    ),
    pytest.param(
        *_generic({"items.csv": ITEMS, "searches.csv": SEARCHES.replace("2024-05-01T13:00:00Z", "yesterday")}),
        "searches.csv line 2: timestamp 'yesterday' is not an ISO 8601 date",
        id="generic-bad-date",
    ),
    pytest.param(
        *_generic(
            {
                "items.csv": ITEMS,
                "interactions.csv": INTERACTIONS.replace("2024-05-02,,", "9999-12-31T23:00:00-05:00,,"),
            }
        ),
        "interactions.csv line 4: timestamp '9999-12-31T23:00:00-05:00' is outside the years 1-9999 in UTC",
        id="generic-timestamp-past-year-9999-in-utc",
    ),
    pytest.param(
        *_generic(
            {"items.csv": ITEMS, "reviews.csv": REVIEWS.replace("2024-05-02,ko", "0001-01-01T00:00:00+09:00,ko")}
        ),
        "reviews.csv line 2: timestamp '0001-01-01T00:00:00+09:00' is outside the years 1-9999 in UTC",
        id="generic-timestamp-before-year-1",
    ),
    pytest.param(
        *_generic({"items.csv": ITEMS.replace("조용하고", "조용\x00하고")}),
        "items.csv line 2: a NUL byte",
        id="generic-nul-byte",
    ),
    pytest.param(
        *_generic({"items.csv": ITEMS.replace("item_id,name,", "item_id,title,", 1)}),
        "items.csv line 1: missing column(s): name",
        id="generic-missing-column",
    ),
    pytest.param(
        *_generic({"items.csv": ITEMS, "interactions.csv": INTERACTIONS.replace(",visit,", ",teleport,")}),
        "interactions.csv line 2: kind 'teleport'",
        id="generic-unknown-kind",
    ),
    pytest.param(
        *_generic(
            {
                "items.csv": ITEMS,
                "interactions.csv": INTERACTIONS.replace(
                    "watched_fraction,event_id", "watched_fraction,event_id,weight"
                ).replace(",e-1001\n", ",e-1001,1e9\n"),
            }
        ),
        "interactions.csv line 2: weight '1e9' is out of range",
        id="generic-weight-out-of-range",
    ),
    pytest.param(
        "korean_cafes",
        {
            "reviews.csv": 'name,address,user_id,rating,review,cafe\n카페,망원동,u1,5.0,"좋아요\n정말로",카페 망원동\n'
            "카페2,망원동,u2,아주좋음,맛있어요,카페2 망원동\n",
            "naver_review.csv": "search_name,address,road_address,near_station,station_distance,total_review\n",
            "naver_crawled_total.csv": "search_name,address,road_address,total_review,same\n",
        },
        "reviews.csv line 4: rating '아주좋음' is not a number 1-5",
        id="korean-cafes-rating-after-multiline-review",
    ),
    pytest.param(
        "korean_cafes",
        {
            "reviews.csv": "name,address,user_id,rating,review,cafe\n카페,망원동,u1,5.0,좋아요,카페 망원동\n",
            "naver_review.csv": "search_name,address,road_address,near_station,station_distance,total_review\n"
            "카페,망원동,망원로 1,망원역,100,3000000000\n",
            "naver_crawled_total.csv": "search_name,address,road_address,total_review,same\n",
        },
        "total_review '3000000000' is out of range",
        id="korean-cafes-count-beyond-32-bits",
    ),
    pytest.param(
        "foursquare",
        {"FoursquareLocation.txt": "LOC_1 1.3 103.9\nLOC_2 91.5 103.9\n", "train.txt": "USER_1 LOC_1 2\n"},
        "FoursquareLocation.txt line 2: latitude '91.5' is out of range",
        id="foursquare-latitude-out-of-range",
    ),
    pytest.param(
        "foursquare",
        {"FoursquareLocation.txt": "LOC_1 1.3 103.9\nLOC_2\x00 1.3 103.9\n", "train.txt": "USER_1 LOC_1 2\n"},
        "FoursquareLocation.txt line 2: a NUL byte",
        id="foursquare-nul-byte",
    ),
    pytest.param(
        "foursquare",
        {"FoursquareLocation.txt": "LOC_1 1.3 103.9\n", "train.txt": "USER_1 LOC_1 2\nUSER_1 LOC_7 1\n"},
        "train.txt line 2: unknown location 'LOC_7'",
        id="foursquare-unknown-location",
    ),
    pytest.param(
        "yelp",
        {
            BUSINESS: '{"business_id": "b1", "name": "A", "full_address": "1 St", "hours": {}, "open": true,'
            ' "categories": [], "neighborhoods": [], "city": "Boston", "latitude": 42.3, "longitude": -71.0}\n'
            '{"business_id": "b2", "name": \n',
            TIP: "",
        },
        f"{BUSINESS} line 2: bad JSON",
        id="yelp-bad-json-line",
    ),
    pytest.param(
        "lastfm",
        {
            "artists.dat": "id\tname\turl\tpictureURL\n1\tA\thttp://a\thttp://b\n",
            "user_artists.dat": "userID\tartistID\tweight\n2\t1\t10\n",
            "tags.dat": "tagID\ttagValue\n5\tjazz\n",
            "user_taggedartists.dat": "userID\tartistID\ttagID\tday\tmonth\tyear\n2\t1\t5\t1\t13\t2009\n",
        },
        "user_taggedartists.dat line 2: bad date",
        id="lastfm-bad-month",
    ),
    pytest.param(
        "kuairec",
        {
            "kuairec_caption_category.csv": "video_id,manual_cover_text,caption,topic_tag,first_level_category_name\n"
            "1,UNKNOWN,hi,[a,UNKNOWN\n"
        },
        "kuairec_caption_category.csv line 2: topic_tag '[a' is not a [tag,tag,...] list",
        id="kuairec-bad-topic-tag",
    ),
    pytest.param(
        "microlens",
        {"titles.csv": "item,title\n1,x\n"},
        "missing file: ",
        id="microlens-missing-file",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("fmt", "files", "message"), MALFORMED)
def test_malformed_input_names_file_and_line_and_writes_nothing(
    tmp_path: Path, generic_folder: Path, fmt: str, files: dict[str, str], message: str
) -> None:
    run_import("generic", generic_folder)  # existing rows must survive untouched
    before = table_counts()
    bad = tmp_path / "bad"
    bad.mkdir()
    for name, text in files.items():
        write(bad, name, text)

    with pytest.raises(CommandError) as excinfo:
        run_import(fmt, bad)

    assert message in str(excinfo.value)
    assert table_counts() == before


@pytest.mark.django_db
def test_a_user_id_too_long_for_a_username_with_its_source_is_refused_naming_it(tmp_path: Path) -> None:
    # A 100-character user id is allowed, and a 50-character source, but 'source:user_id' must fit
    # in a username (150): a DataError with a traceback before.
    write(tmp_path, "items.csv", ITEMS)
    write(tmp_path, "interactions.csv", INTERACTIONS.replace("민수,", "u" * 100 + ","))
    with pytest.raises(CommandError, match="is too long with the source"):
        run_import("generic", tmp_path, "--source", "s" * 50)
    assert not Interaction.objects.exists()
    run_import("generic", tmp_path, "--source", "short")  # with room for it, it imports
    assert Interaction.objects.filter(user__username="short:" + "u" * 100).exists()


@pytest.mark.django_db
def test_generic_rejects_a_folder_with_none_of_its_files(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"none of items\.csv"):
        run_import("generic", tmp_path)
