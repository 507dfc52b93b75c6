"""Seeded, redistributable demo data: Seoul places, clips, people and what they do.

Everything here is *generated* from a seed (``random.Random``): no network, no third-party
datasets, no real businesses. :func:`generate` is pure (same seed -> equal
:class:`DemoData`); :func:`write_demo_data` puts a generated set into the database and
:func:`delete_demo_data` removes it again. Timestamps are kept as ages (seconds before a
reference time) so the generated data itself does not depend on the clock.

The generator plants structure a recommender can learn: every place has latent traits from a
bilingual keyword vocabulary, every person has favourite categories, traits and home
districts, and people mostly view, like, save and visit what matches their tastes near home.
Activity is heavy-tailed, some people have no or almost no history (cold start) and some
places and clips have never been touched (new items).

The ``demo`` / ``demo`` account is a demo-only login with a little history; never load demo
data into a deployment that real people use.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

SOURCE = "demo"
DEMO_LOGIN_USERNAME = "demo"
DEMO_LOGIN_PASSWORD = "demo"  # noqa: S105 - the documented demo-only login, not a real credential
USERNAME_PREFIX = "demo:"
DAY_SECONDS = 86_400
HISTORY_DAYS = 120

T = TypeVar("T")


# --- Vocabulary ------------------------------------------------------------------------------


@dataclass(frozen=True)
class District:
    """A Seoul neighbourhood with an approximate centre."""

    key: str
    ko: str
    en: str
    gu_ko: str
    dong_ko: str  # the legal dong used in addresses
    lat: float
    lon: float
    by_river: bool = False
    flavour: tuple[str, ...] = ()  # traits that are more common here


DISTRICTS: tuple[District, ...] = (
    District(
        "yeonnam", "연남동", "Yeonnam-dong", "마포구", "연남동", 37.5627, 126.9236, False, ("cozy", "dessert", "photo")
    ),
    District(
        "mangwon", "망원동", "Mangwon-dong", "마포구", "망원동", 37.5558, 126.9019, True, ("value", "dog", "walk")
    ),
    District(
        "seongsu",
        "성수동",
        "Seongsu-dong",
        "성동구",
        "성수동2가",
        37.5446,
        127.0557,
        True,
        ("coffee", "photo", "spacious"),
    ),
    District(
        "ikseon", "익선동", "Ikseon-dong", "종로구", "익선동", 37.5739, 126.9897, False, ("hanok", "retro", "date")
    ),
    District("seochon", "서촌", "Seochon", "종로구", "통인동", 37.5797, 126.9704, False, ("hanok", "quiet", "art")),
    District(
        "hannam", "한남동", "Hannam-dong", "용산구", "한남동", 37.5347, 127.0023, True, ("wine", "date", "brunch")
    ),
    District(
        "yeouido", "여의도", "Yeouido", "영등포구", "여의도동", 37.5253, 126.9246, True, ("river", "group", "walk")
    ),
    District("jamsil", "잠실", "Jamsil", "송파구", "잠실동", 37.5133, 127.1001, True, ("kids", "night", "spacious")),
    District(
        "gangnam", "강남역", "Gangnam Station", "강남구", "역삼동", 37.4979, 127.0276, False, ("group", "value", "late")
    ),
    District("euljiro", "을지로", "Euljiro", "중구", "을지로3가", 37.5662, 126.9917, False, ("retro", "local", "late")),
)
DISTRICT_BY_KEY = {d.key: d for d in DISTRICTS}


@dataclass(frozen=True)
class Category:
    """A kind of place, with the words its names are composed from."""

    key: str
    ko: str
    en: str
    ko_words: tuple[str, ...]  # "카페", "베이커리" ...
    en_words: tuple[str, ...]  # "Coffee", "Bakery" ...
    share: float  # how common it is


CATEGORIES: tuple[Category, ...] = (
    Category("cafe", "카페", "café", ("카페", "커피"), ("Coffee", "Café", "Roasters", "Coffee Bar"), 0.32),
    Category(
        "restaurant", "식당", "restaurant", ("식당", "식탁", "부엌", "밥집"), ("Kitchen", "Table", "Dining"), 0.24
    ),
    Category("bakery", "베이커리", "bakery", ("베이커리", "빵집", "제과"), ("Bakery", "Bakehouse", "Oven"), 0.12),
    Category("bar", "바", "bar", ("바", "술집", "포차"), ("Bar", "Taproom", "Wine Bar"), 0.12),
    Category("bookstore", "서점", "bookstore", ("책방", "서점", "책방"), ("Books", "Bookshop", "Reading Room"), 0.07),
    Category("museum", "미술관", "museum", ("미술관", "갤러리", "전시관"), ("Gallery", "Art Space", "Museum"), 0.06),
    Category(
        "sight", "명소", "sight", ("공원", "정원", "전망대", "숲길"), ("Garden", "Park", "Lookout", "Trail"), 0.07
    ),
)
CATEGORY_BY_KEY = {c.key: c for c in CATEGORIES}
EN_PLURALS = {
    "cafe": "cafés",
    "restaurant": "restaurants",
    "bakery": "bakeries",
    "bar": "bars",
    "bookstore": "bookstores",
    "museum": "museums",
    "sight": "sights",
}


@dataclass(frozen=True)
class Trait:
    """A latent trait of a place, with its keyword and review sentences in both languages."""

    key: str
    ko: str
    en: str
    categories: tuple[str, ...]
    ko_sentences: tuple[str, ...]
    en_sentences: tuple[str, ...]


TRAITS: tuple[Trait, ...] = (
    Trait(
        "quiet",
        "조용한",
        "quiet",
        ("cafe", "bookstore", "museum", "bakery", "bar"),
        ("조용해서 대화하기 좋아요.", "음악 소리가 작아서 조용해요."),
        ("Quiet spot.", "Calm and quiet inside."),
    ),
    Trait(
        "study",
        "공부하기 좋은",
        "good for studying",
        ("cafe", "bookstore"),
        ("콘센트가 많아서 공부하기 좋아요.", "노트북 하기 편해요."),
        ("Great for studying.", "Plenty of sockets for a laptop."),
    ),
    Trait(
        "river",
        "한강뷰",
        "river view",
        ("cafe", "restaurant", "bar", "sight"),
        ("창밖으로 한강이 보여요.", "한강뷰가 정말 멋져요."),
        ("Lovely river view.", "You can see the Han River from the window."),
    ),
    Trait(
        "dessert",
        "디저트 맛집",
        "great desserts",
        ("cafe", "bakery"),
        ("디저트가 정말 맛있어요.", "케이크가 촉촉하고 달지 않아요."),
        ("Great desserts.", "The cakes are excellent."),
    ),
    Trait(
        "value",
        "가성비",
        "good value",
        ("restaurant", "cafe", "bakery", "bar"),
        ("가격 대비 양이 많아요.", "가성비 최고예요."),
        ("Good value for money.", "Generous portions for the price."),
    ),
    Trait(
        "date",
        "데이트",
        "date spot",
        ("restaurant", "bar", "cafe", "sight", "museum"),
        ("데이트하기 좋은 분위기예요.", "연인이랑 오기 좋아요."),
        ("Perfect for a date.", "Romantic atmosphere."),
    ),
    Trait(
        "dog",
        "애견동반",
        "dog friendly",
        ("cafe", "sight", "restaurant"),
        ("강아지랑 같이 갈 수 있어요.", "애견동반 가능해서 좋아요."),
        ("Dog friendly.", "We brought our dog and they had water ready."),
    ),
    Trait(
        "rooftop",
        "루프탑",
        "rooftop",
        ("cafe", "bar", "restaurant"),
        ("루프탑 자리가 최고예요.", "옥상 테라스가 있어요."),
        ("Great rooftop.", "Sit on the rooftop terrace if you can."),
    ),
    Trait(
        "brunch",
        "브런치",
        "brunch",
        ("cafe", "restaurant", "bakery"),
        ("브런치 메뉴가 알차요.", "주말 브런치로 딱이에요."),
        ("Excellent brunch.", "A good weekend brunch place."),
    ),
    Trait(
        "cozy",
        "아늑한",
        "cozy",
        ("cafe", "bar", "bookstore", "restaurant"),
        ("아늑하고 따뜻한 분위기예요.", "작지만 아늑해요."),
        ("Cozy and warm.", "Small but very cozy."),
    ),
    Trait(
        "photo",
        "사진 맛집",
        "photogenic",
        ("cafe", "sight", "museum", "bakery"),
        ("사진이 잘 나와요.", "인테리어가 예뻐서 사진 찍기 좋아요."),
        ("Very photogenic.", "Beautiful interior for photos."),
    ),
    Trait(
        "late",
        "늦게까지 여는",
        "open late",
        ("bar", "restaurant", "cafe"),
        ("새벽까지 열어서 좋아요.", "늦게까지 영업해요."),
        ("Open late.", "Still open after midnight."),
    ),
    Trait(
        "retro",
        "레트로",
        "retro vibe",
        ("cafe", "bar", "restaurant"),
        ("레트로 감성이 가득해요.", "옛날 느낌 인테리어가 멋져요."),
        ("Fun retro vibe.", "Vintage interior."),
    ),
    Trait(
        "hanok",
        "한옥",
        "hanok",
        ("cafe", "restaurant", "sight"),
        ("한옥 분위기가 좋아요.", "한옥 마당이 예뻐요."),
        ("Beautiful hanok building.", "A lovely hanok courtyard."),
    ),
    Trait(
        "coffee",
        "스페셜티 커피",
        "specialty coffee",
        ("cafe",),
        ("원두가 좋아서 커피가 맛있어요.", "핸드드립이 훌륭해요."),
        ("Excellent specialty coffee.", "Great pour-over."),
    ),
    Trait(
        "wine",
        "와인",
        "wine",
        ("bar", "restaurant"),
        ("와인 리스트가 좋아요.", "내추럴 와인이 많아요."),
        ("Good wine list.", "Nice selection of natural wine."),
    ),
    Trait(
        "vegan",
        "비건",
        "vegan friendly",
        ("restaurant", "cafe", "bakery"),
        ("비건 메뉴가 있어요.", "채식 메뉴가 다양해요."),
        ("Vegan friendly.", "Plenty of vegan options."),
    ),
    Trait(
        "solo",
        "혼밥",
        "solo dining",
        ("restaurant", "cafe"),
        ("혼밥하기 편해요.", "혼자 와도 부담 없어요."),
        ("Easy to eat alone.", "Comfortable for solo diners."),
    ),
    Trait(
        "group",
        "단체 모임",
        "good for groups",
        ("restaurant", "bar"),
        ("단체 모임하기 좋아요.", "테이블이 넓어서 여럿이 오기 좋아요."),
        ("Good for groups.", "Big tables for a group dinner."),
    ),
    Trait(
        "spacious",
        "넓은",
        "spacious",
        ("cafe", "museum", "sight", "restaurant"),
        ("공간이 넓어요.", "자리가 많아서 여유로워요."),
        ("Spacious.", "Lots of room, never cramped."),
    ),
    Trait(
        "kids",
        "아이와 함께",
        "kid friendly",
        ("museum", "sight", "restaurant"),
        ("아이랑 가기 좋아요.", "아이들이 좋아해요."),
        ("Kid friendly.", "Our kids loved it."),
    ),
    Trait(
        "night",
        "야경",
        "night view",
        ("bar", "sight", "restaurant"),
        ("야경이 정말 예뻐요.", "밤에 가면 더 좋아요."),
        ("Amazing night view.", "Go after dark for the view."),
    ),
    Trait(
        "local",
        "노포",
        "old-school local",
        ("restaurant", "bar"),
        ("오래된 노포 느낌이 좋아요.", "사장님이 친절하세요."),
        ("Old-school local favourite.", "A proper neighbourhood institution."),
    ),
    Trait(
        "art",
        "전시",
        "exhibitions",
        ("museum", "bookstore", "cafe"),
        ("전시가 알차요.", "작은 전시도 같이 볼 수 있어요."),
        ("Interesting exhibitions.", "Small rotating exhibitions."),
    ),
    Trait(
        "walk",
        "산책하기 좋은",
        "good for walks",
        ("sight",),
        ("산책하기 딱 좋아요.", "걷기 좋은 길이에요."),
        ("Great for a walk.", "Nice paths for a stroll."),
    ),
    Trait(
        "parking",
        "주차 가능",
        "parking available",
        ("restaurant", "cafe"),
        ("주차가 가능해요.", "주차 공간이 있어요."),
        ("Parking available.", "Easy to park."),
    ),
)
TRAIT_BY_KEY = {t.key: t for t in TRAITS}

KO_NAME_WORDS = (
    "온도",
    "모래",
    "담장",
    "소금",
    "느린",
    "한결",
    "바람",
    "달빛",
    "오후",
    "숲",
    "나무",
    "구름",
    "별빛",
    "마당",
    "골목",
    "봄날",
    "서재",
    "등대",
    "파도",
    "노을",
    "새벽",
    "고요",
    "틈",
    "호두",
)
EN_NAME_WORDS = (
    "Slow",
    "Quiet",
    "Little",
    "Paper",
    "Moon",
    "Hidden",
    "Sunday",
    "Copper",
    "Maple",
    "Salt",
    "Harbor",
    "Olive",
    "Velvet",
    "Fog",
    "Linen",
    "Onion",
    "Pebble",
    "Sparrow",
    "Juniper",
    "Lantern",
)
PERSONA_NAMES = (
    "지민",
    "서연",
    "민준",
    "하나",
    "도윤",
    "수아",
    "예준",
    "지우",
    "Alex",
    "Sam",
    "Mina",
    "Jun",
    "Hyejin",
    "Chris",
    "Yuna",
    "Daniel",
    "소희",
    "태오",
    "Emma",
    "Noah",
)
CREATOR_PARTS_A = ("seoul", "cafe", "hangang", "mapo", "alley", "weekend", "latte", "bread", "night", "hanok")
CREATOR_PARTS_B = ("hopper", "diary", "walker", "eats", "log", "notes", "trip", "lover", "hunter", "film")

TASK_SEARCHES: tuple[tuple[str, str], ...] = (
    ("우체국 영업시간", "ko"),
    ("출입국사무소 전화번호", "ko"),
    ("지하철 막차 시간", "ko"),
    ("근처 약국 영업시간", "ko"),
    ("visa office phone number", "en"),
    ("lost and found subway", "en"),
    ("how to refund transit card", "en"),
    ("pharmacy open now", "en"),
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# --- Generated records -----------------------------------------------------------------------


@dataclass(frozen=True)
class DemoPlace:
    index: int
    external_id: str
    name: str
    category: str
    district: str  # District.key
    address: str
    latitude: float
    longitude: float
    opening_hours: dict[str, list[list[str]]]
    description: str
    traits: tuple[tuple[str, float], ...]  # (trait key, strength 0..1)

    @property
    def trait_keys(self) -> frozenset[str]:
        return frozenset(key for key, _ in self.traits)


@dataclass(frozen=True)
class DemoClip:
    index: int
    external_id: str
    title: str
    caption: str
    media_url: str
    thumbnail_url: str
    duration_seconds: float
    creator: str
    language: str
    category: str
    place_index: int | None
    traits: tuple[str, ...]


@dataclass(frozen=True)
class DemoUser:
    index: int  # -1 for the demo login
    username: str
    first_name: str
    favourite_categories: tuple[str, ...]
    favourite_traits: tuple[str, ...]
    home_districts: tuple[str, ...]
    language: str  # the language they mostly write in


@dataclass(frozen=True)
class DemoInteraction:
    username: str
    key: str  # idempotency key, unique per user
    kind: str
    place_index: int | None
    clip_index: int | None
    watched_fraction: float | None
    age_seconds: int


@dataclass(frozen=True)
class DemoReview:
    external_id: str
    username: str
    place_index: int
    rating: int
    text: str
    language: str
    age_seconds: int
    traits: tuple[str, ...]  # traits the text mentions


@dataclass(frozen=True)
class DemoSearch:
    external_id: str
    username: str
    text: str
    language: str
    is_task: bool
    age_seconds: int


@dataclass(frozen=True)
class DemoData:
    seed: int
    places: tuple[DemoPlace, ...]
    clips: tuple[DemoClip, ...]
    users: tuple[DemoUser, ...]
    interactions: tuple[DemoInteraction, ...]
    reviews: tuple[DemoReview, ...]
    searches: tuple[DemoSearch, ...]
    new_place_indexes: frozenset[int] = field(default_factory=frozenset)
    new_clip_indexes: frozenset[int] = field(default_factory=frozenset)

    def user(self, username: str) -> DemoUser:
        return next(u for u in self.users if u.username == username)


# --- Small helpers ---------------------------------------------------------------------------


def _weighted_sample(rng: random.Random, items: Sequence[T], weights: Sequence[float], k: int) -> list[T]:
    """``k`` distinct items, drawn without replacement with probability proportional to weight."""
    pool = list(zip(items, weights, strict=True))
    chosen: list[T] = []
    for _ in range(min(k, len(pool))):
        total = sum(w for _, w in pool)
        pick = rng.random() * total
        for i, (item, weight) in enumerate(pool):
            pick -= weight
            if pick <= 0 or i == len(pool) - 1:
                chosen.append(item)
                pool.pop(i)
                break
    return chosen


def _hhmm(minutes: int) -> str:
    minutes %= 24 * 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _age(rng: random.Random, max_days: int = HISTORY_DAYS) -> int:
    """Seconds before the reference time; recent events are more common."""
    return int(min(rng.expovariate(1 / (max_days * 0.35)), max_days) * DAY_SECONDS)


def _jitter_coordinates(rng: random.Random, district: District, sigma_m: float = 250.0) -> tuple[float, float]:
    """A point a few hundred metres from the district centre (clamped to 700 m)."""
    dx, dy = rng.gauss(0, sigma_m), rng.gauss(0, sigma_m)
    distance = math.hypot(dx, dy)
    if distance > 700:
        dx, dy = dx * 700 / distance, dy * 700 / distance
    lat = district.lat + dy / 111_320
    lon = district.lon + dx / (111_320 * math.cos(math.radians(district.lat)))
    return round(lat, 6), round(lon, 6)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


# --- Places ----------------------------------------------------------------------------------


def _place_name(rng: random.Random, category: Category, district: District) -> str:
    """A plausible, invented name: "카페 온도", "Slow Oven Bakery", "연남 바람 정원"."""
    if category.key == "sight":
        word = rng.choice(category.ko_words)
        return f"{district.ko.removesuffix('동')} {rng.choice(KO_NAME_WORDS)} {word}"
    if rng.random() < 0.55:
        word, kind = rng.choice(KO_NAME_WORDS), rng.choice(category.ko_words)
        return f"{kind} {word}" if rng.random() < 0.5 else f"{word} {kind}"
    first = rng.choice(EN_NAME_WORDS)
    second = rng.choice([w for w in EN_NAME_WORDS if w != first])
    kind = rng.choice(category.en_words)
    return f"{first} {kind}" if rng.random() < 0.6 else f"{first} {second} {kind}"


def _place_traits(rng: random.Random, category: Category, district: District) -> tuple[tuple[str, float], ...]:
    """2-5 traits that suit the category (river views by the river, hanok in old quarters)."""
    candidates: list[Trait] = []
    weights: list[float] = []
    for trait in TRAITS:
        if category.key not in trait.categories:
            continue
        if trait.key == "river" and not district.by_river:
            continue
        if trait.key == "hanok" and "hanok" not in district.flavour:
            continue
        candidates.append(trait)
        weights.append(4.0 if trait.key in district.flavour else 1.0)
    k = rng.choice((2, 2, 3, 3, 3, 4, 4, 5))
    chosen = _weighted_sample(rng, candidates, weights, k)
    return tuple((t.key, round(rng.uniform(0.5, 1.0), 2)) for t in sorted(chosen, key=lambda t: t.key))


def _opening_hours(rng: random.Random, category: str, traits: frozenset[str]) -> dict[str, list[list[str]]]:
    """Weekly hours: closed days, break times, bars (and late places) running past midnight."""
    if category == "bar":
        opens, closes = rng.choice((17, 18, 19)) * 60, rng.choice((1, 2, 3)) * 60
    elif category == "museum":
        opens, closes = 10 * 60, rng.choice((18, 19)) * 60
    elif category == "sight":
        opens, closes = rng.choice((0, 5, 6)) * 60, rng.choice((22, 23)) * 60
    elif category == "bakery":
        opens, closes = rng.choice((450, 480, 540)), rng.choice((19, 20, 21)) * 60
    elif category == "restaurant":
        opens, closes = rng.choice((660, 690)), rng.choice((21, 22)) * 60
    else:
        opens, closes = rng.choice((480, 540, 600, 660)), rng.choice((20, 21, 22, 23)) * 60
    if "late" in traits and category != "bar":
        closes = rng.choice((1, 2)) * 60
    closed: set[str] = set()
    if category == "museum":
        closed.add("mon")
    elif category != "sight" and rng.random() < 0.45:
        closed.add(rng.choice(("mon", "mon", "tue", "sun")))
    has_break = category == "restaurant" and rng.random() < 0.4
    hours: dict[str, list[list[str]]] = {}
    for day in WEEKDAYS:
        if day in closed:
            hours[day] = []
            continue
        day_close = closes + (60 if category == "bar" and day in ("fri", "sat") else 0)
        if has_break:
            hours[day] = [[_hhmm(opens), "15:00"], ["17:00", _hhmm(day_close)]]
        else:
            hours[day] = [[_hhmm(opens), _hhmm(day_close)]]
    return hours


def _place_description(category: Category, district: District, traits: Sequence[str]) -> str:
    ko = " · ".join(TRAIT_BY_KEY[t].ko for t in traits)
    en = ", ".join(TRAIT_BY_KEY[t].en for t in traits)
    return f"{district.ko}의 {category.ko}. {ko}.\nA {category.en} in {district.en}: {en}."


def generate_places(rng: random.Random, count: int) -> list[DemoPlace]:
    """``count`` places spread over the districts (busier districts get more)."""
    district_weights = [1.4, 1.1, 1.5, 1.0, 0.8, 1.0, 0.9, 0.9, 1.2, 1.0]
    places: list[DemoPlace] = []
    for index in range(count):
        district = rng.choices(DISTRICTS, weights=district_weights)[0]
        category = rng.choices(CATEGORIES, weights=[c.share for c in CATEGORIES])[0]
        traits = _place_traits(rng, category, district)
        keys = [k for k, _ in traits]
        lat, lon = _jitter_coordinates(rng, district)
        lot = f"{rng.randint(1, 600)}-{rng.randint(1, 40)}" if rng.random() < 0.8 else str(rng.randint(1, 600))
        places.append(
            DemoPlace(
                index=index,
                external_id=f"{SOURCE}:place:{index}",
                name=_place_name(rng, category, district),
                category=category.key,
                district=district.key,
                address=f"서울 {district.gu_ko} {district.dong_ko} {lot}",
                latitude=lat,
                longitude=lon,
                opening_hours=_opening_hours(rng, category.key, frozenset(keys)),
                description=_place_description(category, district, keys),
                traits=traits,
            )
        )
    return places


# --- Clips -----------------------------------------------------------------------------------


def _creators(rng: random.Random, count: int = 24) -> list[str]:
    handles: list[str] = []
    while len(handles) < count:
        handle = f"@{rng.choice(CREATOR_PARTS_A)}{rng.choice(('.', '_', ''))}{rng.choice(CREATOR_PARTS_B)}"
        if handle not in handles:
            handles.append(handle)
    return handles


def _place_clip_text(rng: random.Random, place: DemoPlace, language: str) -> tuple[str, str, tuple[str, ...]]:
    district = DISTRICT_BY_KEY[place.district]
    category = CATEGORY_BY_KEY[place.category]
    shown = tuple(sorted(_weighted_sample(rng, [k for k, _ in place.traits], [s for _, s in place.traits], 2)))
    first = TRAIT_BY_KEY[shown[0]]
    tags = " ".join(
        "#" + word.replace(" ", "").replace("-", "") for word in (district.ko, category.ko, district.en, first.en)
    )
    if language == "ko":
        title = rng.choice(
            (
                f"{district.ko} {first.ko} {category.ko} {place.name}",
                f"{place.name} 솔직 후기",
                f"{first.ko} {category.ko} 추천: {place.name}",
            )
        )
        caption = (
            f"{place.name}, {' · '.join(TRAIT_BY_KEY[t].ko for t in shown)}. {rng.choice(first.ko_sentences)}\n{tags}"
        )
    else:
        title = rng.choice(
            (
                f"{place.name}: a {first.en} {category.en} in {district.en}",
                f"Honest review: {place.name}",
                f"{district.en} {category.en} tour — {place.name}",
            )
        )
        caption = (
            f"{place.name} — {', '.join(TRAIT_BY_KEY[t].en for t in shown)}. {rng.choice(first.en_sentences)}\n{tags}"
        )
    return title, caption, shown


def _theme_clip_text(rng: random.Random, language: str) -> tuple[str, str, str, tuple[str, ...]]:
    category = rng.choice(CATEGORIES[:4])
    trait = rng.choice([t for t in TRAITS if category.key in t.categories])
    district = rng.choice(DISTRICTS)
    n = rng.choice((3, 5, 7))
    if language == "ko":
        title = f"{district.ko} {trait.ko} {category.ko} {n}곳"
        caption = (
            f"{trait.ko} {category.ko}만 골랐어요. {rng.choice(trait.ko_sentences)}\n#{district.ko} #{category.ko}"
        )
    else:
        title = f"{n} {trait.en} {EN_PLURALS[category.key]} in {district.en}"
        hashtags = " ".join("#" + word.replace(" ", "").replace("-", "") for word in (district.en, trait.en))
        caption = f"Only {trait.en} spots. {rng.choice(trait.en_sentences)}\n{hashtags}"
    return title, caption, category.key, (trait.key,)


def generate_clips(rng: random.Random, places: Sequence[DemoPlace], count: int) -> list[DemoClip]:
    """About 80% of clips show a place (popular places get several), the rest follow a theme."""
    creators = _creators(rng)
    place_weights = [rng.lognormvariate(0, 0.8) for _ in places]
    clips: list[DemoClip] = []
    for index in range(count):
        language = "ko" if rng.random() < 0.55 else "en"
        place: DemoPlace | None = (
            rng.choices(places, weights=place_weights)[0] if places and rng.random() < 0.8 else None
        )
        if place is not None:
            title, caption, traits = _place_clip_text(rng, place, language)
            category = place.category
        else:
            title, caption, category, traits = _theme_clip_text(rng, language)
        duration = round(min(max(rng.lognormvariate(math.log(28), 0.55), 8.0), 90.0), 1)
        clips.append(
            DemoClip(
                index=index,
                external_id=f"{SOURCE}:clip:{index}",
                title=title[:300],
                caption=caption,
                media_url=f"https://example.com/demo/clips/{index}.mp4",
                thumbnail_url=f"https://example.com/demo/clips/{index}.jpg",
                duration_seconds=duration,
                creator=rng.choice(creators),
                language=language,
                category=category,
                place_index=place.index if place else None,
                traits=traits,
            )
        )
    return clips


# --- Users -----------------------------------------------------------------------------------


def _random_taste(rng: random.Random) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    categories = _weighted_sample(rng, [c.key for c in CATEGORIES], [c.share for c in CATEGORIES], rng.randint(1, 3))
    fits = [3.0 if set(t.categories) & set(categories) else 0.5 for t in TRAITS]
    traits = _weighted_sample(rng, [t.key for t in TRAITS], fits, rng.randint(2, 4))
    homes = rng.sample([d.key for d in DISTRICTS], rng.choice((1, 1, 2, 2, 3)))
    return tuple(sorted(categories)), tuple(sorted(traits)), tuple(sorted(homes))


def generate_users(rng: random.Random, count: int) -> list[DemoUser]:
    """The ``demo`` login (a quiet-café-and-dessert person in Yeonnam/Seongsu) plus ``count`` others."""
    users = [
        DemoUser(
            -1,
            DEMO_LOGIN_USERNAME,
            "Demo",
            ("bakery", "cafe"),
            ("coffee", "dessert", "quiet", "study"),
            ("seongsu", "yeonnam"),
            "ko",
        ),
    ]
    for index in range(count):
        categories, traits, homes = _random_taste(rng)
        users.append(
            DemoUser(
                index=index,
                username=f"{USERNAME_PREFIX}{index}",
                first_name=PERSONA_NAMES[index % len(PERSONA_NAMES)],
                favourite_categories=categories,
                favourite_traits=traits,
                home_districts=homes,
                language="ko" if rng.random() < 0.6 else "en",
            )
        )
    return users


def _activity_levels(rng: random.Random, users: Sequence[DemoUser]) -> dict[str, int]:
    """Heavy-tailed interaction counts; a few people with none and a few with one or two."""
    regular = [u.username for u in users if u.username != DEMO_LOGIN_USERNAME]
    n_cold = min(len(regular), max(3, len(regular) // 12))
    cold = rng.sample(regular, min(len(regular), 2 * n_cold))
    zero, tiny = set(cold[:n_cold]), set(cold[n_cold:])
    levels = {DEMO_LOGIN_USERNAME: 14}
    for username in regular:
        if username in zero:
            levels[username] = 0
        elif username in tiny:
            levels[username] = rng.randint(1, 2)
        else:
            levels[username] = max(3, min(int(rng.lognormvariate(math.log(14), 1.0)), 250))
    return levels


# --- Interactions ----------------------------------------------------------------------------


def match_score(user: DemoUser, traits: Iterable[str], category: str, district: str | None) -> float:
    """How well an item suits a person, 0..1: shared traits, category, home district."""
    shared = len(set(user.favourite_traits) & set(traits))
    score = 0.5 * min(shared / 2, 1.0)
    score += 0.3 if category in user.favourite_categories else 0.0
    score += 0.2 if district in user.home_districts else 0.0
    return score


def _place_kind(rng: random.Random, score: float) -> str:
    if rng.random() > 0.45 + 0.55 * score:
        return rng.choices(("skip", "dislike"), weights=(0.8, 0.2))[0]
    return rng.choices(
        ("view", "click", "like", "save", "visit"),
        weights=(0.35, 0.25, 0.1 + 0.35 * score, 0.05 + 0.2 * score, 0.05 + 0.25 * score),
    )[0]


def _clip_kind(rng: random.Random, score: float) -> str:
    if rng.random() > 0.4 + 0.6 * score:
        return rng.choices(("skip", "dislike"), weights=(0.85, 0.15))[0]
    return rng.choices(("view", "watch", "like", "save"), weights=(0.2, 0.45, 0.1 + 0.3 * score, 0.03 + 0.12 * score))[
        0
    ]


def _item_scores(
    user: DemoUser, places: Sequence[DemoPlace], clips: Sequence[DemoClip]
) -> tuple[list[float], list[float]]:
    place_scores = [match_score(user, p.trait_keys, p.category, p.district) for p in places]
    clip_scores = []
    for clip in clips:
        place = places[clip.place_index] if clip.place_index is not None else None
        clip_scores.append(match_score(user, clip.traits, clip.category, place.district if place else None))
    return place_scores, clip_scores


def generate_interactions(
    rng: random.Random,
    users: Sequence[DemoUser],
    places: Sequence[DemoPlace],
    clips: Sequence[DemoClip],
    new_places: frozenset[int],
    new_clips: frozenset[int],
) -> list[DemoInteraction]:
    """People mostly pick (and like) what matches their tastes near home; new items stay untouched."""
    levels = _activity_levels(rng, users)
    popularity = [rng.lognormvariate(0, 0.6) for _ in places]
    clip_popularity = [rng.lognormvariate(0, 0.6) for _ in clips]
    out: list[DemoInteraction] = []
    for user in users:
        n = levels[user.username]
        if n == 0:
            continue
        place_scores, clip_scores = _item_scores(user, places, clips)
        place_w = [
            0.0 if p.index in new_places else popularity[i] * math.exp(5 * place_scores[i])
            for i, p in enumerate(places)
        ]
        clip_w = [
            0.0 if c.index in new_clips else clip_popularity[i] * math.exp(5 * clip_scores[i])
            for i, c in enumerate(clips)
        ]
        can_place, can_clip = sum(place_w) > 0, sum(clip_w) > 0
        if not (can_place or can_clip):
            continue
        for j in range(n):
            age = _age(rng)
            if can_clip and (not can_place or rng.random() < 0.35):
                clip = rng.choices(clips, weights=clip_w)[0]
                kind = _clip_kind(rng, clip_scores[clip.index])
                fraction = (
                    round(min(1.0, rng.betavariate(1 + 4 * clip_scores[clip.index], 1.5)), 3)
                    if kind == "watch"
                    else None
                )
                out.append(
                    DemoInteraction(
                        user.username, f"{SOURCE}:{user.username}:{j}", kind, None, clip.index, fraction, age
                    )
                )
            else:
                place = rng.choices(places, weights=place_w)[0]
                kind = _place_kind(rng, place_scores[place.index])
                out.append(
                    DemoInteraction(user.username, f"{SOURCE}:{user.username}:{j}", kind, place.index, None, None, age)
                )
    return out


# --- Reviews ---------------------------------------------------------------------------------

KO_OPENERS = {
    5: ("정말 좋았어요!", "인생 맛집이에요.", "또 올 거예요."),
    4: ("좋았어요.", "만족스러웠어요."),
    3: ("무난했어요.", "나쁘지 않았어요."),
    2: ("기대보다 별로였어요.", "조금 아쉬웠어요."),
    1: ("다시는 안 갈 것 같아요.",),
}
EN_OPENERS = {
    5: ("Loved it!", "One of my favourites.", "Will come back."),
    4: ("Really nice.", "Pretty good."),
    3: ("It was okay.", "Not bad."),
    2: ("A bit disappointing.", "Expected more."),
    1: ("Would not go again.",),
}
KO_COMPLAINTS = ("웨이팅이 길었어요.", "좀 시끄러웠어요.", "가격이 비싼 편이에요.", "자리가 좁아요.")
EN_COMPLAINTS = ("Long wait.", "Quite noisy.", "A bit pricey.", "Tables are cramped.")


def _rating(rng: random.Random, score: float) -> int:
    return max(1, min(5, round(2.5 + 2.8 * score + rng.gauss(0, 0.7))))


def _review_text(
    rng: random.Random, place: DemoPlace, user: DemoUser, rating: int, language: str
) -> tuple[str, tuple[str, ...]]:
    """Opener, 1-3 sentences about the place's traits (favourites first), maybe a complaint."""
    keys = [k for k, _ in place.traits]
    weights = [3.0 if k in user.favourite_traits else 1.0 for k in keys]
    mentioned = _weighted_sample(rng, keys, weights, rng.randint(1, min(3, len(keys))))
    mixed = rng.random() < 0.06
    parts: list[str] = []
    for position, key in enumerate(mentioned):
        trait = TRAIT_BY_KEY[key]
        in_ko = language == "ko" if not (mixed and position == len(mentioned) - 1) else language != "ko"
        parts.append(rng.choice(trait.ko_sentences if in_ko else trait.en_sentences))
    opener = rng.choice((KO_OPENERS if language == "ko" else EN_OPENERS)[rating])
    text = " ".join([opener, *parts])
    if rating <= 3:
        text += " " + rng.choice(KO_COMPLAINTS if language == "ko" else EN_COMPLAINTS)
    if mixed and len(mentioned) == 1:
        text += " " + ("Highly recommend!" if language == "ko" else "강추해요!")
    return text, tuple(sorted(mentioned))


