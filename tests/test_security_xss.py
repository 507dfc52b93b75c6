"""Stored XSS: ~100 payloads stored as everything people, curators and the keyword extractor write
(reviews, keywords and their English tags, place and clip fields, searches, curator notes, LLM
errors) render as inert text on the web pages, the profile, the curator pages and the admin; and
every HTML response forbids inline script with a Content-Security-Policy.

"Inert" is checked three ways on each page: parsed, it has no inline handler, script, script URL or
embedding element (``tests.xss_corpus.scan_html``); no payload that escaping must change appears
verbatim; and the payloads the page is meant to show are there as text, so nothing passes by
being left out. The browser check is tests/e2e/test_xss.py.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse
from pytest_django import DjangoDbBlocker
from pytest_django.fixtures import Settings

from clips.models import Clip
from places import services as place_services
from places.models import Place, Review
from recommender.api.pagination import MAX_PAGE_SIZE
from recommender.api.params import MAX_QUERY_LENGTH
from recommender.models import Keyword, PipelineStatus
from recommender.roles import ensure_curator_group
from recommender.web.feed import HOME_FEED_SIZE
from recommender.web.search import PER_PAGE
from tests.llm_standin import LLMStandIn, Reply
from tests.xss_corpus import (
    CHUNK,
    Corpus,
    load_payloads,
    needs_escaping,
    scan_html,
    store_corpus,
)
from workers.tasks import extract_review_keywords, pending_work, record_pipeline_status

pytestmark = pytest.mark.django_db

PAYLOADS = load_payloads()
ESCAPED_BY_DJANGO = [p for p in PAYLOADS if needs_escaping(p)]


@dataclass
class Rendered:
    url: str
    html: str
    text: str  # every text node and attribute value, as the browser reads them, joined by NULs
    problems: list[str]


def render(client: Client, url: str, language: str = "en", status: int = 200, accept: str = "*/*") -> Rendered:
    """GET an HTML page; it must carry a policy that forbids inline script."""
    return checked(client.get(url, HTTP_ACCEPT_LANGUAGE=language, HTTP_ACCEPT=accept), url, status)


def checked(response: HttpResponse, url: str, status: int = 200) -> Rendered:
    assert response.status_code == status, f"{url}: HTTP {response.status_code}"
    assert response["Content-Type"].startswith("text/html"), url
    assert_forbids_inline_script(response.get("Content-Security-Policy", ""), url)
    html = response.content.decode()
    scan = scan_html(html)
    return Rendered(url, html, "\0".join(scan.strings), scan.problems)


def assert_forbids_inline_script(policy: str, url: str) -> None:
    directives = {part.split()[0].lower(): part.split()[1:] for part in policy.split(";") if part.strip()}
    scripts = directives.get("script-src", directives.get("default-src"))
    assert scripts, f"{url}: no script-src in Content-Security-Policy {policy!r}"
    allowed = [source.lower() for source in scripts]
    for loophole in ("'unsafe-inline'", "'unsafe-eval'", "data:", "*", "http:", "https:"):
        assert loophole not in allowed, f"{url}: script-src allows {loophole}"
    assert directives.get("object-src") == ["'none'"], f"{url}: plugins are not forbidden"
    assert "base-uri" in directives, f"{url}: <base> may redirect relative script URLs"


def assert_inert(pages: list[Rendered]) -> None:
    live = [f"{page.url}: {problem}" for page in pages for problem in page.problems]
    assert not live, "live markup:\n" + "\n".join(live)
    verbatim = [f"{page.url}: {p!r}" for page in pages for p in ESCAPED_BY_DJANGO if p in page.html]
    assert not verbatim, "unescaped payloads:\n" + "\n".join(verbatim)


def shown(pages: list[Rendered], payloads: list[str]) -> list[str]:
    """The payloads that appear, exactly, as text or an attribute value somewhere in ``pages``."""
    text = "\0".join(page.text for page in pages)
    return [p for p in payloads if p in text]


def assert_inert_and_all_shown(pages: list[Rendered], payloads: list[str] = PAYLOADS) -> None:
    assert_inert(pages)
    missing = sorted(set(payloads) - set(shown(pages, payloads)))
    assert not missing, f"{len(missing)} payloads not shown as text: {missing[:10]}"


def packed(payloads: list[str], limit: int) -> list[str]:
    """The payloads joined by spaces into strings of at most ``limit`` characters (one page shows many)."""
    groups: list[str] = []
    for payload in payloads:
        if groups and len(groups[-1]) + 1 + len(payload) <= limit:
            groups[-1] += " " + payload
        else:
            groups.append(payload)
    return groups


def signed_in(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def test_the_corpus_holds_about_a_hundred_distinct_payloads_that_fit_every_field() -> None:
    assert len(PAYLOADS) >= 100
    assert len(set(PAYLOADS)) == len(PAYLOADS)
    too_long = [p for p in PAYLOADS if len(p) > Keyword._meta.get_field("text").max_length]  # type: ignore[operator]
    assert not too_long
    assert all(p == " ".join(p.split()) for p in PAYLOADS)  # searches collapse whitespace
    assert any("<script>" in p for p in PAYLOADS) and any("javascript:" in p for p in PAYLOADS)


@pytest.fixture(scope="class")
def corpus(django_db_setup: None, django_db_blocker: DjangoDbBlocker) -> Iterator[Corpus]:
    """The corpus, stored once for the class in a transaction rolled back afterwards (~3 s)."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield store_corpus(PAYLOADS)
        transaction.set_rollback(True)


