"""Stored XSS in a real browser: with the whole corpus stored, no payload runs on the web pages, the
profile or the curator pages, neither as served nor with the Content-Security-Policy switched off.

Payload N calls ``window.__xss(N)`` (defined here before any page script) or opens a dialog. Each
page is loaded, hovered and tabbed through; then the DOM Chromium actually built is searched for
anything a payload needs to run (the same rules as tests/xss_corpus.py, after the browser's parser).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.xss_corpus import CHUNK, Corpus, load_payloads, store_corpus

pytestmark = pytest.mark.django_db(transaction=True)

PAYLOADS = load_payloads()

# Runs in every frame before the page's own scripts (init scripts are exempt from the policy).
WATCH = """
window.__xssFired = [];
window.__xss = (n) => { (window.top || window).__xssFired.push(String(n)); };
window.__policyViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__policyViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} ${e.sample || ''}`);
});
"""

# What a payload needs to run, searched in the live DOM (mirrors tests/xss_corpus.PageScan); with
# what ran, what the policy blocked and the page's text, in one round trip.
LIVE_MARKUP = """() => {
  const forbidden = new Set(['applet', 'base', 'embed', 'foreignobject', 'frame', 'frameset', 'iframe', 'isindex',
    'keygen', 'marquee', 'math', 'noscript', 'object', 'xmp']);
  const urlAttributes = new Set(['action', 'background', 'cite', 'codebase', 'data', 'dynsrc', 'formaction', 'href',
    'lowsrc', 'poster', 'src']);
  const scriptUrl = (raw) => {
    const value = raw.replace(/[\\u0000-\\u0020\\u007f-\\u009f\\u00a0\\u200b]/g, '').toLowerCase();
    let scheme = '';
    try { scheme = new URL(raw, document.baseURI).protocol; } catch (e) { /* not a URL */ }
    return ['javascript:', 'vbscript:'].includes(scheme) || /^(javascript|vbscript|livescript):/.test(value)
      || (value.startsWith('data:') && !/^data:(,|image\\/(png|gif|jpeg|webp)[;,])/.test(value));
  };
  const problems = [];
  for (const el of document.querySelectorAll('*')) {
    const tag = el.localName.toLowerCase();
    if (forbidden.has(tag)) problems.push(`<${tag}> element`);
    const httpEquiv = (el.getAttribute('http-equiv') || '').toLowerCase();
    if (tag === 'meta' && httpEquiv === 'refresh') problems.push('<meta http-equiv=refresh>');
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith('on')) problems.push(`<${tag} ${name}="${attr.value}">`);
      else if (name === 'srcdoc') problems.push(`<${tag} srcdoc>`);
      else if ((urlAttributes.has(name) || name.endsWith(':href')) && scriptUrl(attr.value)) {
        problems.push(`<${tag} ${name}="${attr.value}">`);
      } else if (name === 'style' && /expression|javascript:|\\\\|@import/i.test(attr.value)) {
        problems.push(`<${tag} style="${attr.value}">`);
      }
    }
    if (tag === 'script' && !['application/json', 'application/ld+json'].includes((el.type || '').toLowerCase())) {
      const sameOrigin = el.src && new URL(el.src).origin === location.origin;
      if (!sameOrigin || el.textContent.trim()) problems.push(`<script> ${el.src || el.textContent.slice(0, 80)}`);
    }
  }
  return {problems, fired: window.__xssFired, violations: window.__policyViolations, text: document.body.innerText};
}"""


def sign_in(context: Any, user: User, base_url: str) -> None:
    """Give a browser context ``user``'s session cookie (the login form is tested elsewhere)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base_url}])


def pages_to_visit(corpus: Corpus) -> dict[str, tuple[User | None, list[str]]]:
    """Who visits which pages; together the pages show every payload wherever it is stored.

    The first ``AS_SERVED`` pages of each visitor are also visited with the policy on.
    """
    textarea_breaker = next(r for r in corpus.reviews if "</textarea>" in r.text)
    reader = User.objects.get(pk=textarea_breaker.user_id)  # sees it in their edit form and their profile
    preview = reverse("admin:recommender_preview_feed")
    return {
        "anonymous": (None, [
            "/",
            reverse("place", args=[corpus.showcase_places[0].pk]),
            "/search/?kind=place",
            "/search/?kind=clip",
            "/search/?" + urlencode({"q": " ".join(corpus.chunks[0])[:200]}),
            *(reverse("place", args=[place.pk]) for place in corpus.showcase_places[1:]),
            *(reverse("clip", args=[clip.pk]) for clip in corpus.showcase_clips[:2]),
        ]),
        "reader": (reader, [
            reverse("review-edit", args=[textarea_breaker.pk]),
            "/me/",
            "/",
            reverse("place", args=[textarea_breaker.place_id]),
        ]),
        "curator": (corpus.curator, [
            "/admin/places/review/",
            f"{preview}?user={corpus.readers[0].username}",
            f"/admin/places/place/{corpus.showcase_places[0].pk}/change/",
            *(f"/admin/{model}/" for model in (
                "places/place", "clips/clip", "recommender/keyword", "recommender/searchquery",
                "recommender/curatorrule", "recommender/curatorrulechange", "recommender/interaction",
                "recommender/pipelinestatus",
            )),
            f"/admin/recommender/keyword/{corpus.keywords[CHUNK].pk}/change/",
            f"{preview}?user={corpus.readers[1].username}",
            f"{preview}?" + urlencode({"user": " ".join(corpus.chunks[1])}),
        ]),
    }  # fmt: skip


# Escaping is the defence under test, so every page is visited with the policy bypassed; with it on,
# a few pages of each visitor show that it is sent, enforced and never violated (a violation means
# something tried to run inline, which a page of ours never does).
AS_SERVED = 3


class Visitor:
    """One browser tab that records dialogs, page errors and policy reports while it visits pages."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.console: list[str] = []
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.console.append(message.text)

    def visit(self, url: str) -> dict[str, list[str]]:
        """Load ``url``, hover and tab through it; report what ran and what the DOM holds."""
        self.dialogs, self.errors, self.console = [], [], []
        page = self.page
        response = page.goto(url)
        assert response is not None and response.status == 200, f"{url}: HTTP {response and response.status}"
        page.mouse.move(5, 5)
        page.mouse.move(640, 450, steps=4)  # pointer and mouse handlers
        for _ in range(3):
            page.keyboard.press("Tab")  # focus and blur handlers
        page.wait_for_timeout(50)  # setTimeout(…, 0) payloads and queued events
        found = page.evaluate(LIVE_MARKUP)
        return {
            "fired": found["fired"],
            "dialogs": self.dialogs,
            "policy violations": found["violations"] + self.console,
            "page errors": self.errors,
            "live markup": found["problems"],
            "shown": [p for p in PAYLOADS if p in found["text"]],
        }


def test_no_stored_payload_runs_in_chromium_without_or_with_the_content_security_policy(
    browser: Any, live_server: Any
) -> None:
    corpus = store_corpus(PAYLOADS)
    failures: list[str] = []
    shown: set[str] = set()
    for bypass_csp in (True, False):
        mode = "without the policy" if bypass_csp else "as served"
        for who, (user, urls) in pages_to_visit(corpus).items():
            context = browser.new_context(
                bypass_csp=bypass_csp, locale="en-US", viewport={"width": 1280, "height": 900}
            )
            context.add_init_script(WATCH)
            if user is not None:
                sign_in(context, user, live_server.url)
            page = context.new_page()
            page.set_default_timeout(10_000)
            visitor = Visitor(page)
            for url in urls if bypass_csp else urls[:AS_SERVED]:
                report = visitor.visit(live_server.url + url)
                shown.update(report.pop("shown"))
                failures += [
                    f"{mode}, {who}, {url}: {kind}: {item}" for kind, items in report.items() for item in items
                ]
            context.close()
    assert not failures, "\n".join(failures[:40])
    # The pages did show every payload, as text: nothing passed by being left out.
    assert not set(PAYLOADS) - shown, sorted(set(PAYLOADS) - shown)[:10]