def generate_reviews(
    rng: random.Random, users: Sequence[DemoUser], places: Sequence[DemoPlace], interactions: Sequence[DemoInteraction]
) -> list[DemoReview]:
    """Reviews follow visits (often) and likes (sometimes); one per person and place."""
    by_name = {u.username: u for u in users}
    seen: set[tuple[str, int]] = set()
    reviews: list[DemoReview] = []
    for event in interactions:
        if event.place_index is None or event.kind not in ("visit", "like", "save", "dislike"):
            continue
        if (event.username, event.place_index) in seen:
            continue
        if rng.random() > {"visit": 0.85, "like": 0.45, "save": 0.25, "dislike": 0.3}[event.kind]:
            continue
        seen.add((event.username, event.place_index))
        user, place = by_name[event.username], places[event.place_index]
        score = match_score(user, place.trait_keys, place.category, place.district)
        rating = _rating(rng, score) if event.kind != "dislike" else rng.choice((1, 2, 2))
        language = "ko" if rng.random() < (0.75 if user.language == "ko" else 0.35) else "en"
        text, mentioned = _review_text(rng, place, user, rating, language)
        reviews.append(
            DemoReview(
                f"{SOURCE}:review:{len(reviews)}",
                user.username,
                place.index,
                rating,
                text,
                language,
                max(0, event.age_seconds - rng.randint(0, DAY_SECONDS)),
                mentioned,
            )
        )
    return reviews