@pytest.mark.usefixtures("corpus")
class TestTheStoredCorpusRendersAsText:
    def test_place_pages_show_reviews_keywords_and_descriptions_as_text(self, client: Client, corpus: Corpus) -> None:
        urls = [reverse("place", args=[place.pk]) for place in corpus.showcase_places]
        anonymous = [render(client, url, language) for url in urls for language in ("en", "ko")]
        assert_inert_and_all_shown(anonymous)
        # Signed in, the author also sees their latest review in the form's textarea.
        authors = [render(signed_in(client, reader), url) for reader, url in zip(corpus.readers, urls, strict=True)]
        assert_inert_and_all_shown(authors, [chunk[0] for chunk in corpus.chunks])

    def test_the_review_edit_page_keeps_the_text_inside_its_textarea(self, client: Client, corpus: Corpus) -> None:
        pages = []
        for reader, chunk_start in zip(corpus.readers, range(0, len(PAYLOADS), CHUNK), strict=True):
            client.force_login(reader)
            for review in corpus.reviews[chunk_start : chunk_start + CHUNK]:
                pages.append(render(client, reverse("review-edit", args=[review.pk])))
        assert_inert_and_all_shown(pages)

    def test_search_results_and_filters_show_names_categories_and_keywords_as_text(
        self, client: Client, corpus: Corpus
    ) -> None:
        pages_needed = math.ceil(len(PAYLOADS) / PER_PAGE)
        places = [render(client, f"/search/?kind=place&page={n}") for n in range(1, pages_needed + 1)]
        clips = [render(client, f"/search/?kind=clip&page={n}", "ko") for n in range(1, pages_needed + 1)]
        assert_inert_and_all_shown(places)
        assert_inert_and_all_shown(clips)
        # The filter drop-downs list every category and district, i.e. every payload, on one page.
        assert_inert_and_all_shown(places[:1])

    def test_a_searched_text_comes_back_as_text_in_the_title_and_the_search_field(self, client: Client) -> None:
        pages = [render(client, "/search/?" + urlencode({"q": q})) for q in packed(PAYLOADS, MAX_QUERY_LENGTH)]
        assert_inert_and_all_shown(pages)

    def test_feeds_show_names_reasons_and_onboarding_tags_as_text(self, client: Client, corpus: Corpus) -> None:
        anonymous = [render(client, "/", language) for language in ("en", "ko")]
        newcomer = render(signed_in(client, corpus.newcomer), "/")
        readers = [render(signed_in(client, reader), "/") for reader in corpus.readers]
        assert_inert([*anonymous, newcomer, *readers])
        assert len(shown(anonymous, PAYLOADS)) >= HOME_FEED_SIZE
        assert 'name="keywords"' in newcomer.html and len(shown([newcomer], PAYLOADS)) >= HOME_FEED_SIZE
        assert "Because you searched" in "".join(page.text for page in readers)  # reasons quote searches

    def test_profiles_show_searches_interests_and_history_as_text(self, client: Client, corpus: Corpus) -> None:
        pages = []
        for reader in corpus.readers:
            signed_in(client, reader)
            pages += [render(client, "/me/", language) for language in ("en", "ko")]
        assert_inert_and_all_shown(pages)

    def test_clip_pages_show_titles_captions_and_topics_as_text(self, client: Client, corpus: Corpus) -> None:
        urls = [reverse("clip", args=[clip.pk]) for clip in corpus.showcase_clips]
        assert_inert_and_all_shown([render(client, url, language) for url in urls for language in ("en", "ko")])

    def test_the_browsable_api_shows_stored_text_as_text(self, client: Client, corpus: Corpus) -> None:
        showcase = corpus.showcase_places[0]
        urls = [
            *(
                f"/api/v1/places/?page_size={MAX_PAGE_SIZE}&page={n}"
                for n in range(1, math.ceil(len(PAYLOADS) / MAX_PAGE_SIZE) + 1)
            ),
            f"/api/v1/places/{showcase.pk}/",
            f"/api/v1/places/{showcase.pk}/reviews/",
            "/api/v1/feed/places/",
        ]
        pages = [render(client, url, accept="text/html") for url in urls]
        # The API shows JSON: a payload with a quote or a backslash is shown JSON-escaped.
        assert_inert_and_all_shown(pages, [p for p in PAYLOADS if json.dumps(p, ensure_ascii=False) == f'"{p}"'])

    @pytest.mark.parametrize(
        "model, per_page",
        [("places/place", 50), ("clips/clip", 50), ("recommender/keyword", 100), ("recommender/searchquery", 100),
         ("recommender/curatorrule", 100)],
    )  # fmt: skip
    def test_curator_lists_show_every_stored_text_as_text(
        self, client: Client, corpus: Corpus, model: str, per_page: int
    ) -> None:
        signed_in(client, corpus.curator)
        pages_needed = math.ceil(len(PAYLOADS) / per_page)
        pages = [render(client, f"/admin/{model}/?p={n}") for n in range(1, pages_needed + 1)]
        assert_inert_and_all_shown(pages)

    def test_curator_lists_of_reviews_and_rule_changes_show_stored_text_as_text(
        self, client: Client, corpus: Corpus
    ) -> None:
        signed_in(client, corpus.curator)
        reviews = [render(client, f"/admin/places/review/?p={n}") for n in (1, 2, 3)]
        changes = [render(client, f"/admin/recommender/curatorrulechange/?p={n}") for n in (1, 2)]
        # The review list cuts texts at 80 characters; the audit trail shows each note inside JSON.
        assert_inert_and_all_shown(reviews, [p for p in PAYLOADS if len(p) <= 80])
        assert_inert_and_all_shown(changes, [p for p in PAYLOADS if json.dumps(p, ensure_ascii=False) == f'"{p}"'])

    def test_the_curator_index_activity_and_pipeline_health_render_as_text(
        self, client: Client, corpus: Corpus
    ) -> None:
        signed_in(client, corpus.curator)
        record_pipeline_status(pending_work())
        activity = render(client, "/admin/recommender/interaction/")
        others = [render(client, url) for url in ("/admin/", "/admin/recommender/pipelinestatus/")]
        assert_inert([activity, *others])
        assert len(shown([activity], PAYLOADS)) >= CHUNK  # the liked places and clips, by name

    def test_curator_change_forms_keep_stored_text_inside_inputs_and_textareas(
        self, client: Client, corpus: Corpus
    ) -> None:
        signed_in(client, corpus.curator)
        first_of_each_chunk = range(0, len(PAYLOADS), CHUNK)
        urls = [
            *(f"/admin/places/place/{place.pk}/change/" for place in corpus.showcase_places),
            *(f"/admin/clips/clip/{clip.pk}/change/" for clip in corpus.showcase_clips),
            *(f"/admin/places/review/{corpus.reviews[i].pk}/change/" for i in first_of_each_chunk),
            *(f"/admin/recommender/keyword/{corpus.keywords[i].pk}/change/" for i in first_of_each_chunk),
            *(f"/admin/recommender/curatorrule/{corpus.rules[i].pk}/change/" for i in first_of_each_chunk),
        ]
        assert_inert_and_all_shown([render(client, url) for url in urls])

    def test_a_merge_message_naming_a_stored_keyword_shows_it_as_text(self, client: Client, corpus: Corpus) -> None:
        signed_in(client, corpus.curator)
        targets = [
            next(i for i, p in enumerate(PAYLOADS) if marker in p) for marker in ("<script>", '" autofocus', "{{")
        ]
        pages = []
        for i in targets:  # the first keyword selected (by id) absorbs the next one and is named
            selected = [corpus.keywords[i].pk, corpus.keywords[i + 1].pk]
            form = {"action": "merge_into_first", "_selected_action": selected, "index": "0"}
            response = client.post("/admin/recommender/keyword/", form)
            assert response.status_code == 302
            pages.append(render(client, "/admin/"))
        assert_inert_and_all_shown(pages, [PAYLOADS[i] for i in targets])  # named in "Merged 1 keywords into …"

    def test_a_rejected_review_form_echoes_the_bad_value_as_text(self, client: Client, corpus: Corpus) -> None:
        signed_in(client, corpus.readers[0])
        url = reverse("review-save", args=[corpus.showcase_places[0].pk])
        pages = [
            checked(client.post(url, {"rating": chunk, "text": "좋아요"}), url, status=400)
            for chunk in packed(PAYLOADS, 500)
        ]
        assert_inert_and_all_shown(pages)

    def test_curator_feed_preview_shows_items_reasons_and_evidence_as_text(
        self, client: Client, corpus: Corpus
    ) -> None:
        signed_in(client, corpus.curator)
        preview = reverse("admin:recommender_preview_feed")
        people = [render(client, f"{preview}?user={reader.username}") for reader in corpus.readers]
        people += [render(client, f"{preview}?user={reader.username}&kind=clip") for reader in corpus.readers[:2]]
        known = ",".join(p for p in corpus.payloads[:CHUNK] if "," not in p)
        visitor = render(client, f"{preview}?" + urlencode({"keywords": known}))
        assert_inert([*people, visitor])
        assert len(shown(people, PAYLOADS)) >= HOME_FEED_SIZE
        assert "search “" in "".join(page.text for page in people)  # evidence quotes searches
        assert "Not known keywords" not in visitor.text

    def test_curator_feed_preview_echoes_a_typed_username_and_keywords_as_text(
        self, client: Client, corpus: Corpus
    ) -> None:
        signed_in(client, corpus.curator)
        preview = reverse("admin:recommender_preview_feed")
        unknown_people = [
            render(client, f"{preview}?" + urlencode({"user": " ".join(chunk)})) for chunk in corpus.chunks
        ]
        without_commas = [p for p in PAYLOADS if "," not in p]  # the field is comma-separated
        unknown_keywords = [
            render(client, f"{preview}?" + urlencode({"keywords": ",".join(f"unknown {p}" for p in chunk)}))
            for chunk in (without_commas[start : start + CHUNK] for start in range(0, len(without_commas), CHUNK))
        ]
        assert_inert_and_all_shown(unknown_people)  # "No person with username …"
        assert_inert_and_all_shown(unknown_keywords, without_commas)  # "Not known keywords (ignored): …"


