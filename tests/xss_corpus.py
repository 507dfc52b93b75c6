"""What the stored-XSS tests share: the payload corpus, a catalogue written from it, and a scan for live markup.

``store_corpus`` writes every payload wherever people, curators and the keyword extractor write
text, through the same functions the app uses (reviews, searches, likes, extraction tasks, curator
rules). ``scan_html`` finds what a payload would need to run: an inline handler, a script, a
``javascript:`` URL, an embedding element. The browser test checks the same in the real DOM.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
from django.contrib.auth.models import User
from django.utils import timezone

from clips.models import Clip
from places import services as place_services
from places.models import Place, Review
from recommender import services
from recommender.curation import save_rule
from recommender.keywords import KeywordInput
from recommender.models import ClipKeyword, CuratorRule, Keyword, QueryIntent
from recommender.roles import ensure_curator_group
from workers.keywording import Extraction, Kind

PAYLOADS_FILE = Path(__file__).resolve().parent / "corpora" / "xss_payloads.txt"
CHUNK = 10  # payloads per showcase page: a place page lists 10 reviews per page
DIMENSIONS = 384
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def load_payloads(path: Path = PAYLOADS_FILE) -> list[str]:
    """The payloads, in file order (payload N is line N of the non-comment lines)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def language_of(text: str) -> str:
    return "ko" if _HANGUL.search(text) else "en"


# --- storing the corpus ----------------------------------------------------------------------


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


_CENTRE = _unit(np.random.default_rng(9).normal(size=DIMENSIONS))


def vector_near_centre(seed: int | str) -> list[float]:
    """A unit vector close to one shared direction: every item is similar to every other one,
    so "similar places", "more like this" and search reasons all have something to show."""
    if isinstance(seed, str):
        seed = int(hashlib.sha256(seed.encode()).hexdigest()[:12], 16)
    noise = np.random.default_rng(seed).normal(size=DIMENSIONS)
    return _unit(_CENTRE * 20 + noise).tolist()


def fake_encode(texts: list[str], **kwargs: Any) -> np.ndarray:
    """Stands in for the embedding model inside the worker tasks (no model download in tests)."""
    return np.asarray([vector_near_centre(text) for text in texts], dtype=np.float32)


class EchoExtractor:
    """An extractor that returns the text it was given as the one keyword, text and English tag.

    That is what an obedient model does when a review says "output this as a keyword". It skips
    the LLM client's own validation on purpose: pages must stay safe whatever an extractor stores.
    """

    id = "echo:xss-corpus"

    def extract(self, text: str, *, kind: Kind) -> Extraction:
        keyword = KeywordInput(text, language_of(text), tag_en=text, weight=1.0)
        return Extraction([keyword], QueryIntent.INTEREST)


@contextmanager
def echoing_workers() -> Iterator[None]:
    """Run the real extraction and embedding tasks with the echo extractor and a fake encoder."""
    with (
        mock.patch("workers.tasks.active_extractor", return_value=EchoExtractor()),
        mock.patch("workers.tasks.encode", side_effect=fake_encode),
    ):
        yield


@dataclass
class Corpus:
    """The stored corpus. Payload ``i`` is place ``i``'s name and clip ``i``'s title; chunk ``j``
    (payloads ``j*CHUNK`` onwards) are the reviews, keywords and description of showcase place ``j``
    (``places[j*CHUNK]``), written and searched by reader ``j``, who liked its places or clips."""

    payloads: list[str]
    places: list[Place]
    clips: list[Clip]
    reviews: list[Review]
    keywords: list[Keyword]
    readers: list[User]
    curator: User
    newcomer: User
    rules: list[CuratorRule] = field(default_factory=list)

    @property
    def chunks(self) -> list[list[str]]:
        return [self.payloads[start : start + CHUNK] for start in range(0, len(self.payloads), CHUNK)]

    @property
    def showcase_places(self) -> list[Place]:
        return self.places[::CHUNK]

    @property
    def showcase_clips(self) -> list[Clip]:
        return self.clips[::CHUNK]


def _person(username: str, **extra: Any) -> User:
    # No password (hashing one takes ~0.4 s): tests sign people in with force_login or a session cookie.
    return User.objects.create_user(username, f"{username}@example.com", None, **extra)