def review_visits(reviews: Sequence[DemoReview], interactions: Sequence[DemoInteraction]) -> list[DemoInteraction]:
    """The visit each review implies where its writer's events hold none (a review after a like,
    a save or a dislike), at the review's time: as a review written in the app records one, so the
    data export and import read it back as it is (a review is a visit)."""
    visited = {(e.username, e.place_index) for e in interactions if e.kind == "visit"}
    return [
        DemoInteraction(r.username, f"{r.external_id}:visit", "visit", r.place_index, None, None, r.age_seconds)
        for r in reviews
        if (r.username, r.place_index) not in visited
    ]


# --- Searches --------------------------------------------------------------------------------


def _interest_search(rng: random.Random, user: DemoUser, language: str) -> str:
    category = CATEGORY_BY_KEY[rng.choice(user.favourite_categories)]
    fitting = [t for t in user.favourite_traits if category.key in TRAIT_BY_KEY[t].categories]
    trait = TRAIT_BY_KEY[rng.choice(fitting or [t.key for t in TRAITS if category.key in t.categories])]
    district = DISTRICT_BY_KEY[rng.choice(user.home_districts)]
    form = rng.randint(0, 2)
    if language == "ko":
        return (
            f"{district.ko} {trait.ko} {category.ko}",
            f"{trait.ko} {category.ko}",
            f"{district.ko} {category.ko} 추천",
        )[form]
    return (
        f"{trait.en} {category.en} {district.en}",
        f"{trait.en} {category.en}",
        f"best {category.en} near {district.en}",
    )[form]