def test_error_pages_and_forms_also_carry_the_policy(client: Client) -> None:
    render(client, "/places/999999/", status=404)
    render(client, "/accounts/login/")
    render(client, "/admin/login/")
    failed_login = client.post("/accounts/login/", {"username": PAYLOADS[0], "password": "x"})
    assert_inert([checked(failed_login, "login form with errors")])


def test_the_admin_refuses_a_clip_url_that_is_not_http(client: Client) -> None:
    _curator(client)
    form = {"title": "Night walk", "source": "manual", "is_active": "on", "keyword_summary": ""}
    for url in ("javascript:__xss(0)", "data:text/html,<script>__xss(0)</script>", "vbscript:__xss(0)"):
        response = client.post("/admin/clips/clip/add/", {**form, "media_url": url, "thumbnail_url": url})
        page = checked(response, "/admin/clips/clip/add/")
        assert_inert([page])
        assert "Enter a valid URL." in page.text
    assert not Clip.objects.exists()


# --- the real LLM path: what a model answers passes the client's checks before it is stored -------


@pytest.fixture
def llm_settings(settings: Settings, llm_standin: LLMStandIn) -> LLMStandIn:
    settings.LLM_BASE_URL = llm_standin.base_url
    settings.LLM_MODEL = "stand-in"
    settings.LLM_MAX_RETRIES = 0  # one scripted reply per extraction
    return llm_standin