def store_corpus(payloads: list[str]) -> Corpus:
    """Write every payload as a place, clip, review, keyword, search and curator note (see ``Corpus``)."""
    from workers.tasks import extract_query_keywords, extract_review_keywords

    chunks = [payloads[start : start + CHUNK] for start in range(0, len(payloads), CHUNK)]
    readers = [_person(f"reader{j}") for j in range(len(chunks))]
    curator = _person("curator", is_staff=True)
    curator.groups.add(ensure_curator_group())
    newcomer = _person("newcomer")
    hours = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}

    def description(i: int) -> str:  # a showcase place describes itself with its whole chunk
        return "\n".join(chunks[i // CHUNK]) if i % CHUNK == 0 else payloads[i]

    places = Place.objects.bulk_create(
        Place(
            name=p,
            category=p,
            district=p,
            address=p,
            description=description(i),
            latitude=37.55 + i * 1e-4,
            longitude=126.92 + i * 1e-4,
            opening_hours=hours,
            embedding=vector_near_centre(i),
        )
        for i, p in enumerate(payloads)
    )
    clips = Clip.objects.bulk_create(
        Clip(
            title=p,
            caption=description(i),
            creator=p,
            category=p,
            language=language_of(p),
            place=places[i],
            duration_seconds=30.0,
            embedding=vector_near_centre(10_000 + i),
        )
        for i, p in enumerate(payloads)
    )
    reviews = []
    with echoing_workers():
        for i, p in enumerate(payloads):
            reader, showcase = readers[i // CHUNK], places[i // CHUNK * CHUNK]
            review = place_services.create_review(user=reader, place=showcase, rating=1 + i % 5, text=p)
            # Newest first on the place page: each chunk's first payload is its author's latest review.
            Review.objects.filter(pk=review.pk).update(created_at=timezone.now() - timedelta(minutes=i))
            assert extract_review_keywords(review.pk) == "stored"
            reviews.append(review)
            search = services.record_search(reader, p)
            assert extract_query_keywords(search.pk) == "stored"
    by_text = {(k.text, k.language): k for k in Keyword.objects.filter(text__in=payloads)}
    keywords = [by_text[(p, language_of(p))] for p in payloads]
    ClipKeyword.objects.bulk_create(  # a showcase clip's topics are its chunk's keywords
        ClipKeyword(clip=clips[start], keyword=keyword)
        for start in range(0, len(payloads), CHUNK)
        for keyword in keywords[start : start + CHUNK]
    )
    for j, reader in enumerate(readers):
        # Odd readers like and save places, even ones clips: with no liked place, a place feed
        # explains itself by the searches ("Because you searched …"), otherwise by likes.
        for item in (places if j % 2 else clips)[j * CHUNK : (j + 1) * CHUNK]:
            services.record_interaction(reader, item, "like")
            services.record_interaction(reader, item, "save")
        services.mute_keyword(reader, keywords[j * CHUNK].pk)  # shown under "Removed interests"
    rules = [
        save_rule(CuratorRule(action="boost", category=p, factor=1.5, is_active=False, note=p), curator)
        for p in payloads
    ]
    return Corpus(payloads, places, clips, reviews, keywords, readers, curator, newcomer, rules)


# --- finding live markup ---------------------------------------------------------------------

# Elements the pages never use and a payload could use to run or load code. (<svg> is not here: the
# admin draws icons with it; what makes an <svg> payload run, a handler, a script or a script URL, is.)
FORBIDDEN_ELEMENTS = frozenset(
    {
        "applet", "base", "embed", "foreignobject", "frame", "frameset", "iframe", "isindex", "keygen",
        "marquee", "math", "noscript", "object", "xmp",
    }
)  # fmt: skip
URL_ATTRIBUTES = frozenset(
    {"action", "background", "cite", "codebase", "data", "dynsrc", "formaction", "href", "lowsrc", "poster", "src"}
)
SAFE_DATA_URL = re.compile(r"data:(,|image/(png|gif|jpeg|webp)[;,])")
DATA_SCRIPT_TYPES = frozenset({"application/json", "application/ld+json"})


def dangerous_url(value: str) -> bool:
    """Whether a URL attribute's value would run script (browsers drop whitespace and control
    characters from a scheme, and match it case-insensitively)."""
    squeezed = re.sub(r"[\x00-\x20\x7f-\x9f\u00a0\u200b]", "", value).lower()
    if squeezed.startswith(("javascript:", "vbscript:", "livescript:")):
        return True
    return squeezed.startswith("data:") and not SAFE_DATA_URL.match(squeezed)


class PageScan(HTMLParser):
    """Parses a page; ``problems`` lists live markup, ``strings`` every text and attribute value."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.strings: list[str] = []
        self._in: str | None = None  # "script", "data" (a JSON script) or "style" while inside one

    def _report(self, what: str) -> None:
        line, column = self.getpos()
        self.problems.append(f"line {line}:{column}: {what}")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        self.strings.extend(values.values())
        if tag in FORBIDDEN_ELEMENTS:
            self._report(f"<{tag}> element")
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self._report("<meta http-equiv=refresh>")
        for name, value in values.items():
            if name.startswith("on"):
                self._report(f"<{tag} {name}={value!r}> inline event handler")
            elif name == "srcdoc":
                self._report(f"<{tag} srcdoc> attribute")
            elif (name in URL_ATTRIBUTES or name.endswith(":href")) and dangerous_url(value):
                self._report(f"<{tag} {name}={value!r}> script URL")
            elif name == "style" and re.search(r"expression|javascript:|\\|@import", value, re.I):
                self._report(f"<{tag} style={value!r}> scripted style")
        if tag == "script":
            src, kind = values.get("src", ""), values.get("type", "").lower()
            if kind in DATA_SCRIPT_TYPES:
                self._in = "data"  # JSON for a script to read, never run
                return
            if not src.startswith(("/static/", "/admin/jsi18n/")):
                self._report(f"<script {values}> not a same-origin file")
            self._in = "script"
        elif tag == "style":
            self._in = "style"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in ("script", "style"):
            self._in = None  # html.parser reads what follows <script/> as markup, not as script text

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in or (tag == "script" and self._in == "data"):
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script" and data.strip():
            self._report(f"inline script {data.strip()[:80]!r}")
        elif self._in == "data":
            pass
        elif self._in == "style" and re.search(r"expression|javascript:|@import|\\", data, re.I):
            self._report(f"scripted <style> {data.strip()[:80]!r}")
        else:
            self.strings.append(data)


def scan_html(html: str) -> PageScan:
    scan = PageScan()
    scan.feed(html)
    scan.close()
    return scan


MARKUP_CHARACTERS = frozenset("<>\"'&")


def needs_escaping(payload: str) -> bool:
    """A payload Django's escaping must change: if it appears verbatim, something skipped escaping."""
    return any(ch in MARKUP_CHARACTERS for ch in payload)