def generate_searches(rng: random.Random, users: Sequence[DemoUser]) -> list[DemoSearch]:
    """0-6 searches a person: mostly interest searches, about one in ten a task search."""
    searches: list[DemoSearch] = []
    for user in users:
        count = 3 if user.username == DEMO_LOGIN_USERNAME else rng.choice((0, 1, 1, 2, 2, 3, 4, 6))
        for j in range(count):
            is_task = user.username != DEMO_LOGIN_USERNAME and rng.random() < 0.12
            if is_task:
                text, language = rng.choice(TASK_SEARCHES)
            else:
                language = user.language if rng.random() < 0.8 else ("en" if user.language == "ko" else "ko")
                text = _interest_search(rng, user, language)
            searches.append(
                DemoSearch(f"{SOURCE}:search:{user.username}:{j}", user.username, text, language, is_task, _age(rng))
            )
    return searches


# --- Entry point -----------------------------------------------------------------------------


def _new_items(rng: random.Random, count: int, share: float = 0.08) -> frozenset[int]:
    if count == 0:
        return frozenset()
    return frozenset(rng.sample(range(count), max(min(3, count), round(count * share))))


def generate(seed: int = 42, users: int = 60, places: int = 150, clips_per_place: float = 1.5) -> DemoData:
    """Generate a complete, consistent demo data set. Pure: same arguments -> equal result."""
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not security
    place_rows = generate_places(rng, places)
    clip_rows = generate_clips(rng, place_rows, round(places * clips_per_place))
    user_rows = generate_users(rng, users)
    new_places = _new_items(rng, len(place_rows))
    new_clips = _new_items(rng, len(clip_rows))
    interactions = generate_interactions(rng, user_rows, place_rows, clip_rows, new_places, new_clips)
    reviews = generate_reviews(rng, user_rows, place_rows, interactions)
    interactions += review_visits(reviews, interactions)
    searches = generate_searches(rng, user_rows)
    return DemoData(
        seed=seed,
        places=tuple(place_rows),
        clips=tuple(clip_rows),
        users=tuple(user_rows),
        interactions=tuple(interactions),
        reviews=tuple(reviews),
        searches=tuple(searches),
        new_place_indexes=new_places,
        new_clip_indexes=new_clips,
    )