def _reviews_on_showcase_places(payloads: list[str]) -> list[Review]:
    critic = User.objects.create_user("critic")
    places = [Place.objects.create(name=f"Showcase {n}") for n in range(math.ceil(len(payloads) / CHUNK))]
    return [
        place_services.create_review(user=critic, place=places[i // CHUNK], rating=4, text=f"좋아요 {p}")
        for i, p in enumerate(payloads)
    ]


def _curator(client: Client) -> Client:
    curator = User.objects.create_user("cora", is_staff=True)
    curator.groups.add(ensure_curator_group())
    return signed_in(client, curator)


def test_llm_keywords_carrying_markup_are_refused_and_whatever_gets_through_renders_as_text(
    client: Client, llm_settings: LLMStandIn
) -> None:
    reviews = _reviews_on_showcase_places(PAYLOADS)
    outcomes = {}
    for payload, review in zip(PAYLOADS, reviews, strict=True):
        keyword = {"text": payload, "tag_en": "probe", "polarity": "positive", "weight": 0.9}
        llm_settings.script(Reply.keywords({"keywords": [keyword], "intent": "interest"}))
        outcomes[payload] = extract_review_keywords(review.pk)
    assert set(outcomes.values()) <= {"stored", "failed"}
    stored = [p for p, outcome in outcomes.items() if outcome == "stored"]
    markup = [p for p in PAYLOADS if "<" in p or ">" in p or "{{" in p]
    assert not set(stored) & set(markup)  # markup never reaches the database
    assert not Keyword.objects.filter(text__in=markup).exists()
    assert Review.objects.filter(pk=reviews[0].pk).exclude(extraction_error="").exists()
    place_ids = sorted({review.place_id for review in reviews})
    # In Korean a keyword shows its original text (in English, its tag "probe").
    pages = [render(client, reverse("place", args=[pk]), "ko") for pk in place_ids]
    pages += [render(_curator(client), "/admin/recommender/keyword/")]
    assert_inert_and_all_shown(pages, stored)


def test_an_llm_error_body_stored_as_the_extraction_error_renders_as_text_on_curator_pages(
    client: Client, llm_settings: LLMStandIn
) -> None:
    reviews = _reviews_on_showcase_places(PAYLOADS)
    for payload, review in zip(PAYLOADS, reviews, strict=True):
        llm_settings.script(Reply.status(400, body=payload))
        assert extract_review_keywords(review.pk) == "failed"
    assert Review.objects.get(pk=reviews[0].pk).extraction_error.endswith(PAYLOADS[0])
    record_pipeline_status(pending_work())
    assert PipelineStatus.objects.get(kind="reviews").last_error.endswith(PAYLOADS[-1])
    _curator(client)
    failed = [render(client, f"/admin/places/review/?extraction=failed&p={n}") for n in (1, 2, 3)]
    health = render(client, "/admin/recommender/pipelinestatus/")
    change = render(client, f"/admin/places/review/{reviews[-1].pk}/change/")
    assert_inert_and_all_shown(failed)
    assert_inert_and_all_shown([health, change], PAYLOADS[-1:])