# --- Database write --------------------------------------------------------------------------

Progress = Callable[[str, int], None]


def _no_progress(stage: str, rows: int) -> None:
    """The default progress callback: ignore."""


def delete_demo_data() -> dict[str, int]:
    """Delete every demo row (places, clips, demo users and what cascades from them)."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    from clips.models import Clip
    from places.models import Place

    deleted: dict[str, int] = {}
    querysets: tuple[Any, ...] = (
        get_user_model().objects.filter(Q(username__startswith=USERNAME_PREFIX) | Q(username=DEMO_LOGIN_USERNAME)),
        Clip.objects.filter(source=SOURCE),
        Place.objects.filter(source=SOURCE),
    )
    for queryset in querysets:
        _, per_model = queryset.delete()
        for model_label, n in per_model.items():
            deleted[model_label] = deleted.get(model_label, 0) + n
    return deleted


def _upsert(
    model: Any,
    rows: list[Any],
    key: Callable[[Any], tuple[Any, ...]],
    existing: dict[tuple[Any, ...], int],
    update_fields: list[str],
) -> list[Any]:
    """Create rows whose key is new, update the others in place; return the rows with pks."""
    to_update = []
    to_create = []
    for row in rows:
        pk = existing.get(key(row))
        if pk is None:
            to_create.append(row)
        else:
            row.pk = pk
            to_update.append(row)
    model.objects.bulk_create(to_create, batch_size=500)
    if to_update:
        model.objects.bulk_update(to_update, update_fields, batch_size=500)
    return rows


def _sync_links(
    model: Any, current: Any, links: list[Any], key_fields: tuple[str, str], update_fields: list[str]
) -> None:
    """Make the demo keyword links of ``model`` exactly ``links``, keeping rows that stay."""
    existing = {tuple(row[:2]): row[2] for row in current.values_list(*key_fields, "id")}
    wanted = {tuple(getattr(link, f) for f in key_fields) for link in links}
    current.filter(id__in=[pk for k, pk in existing.items() if k not in wanted]).delete()
    _upsert(model, links, lambda r: tuple(getattr(r, f) for f in key_fields), existing, update_fields)


def _write_keywords() -> dict[tuple[str, str], Any]:
    """One Keyword row per trait and language (shared vocabulary: never deleted by --reset)."""
    from recommender.models import Keyword

    keywords: dict[tuple[str, str], Any] = {}
    for trait in TRAITS:
        for language, text in (("ko", trait.ko), ("en", trait.en)):
            keyword, _ = Keyword.objects.get_or_create(text=text, language=language, defaults={"tag_en": trait.en})
            keywords[(trait.key, language)] = keyword
    return keywords


def _write_places(data: DemoData, keywords: dict[tuple[str, str], Any]) -> dict[int, Any]:
    from places.models import Place
    from recommender.models import PlaceKeyword

    existing = dict(((ext,), pk) for ext, pk in Place.objects.filter(source=SOURCE).values_list("external_id", "id"))
    rows = [
        Place(
            name=p.name,
            category=p.category,
            address=p.address,
            district=DISTRICT_BY_KEY[p.district].ko,
            latitude=p.latitude,
            longitude=p.longitude,
            opening_hours=p.opening_hours,
            description=p.description,
            source=SOURCE,
            external_id=p.external_id,
            is_active=True,
        )
        for p in data.places
    ]
    fields = [
        "name",
        "category",
        "address",
        "district",
        "latitude",
        "longitude",
        "opening_hours",
        "description",
        "is_active",
    ]
    _upsert(Place, rows, lambda r: (r.external_id,), existing, fields)
    by_index = {p.index: row for p, row in zip(data.places, rows, strict=True)}
    mentions: dict[tuple[int, str, str], int] = {}
    for review in data.reviews:
        for key in review.traits:
            mentions[(review.place_index, key, review.language)] = (
                mentions.get((review.place_index, key, review.language), 0) + 1
            )
    links = [
        PlaceKeyword(
            place=by_index[p.index],
            keyword=keywords[(key, language)],
            weight=strength,
            count=mentions.get((p.index, key, language), 0),
            source=SOURCE,
        )
        for p in data.places
        for key, strength in p.traits
        for language in ("ko", "en")
    ]
    _sync_links(
        PlaceKeyword, PlaceKeyword.objects.filter(source=SOURCE), links, ("place_id", "keyword_id"), ["weight", "count"]
    )
    return by_index


def _write_clips(data: DemoData, places: dict[int, Any], keywords: dict[tuple[str, str], Any]) -> dict[int, Any]:
    from clips.models import Clip
    from recommender.models import ClipKeyword

    existing = dict(((ext,), pk) for ext, pk in Clip.objects.filter(source=SOURCE).values_list("external_id", "id"))
    rows = [
        Clip(
            title=c.title,
            caption=c.caption,
            media_url=c.media_url,
            thumbnail_url=c.thumbnail_url,
            duration_seconds=c.duration_seconds,
            creator=c.creator,
            language=c.language,
            category=c.category,
            place=places[c.place_index] if c.place_index is not None else None,
            source=SOURCE,
            external_id=c.external_id,
            is_active=True,
        )
        for c in data.clips
    ]
    fields = [
        "title",
        "caption",
        "media_url",
        "thumbnail_url",
        "duration_seconds",
        "creator",
        "language",
        "category",
        "place",
        "is_active",
    ]
    _upsert(Clip, rows, lambda r: (r.external_id,), existing, fields)
    links = [
        ClipKeyword(clip=row, keyword=keywords[(key, c.language)])
        for c, row in zip(data.clips, rows, strict=True)
        for key in c.traits
    ]
    _sync_links(
        ClipKeyword, ClipKeyword.objects.filter(clip__source=SOURCE), links, ("clip_id", "keyword_id"), ["weight"]
    )
    return {c.index: row for c, row in zip(data.clips, rows, strict=True)}


def _write_users(data: DemoData) -> dict[str, Any]:
    """Demo people without a usable password, and the ``demo``/``demo`` login."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    user_model = get_user_model()
    names = [u.username for u in data.users]
    existing = {(name,): pk for name, pk in user_model.objects.filter(username__in=names).values_list("username", "id")}
    unusable = make_password(None)
    rows = [
        user_model(
            username=u.username,
            first_name=u.first_name,
            email=f"{u.username.replace(':', '-')}@example.com",
            password=unusable,
            is_active=True,
        )
        for u in data.users
    ]
    _upsert(user_model, rows, lambda r: (r.username,), existing, ["first_name", "email", "is_active"])
    login = next(r for r in rows if r.username == DEMO_LOGIN_USERNAME)
    login.refresh_from_db(fields=["password"])
    if not login.check_password(DEMO_LOGIN_PASSWORD):
        login.set_password(DEMO_LOGIN_PASSWORD)
        login.save(update_fields=["password"])
    return {r.username: r for r in rows}


def _write_activity(
    data: DemoData, users: dict[str, Any], places: dict[int, Any], clips: dict[int, Any], reference: dt.datetime
) -> None:
    from places.models import Review
    from recommender.models import Interaction, SearchQuery, interaction_weight

    def when(age: int) -> dt.datetime:
        return reference - dt.timedelta(seconds=age)

    user_ids = [u.pk for u in users.values()]
    existing_events = {
        (uid, key): pk
        for uid, key, pk in Interaction.objects.filter(
            user_id__in=user_ids, idempotency_key__startswith=f"{SOURCE}:"
        ).values_list("user_id", "idempotency_key", "id")
    }
    events = [
        Interaction(
            user=users[e.username],
            place=places.get(e.place_index) if e.place_index is not None else None,
            clip=clips.get(e.clip_index) if e.clip_index is not None else None,
            kind=e.kind,
            weight=interaction_weight(e.kind, e.watched_fraction),
            watched_fraction=e.watched_fraction,
            occurred_at=when(e.age_seconds),
            idempotency_key=e.key,
            source=SOURCE,
        )
        for e in data.interactions
    ]
    _upsert(
        Interaction,
        events,
        lambda r: (r.user_id, r.idempotency_key),
        existing_events,
        ["place", "clip", "kind", "weight", "watched_fraction", "occurred_at", "source"],
    )

    existing_reviews = {(ext,): pk for ext, pk in Review.objects.filter(source=SOURCE).values_list("external_id", "id")}
    reviews = [
        Review(
            user=users[r.username],
            place=places[r.place_index],
            rating=r.rating,
            text=r.text,
            language=r.language,
            source=SOURCE,
            external_id=r.external_id,
            created_at=when(r.age_seconds),
        )
        for r in data.reviews
    ]
    _upsert(
        Review,
        reviews,
        lambda r: (r.external_id,),
        existing_reviews,
        ["user", "place", "rating", "text", "language", "created_at"],
    )

    existing_searches = {
        (ext,): pk for ext, pk in SearchQuery.objects.filter(source=SOURCE).values_list("external_id", "id")
    }
    searches = [
        SearchQuery(
            user=users[s.username],
            text=s.text,
            language=s.language,
            source=SOURCE,
            external_id=s.external_id,
            created_at=when(s.age_seconds),
        )
        for s in data.searches
    ]
    _upsert(
        SearchQuery, searches, lambda r: (r.external_id,), existing_searches, ["user", "text", "language", "created_at"]
    )


def _prune_stale(data: DemoData) -> None:
    """Drop demo rows a previous, larger load left behind, so a reload leaves exactly this set."""
    from django.contrib.auth import get_user_model

    from clips.models import Clip
    from places.models import Place, Review
    from recommender.models import Interaction, SearchQuery

    get_user_model().objects.filter(username__startswith=USERNAME_PREFIX).exclude(
        username__in=[u.username for u in data.users]
    ).delete()
    Place.objects.filter(source=SOURCE).exclude(external_id__in=[p.external_id for p in data.places]).delete()
    Clip.objects.filter(source=SOURCE).exclude(external_id__in=[c.external_id for c in data.clips]).delete()
    Review.objects.filter(source=SOURCE).exclude(external_id__in=[r.external_id for r in data.reviews]).delete()
    SearchQuery.objects.filter(source=SOURCE).exclude(external_id__in=[s.external_id for s in data.searches]).delete()
    keep = {(e.username, e.key) for e in data.interactions}
    stale = [
        pk
        for pk, username, key in Interaction.objects.filter(source=SOURCE).values_list(
            "id", "user__username", "idempotency_key"
        )
        if (username, key) not in keep
    ]
    Interaction.objects.filter(pk__in=stale).delete()


def write_demo_data(data: DemoData, reference: dt.datetime | None = None, progress: Progress = _no_progress) -> None:
    """Insert or update ``data`` (idempotent by source/external_id, username and idempotency key).

    Call inside ``transaction.atomic()``. ``reference`` is "now" for the generated ages; it
    defaults to the start of the current hour so reloads within the hour change nothing.
    """
    from django.utils import timezone

    if reference is None:
        reference = timezone.now().replace(minute=0, second=0, microsecond=0)
    keywords = _write_keywords()
    progress("keywords", len(keywords))
    places = _write_places(data, keywords)
    progress("places", len(places))
    clips = _write_clips(data, places, keywords)
    progress("clips", len(clips))
    users = _write_users(data)
    progress("users", len(users))
    _write_activity(data, users, places, clips, reference)
    progress("activity", len(data.interactions) + len(data.reviews) + len(data.searches))
    _prune_stale(data)


def demo_counts() -> dict[str, int]:
    """How many demo rows of each kind are in the database."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    from clips.models import Clip
    from places.models import Place, Review
    from recommender.models import ClipKeyword, Interaction, PlaceKeyword, SearchQuery

    users = get_user_model().objects.filter(Q(username__startswith=USERNAME_PREFIX) | Q(username=DEMO_LOGIN_USERNAME))
    return {
        "users": users.count(),
        "places": Place.objects.filter(source=SOURCE).count(),
        "clips": Clip.objects.filter(source=SOURCE).count(),
        "reviews": Review.objects.filter(source=SOURCE).count(),
        "interactions": Interaction.objects.filter(source=SOURCE).count(),
        "search queries": SearchQuery.objects.filter(source=SOURCE).count(),
        "place keywords": PlaceKeyword.objects.filter(source=SOURCE).count(),
        "clip keywords": ClipKeyword.objects.filter(clip__source=SOURCE).count(),
    }
