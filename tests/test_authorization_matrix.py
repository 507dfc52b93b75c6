"""Who may do what, on every route: one table, checked request by request.

The table below has an entry for every URL the resolver knows and every method it answers, for five
people: anonymous, Alice (who owns the objects in the URLs), Bob (another ordinary person), a
curator (staff in the Curators group) and an administrator. A route added without an entry fails
``test_every_route_has_an_entry``; an API operation missing from the table fails the schema check.

An entry's access level says what each person gets:

- ``PUBLIC``: everyone is served (2xx or a redirect that is not to a log-in page).
- ``SIGNED_IN``: anonymous people are sent to log in (web) or get 401 (API); everyone else is served.
- ``OWNER``: only Alice is served; everyone else, staff included, gets 404 and nothing changes.

Methods not in an entry are refused (401/403/404/405) for everyone. Every refused request leaves
the database exactly as it was, and no response to anyone but Alice shows Alice's private rows.
Admin pages are checked from the admin's registry: staff only, curators limited to the catalogue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, cast

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from clips.models import Clip
from places.models import Place, Review
from recommender.curation import save_rule
from recommender.models import (
    BlendTuning,
    CuratorRule,
    Keyword,
    ModelVersion,
    MutedKeyword,
    PipelineStatus,
    QueryIntent,
    RuleAction,
    SearchQuery,
    TuningStatus,
)
from recommender.roles import CURATOR_APPS, CURATORS
from tests.factories import (
    ClipFactory,
    InteractionFactory,
    KeywordFactory,
    PlaceFactory,
    ReviewFactory,
    SearchQueryFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
ROLES = ("anonymous", "alice", "bob", "curator", "admin")
METHODS = ("get", "post", "put", "patch", "delete")
SECRET = "alice-private-search-7f3a"  # Alice's search text: nobody else may ever see it


class Access(Enum):
    PUBLIC = "public"
    SIGNED_IN = "signed in"
    OWNER = "owner"


@dataclass
class World:
    """The objects the URLs point at. Alice owns the review and the search."""

    users: dict[str, User]
    place: Place
    clip: Clip
    review: Review
    keyword: Keyword
    search: SearchQuery
    refresh: dict[str, str] = field(default_factory=dict)


Payload = Callable[[World, str], dict[str, Any]]


def nothing(world: World, role: str) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Op:
    """One method of one route: who may call it, and a valid body so that "served" means served."""

    access: Access
    data: Payload = nothing


def review_body(world: World, role: str) -> dict[str, Any]:
    return {"rating": 4, "text": "조용하고 좋은 카페. Quiet and good."}


def credentials(world: World, role: str) -> dict[str, Any]:
    return {"username": "alice" if role == "anonymous" else role, "password": PASSWORD}


def new_account(world: World, role: str) -> dict[str, Any]:
    return {"username": f"new-{role}", "password": PASSWORD, "password1": PASSWORD, "password2": PASSWORD}


def own_refresh_token(world: World, role: str) -> dict[str, Any]:
    return {"refresh": world.refresh["alice" if role == "anonymous" else role]}


def own_password(world: World, role: str) -> dict[str, Any]:
    return {"password": PASSWORD}


def watch_body(world: World, role: str) -> dict[str, Any]:
    return {"fraction": 0.5, "view_id": "0" * 32}


def event_batch(world: World, role: str) -> dict[str, Any]:
    return {"events": [{"item_type": "place", "item_id": world.place.pk, "kind": "like"}]}


def search_body(world: World, role: str) -> dict[str, Any]:
    return {"text": "river view cafe"}


def search_form(world: World, role: str) -> dict[str, Any]:
    return {"q": "river view cafe"}


def onboarding_body(world: World, role: str) -> dict[str, Any]:
    return {"keywords": [world.keyword.pk], "text": "quiet cafe"}


def language_body(world: World, role: str) -> dict[str, Any]:
    return {"language": "ko", "next": "/"}


# Route (as the resolver spells it) → method → who may call it.
MATRIX: dict[str, dict[str, Op]] = {
    "": {"get": Op(Access.PUBLIC)},
    "healthz": {"get": Op(Access.PUBLIC)},
    "welcome/": {"post": Op(Access.SIGNED_IN, onboarding_body)},
    # POST records a signed-in person's search; anonymous people are just shown the results.
    "search/": {"get": Op(Access.PUBLIC), "post": Op(Access.PUBLIC, search_form)},
    "places/<int:place_id>/": {"get": Op(Access.PUBLIC)},
    "places/<int:place_id>/review/": {"post": Op(Access.SIGNED_IN, review_body)},
    "reviews/<int:review_id>/edit/": {"get": Op(Access.OWNER), "post": Op(Access.OWNER, review_body)},
    "reviews/<int:review_id>/delete/": {"post": Op(Access.OWNER)},
    "clips/<int:clip_id>/": {"get": Op(Access.PUBLIC)},
    "clips/<int:clip_id>/watch/": {"post": Op(Access.SIGNED_IN, watch_body)},
    "act/<str:item_type>/<int:item_id>/<str:action>/": {"post": Op(Access.SIGNED_IN)},
    "me/": {"get": Op(Access.SIGNED_IN)},
    "me/interests/<int:keyword_id>/remove/": {"post": Op(Access.SIGNED_IN)},
    "me/interests/<int:keyword_id>/restore/": {"post": Op(Access.SIGNED_IN)},
    "me/export/": {"get": Op(Access.SIGNED_IN)},
    "me/delete/": {"get": Op(Access.SIGNED_IN), "post": Op(Access.SIGNED_IN, own_password)},
    "accounts/signup/": {"get": Op(Access.PUBLIC), "post": Op(Access.PUBLIC, new_account)},
    "accounts/login/": {"get": Op(Access.PUBLIC), "post": Op(Access.PUBLIC, credentials)},
    "accounts/logout/": {"post": Op(Access.PUBLIC)},
    "i18n/setlang/": {"post": Op(Access.PUBLIC, language_body)},
    "api/schema/": {"get": Op(Access.PUBLIC)},
    "api/docs/": {"get": Op(Access.PUBLIC)},
    "api/v1/auth/signup/": {"post": Op(Access.PUBLIC, new_account)},
    "api/v1/auth/token/": {"post": Op(Access.PUBLIC, credentials)},
    "api/v1/auth/token/refresh/": {"post": Op(Access.PUBLIC, own_refresh_token)},
    "api/v1/auth/logout/": {"post": Op(Access.PUBLIC, own_refresh_token)},
    "api/v1/me/": {"get": Op(Access.SIGNED_IN), "delete": Op(Access.SIGNED_IN, own_password)},
    "api/v1/me/interests/": {"get": Op(Access.SIGNED_IN)},
    "api/v1/me/interests/<int:keyword_id>/": {"delete": Op(Access.SIGNED_IN), "put": Op(Access.SIGNED_IN)},
    "api/v1/me/export/": {"get": Op(Access.SIGNED_IN)},
    "api/v1/places/": {"get": Op(Access.PUBLIC)},
    "api/v1/places/<int:place_id>/": {"get": Op(Access.PUBLIC)},
    "api/v1/places/<int:place_id>/similar/": {"get": Op(Access.PUBLIC)},
    "api/v1/places/<int:place_id>/reviews/": {"get": Op(Access.PUBLIC), "post": Op(Access.SIGNED_IN, review_body)},
    "api/v1/reviews/<int:review_id>/": {"patch": Op(Access.OWNER, review_body), "delete": Op(Access.OWNER)},
    "api/v1/clips/": {"get": Op(Access.PUBLIC)},
    "api/v1/clips/<int:clip_id>/": {"get": Op(Access.PUBLIC)},
    "api/v1/clips/<int:clip_id>/similar/": {"get": Op(Access.PUBLIC)},
    "api/v1/interactions/": {"post": Op(Access.SIGNED_IN, event_batch)},
    "api/v1/searches/": {"get": Op(Access.SIGNED_IN), "post": Op(Access.SIGNED_IN, search_body)},
    "api/v1/feed/places/": {"get": Op(Access.PUBLIC)},
    "api/v1/feed/clips/": {"get": Op(Access.PUBLIC)},
    "api/v1/^.*$": {},  # the catch-all: no method is served (a JSON 404 for any other path)
}

# Admin routes that are not a ModelAdmin's standard five (those are checked from the registry).
ADMIN_EXTRA: dict[str, str] = {
    "admin/": "staff",
    "admin/login/": "public",
    "admin/logout/": "public",
    "admin/password_change/": "staff",
    "admin/password_change/done/": "staff",
    "admin/autocomplete/": "staff",  # no admin uses autocomplete fields: 403 even for staff
    "admin/jsi18n/": "staff",
    "admin/r/<path:content_type_id>/<path:object_id>/": "public",  # redirects to the object's public page
    "admin/auth/user/<id>/password/": "superuser",
    "admin/recommender/curatorrule/preview/": "staff",
    "admin/^(?P<app_label>auth|token_blacklist|axes|places|clips|recommender)/$": "staff",
    "admin/(?P<url>.*)$": "staff",  # the catch-all: log-in redirect, or 404 for staff
}
# Admin pages closed to everyone, staff included ("change" is saving the change form).
ADMIN_CLOSED: dict[str, set[str]] = {
    "recommender.curatorrulechange": {"add", "change", "delete"},  # the audit trail is append-only
    "recommender.modelversion": {"add"},  # versions come from training only
    "recommender.blendtuning": {"add"},  # tunings come from tuning only
    "recommender.pipelinestatus": {"add", "change"},  # written by the sweep
    "token_blacklist.outstandingtoken": {"add", "change", "delete"},  # simplejwt's record of issued tokens
    "axes.accessattempt": {"add"},  # django-axes records log-ins itself
    "axes.accessfailurelog": {"add"},
    "axes.accesslog": {"add"},
}
STANDARD_ADMIN_SUFFIXES = ("", "add/", "<path:object_id>/history/", "<path:object_id>/delete/",
                           "<path:object_id>/change/", "<path:object_id>/")  # fmt: skip


def all_routes() -> list[str]:
    def walk(patterns: list[Any], prefix: str) -> Iterator[str]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    return list(walk(get_resolver().url_patterns, ""))


def standard_admin_routes() -> set[str]:
    routes: set[str] = set()
    for model in admin.site._registry:
        base = f"admin/{model._meta.app_label}/{model._meta.model_name}/"
        routes.update(base + suffix for suffix in STANDARD_ADMIN_SUFFIXES)
    return routes


# --- the world and the people in it -------------------------------------------------------------


@pytest.fixture(autouse=True)
def fast_passwords(settings: Any) -> None:
    """Password hashing is not what this module tests; the slow default hasher would dominate it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db: None) -> World:
    users: dict[str, User] = {}
    for role in ROLES[1:]:
        person = cast(
            User, UserFactory(username=role, is_staff=role in ("curator", "admin"), is_superuser=role == "admin")
        )
        person.set_password(PASSWORD)
        person.save()
        users[role] = person
    users["curator"].groups.add(Group.objects.get(name=CURATORS))
    place = PlaceFactory(name="Riverside Café")
    keyword = KeywordFactory(text="조용한", tag_en="quiet")
    world = World(
        users=users,
        place=place,
        clip=ClipFactory(title="River walk", place=place),
        # of another place: one review per person and place, and the matrix has Alice review this one
        review=ReviewFactory(user=users["alice"], place=PlaceFactory(name="Hillside Café"), text="Alice's own review"),
        keyword=keyword,
        search=SearchQueryFactory(user=users["alice"], text=SECRET, intent=QueryIntent.INTEREST),
    )
    world.refresh = {role: str(RefreshToken.for_user(user)) for role, user in users.items()}
    for user in users.values():  # so that "restore an interest" has something to restore
        MutedKeyword.objects.create(user=user, keyword=keyword)
    # One row of every model the admin shows, so that its change and delete pages are checked too.
    save_rule(CuratorRule(action=RuleAction.BOOST, place=place, factor=2.0), users["curator"])
    ModelVersion.objects.create(kind="place", version="v1", artifact="place/v1")
    BlendTuning.objects.create(kind="place", status=TuningStatus.KEPT, fingerprint="events 0/0")
    PipelineStatus.objects.create(kind="reviews", pending=1)
    RefreshToken.for_user(users["bob"]).blacklist()  # an old token of Bob's, logged out
    InteractionFactory(user=users["alice"], place=place)
    attempt = {"user_agent": "test", "ip_address": "10.0.0.9", "username": "bob", "path_info": "/accounts/login/"}
    AccessAttempt.objects.create(**attempt, get_data="", post_data="", failures_since_start=1)
    AccessFailureLog.objects.create(**attempt)
    AccessLog.objects.create(**attempt)
    return world


def url_for(route: str, world: World) -> str:
    if route == "api/v1/^.*$":
        return "/api/v1/no-such-thing/"
    url = "/" + route
    for token, value in {
        "<int:place_id>": world.place.pk,
        "<int:review_id>": world.review.pk,
        "<int:clip_id>": world.clip.pk,
        "<int:keyword_id>": world.keyword.pk,
        "<str:item_type>": "place",
        "<int:item_id>": world.place.pk,
        "<str:action>": "like",
    }.items():
        url = url.replace(token, str(value))
    assert "<" not in url, f"no value for a parameter of {route}"
    return url


def client_for(role: str, world: World, route: str) -> Client:
    """API routes get a bearer token (the mobile app); pages get a session (the browser)."""
    if route.startswith("api/v1/"):
        api = APIClient()
        if role != "anonymous":
            api.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(world.users[role])}")
        return api
    client = Client()
    if role != "anonymous":
        client.force_login(world.users[role])
    return client


def database_fingerprint() -> dict[str, str]:
    """A hash of every row of every table but sessions (logging in writes one; that is no change)."""
    tables = [t for t in connection.introspection.table_names() if t != "django_session"]
    sql = " UNION ALL ".join(
        f"SELECT '{table}', md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{table}\" t"
        for table in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(cursor.fetchall())


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(table for table in before if before[table] != after.get(table))


def request(client: Client, method: str, url: str, data: dict[str, Any], api: bool) -> Any:
    cache.clear()  # throttle counters: every request starts fresh
    if api:
        return getattr(client, method)(url, data, format="json")
    if method in ("get", "delete"):
        return getattr(client, method)(url)
    return getattr(client, method)(url, data)


def is_login_redirect(response: Any) -> bool:
    return response.status_code == 302 and "login" in response["Location"]


def served(response: Any) -> bool:
    return response.status_code < 400 and not is_login_redirect(response)


def expected(access: Access, role: str) -> str:
    if access is Access.PUBLIC:
        return "served"
    if role == "anonymous":
        return "log in"
    if access is Access.SIGNED_IN or role == "alice":
        return "served"
    return "not found"


def outcome(response: Any, api: bool) -> str:
    if served(response):
        return "served"
    if response.status_code == 401 or (not api and is_login_redirect(response)):  # 401: the page's own JSON
        return "log in"
    if response.status_code == 404:
        return "not found"
    return f"refused ({response.status_code})"


# --- the checks ----------------------------------------------------------------------------------


def test_every_route_has_an_entry() -> None:
    routes = set(all_routes())
    admin_routes = {route for route in routes if route.startswith("admin/")}
    missing = sorted(
        (routes - admin_routes - set(MATRIX)) | (admin_routes - standard_admin_routes() - set(ADMIN_EXTRA))
    )
    assert not missing, f"routes with no entry in the authorization matrix: {missing}"
    stale = sorted(set(MATRIX) - routes) + sorted(set(ADMIN_EXTRA) - routes)
    assert not stale, f"entries for routes that no longer exist: {stale}"


def test_every_api_operation_in_the_schema_has_an_entry() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = {
        (path.lstrip("/"), method) for path, item in schema["paths"].items() for method in item if method in METHODS
    }
    in_matrix: set[tuple[str, str]] = set()
    for route, ops in MATRIX.items():
        if route.startswith("api/v1/") and "^" not in route:
            path = route.replace("<int:", "{").replace(">", "}")
            in_matrix.update((path, method) for method in ops)
    assert operations == in_matrix


def run_cell(world: World, route: str, method: str, role: str) -> tuple[str, list[str], Any]:
    """Make one request inside a transaction that is rolled back; what happened, and what changed."""
    api = route.startswith("api/v1/")
    op = MATRIX[route].get(method)
    data = op.data(world, role) if op else {}
    with transaction.atomic():
        client = client_for(role, world, route)  # logging in is not part of the request
        before = database_fingerprint()
        response = request(client, method, url_for(route, world), data, api)
        after = database_fingerprint()
        transaction.set_rollback(True)
    return outcome(response, api), changed_tables(before, after), response


@pytest.mark.parametrize("route", sorted(MATRIX))
def test_each_person_gets_what_the_matrix_says_and_refusals_change_nothing(world: World, route: str) -> None:
    failures = []
    for method in METHODS:
        op = MATRIX[route].get(method)
        for role in ROLES:
            got, changed, response = run_cell(world, route, method, role)
            if op is None:
                if got == "served":
                    failures.append(f"{method.upper()} {route} as {role}: served, but the method is not allowed")
            else:
                want = expected(op.access, role)
                if got != want:
                    failures.append(f"{method.upper()} {route} as {role}: {got}, expected {want}")
            if got != "served" and changed:
                failures.append(f"{method.upper()} {route} as {role}: refused but changed {changed}")
            if method == "get" and changed:
                failures.append(f"GET {route} as {role}: a GET changed {changed}")
            if role != "alice" and SECRET.encode() in response.content:
                failures.append(f"{method.upper()} {route} as {role}: shows Alice's private search")
    assert not failures, "\n".join(failures)


UNSAFE = [
    (route, method)
    for route, ops in sorted(MATRIX.items())
    for method in ops
    if method != "get" and not route.startswith("api/v1/auth/")  # token endpoints take no session
]


@pytest.mark.parametrize(("route", "method"), UNSAFE)
def test_every_unsafe_request_from_a_browser_session_needs_the_csrf_token(
    world: World, route: str, method: str
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["alice"])
    data = MATRIX[route][method].data(world, "alice")
    api = route.startswith("api/v1/")
    with transaction.atomic():
        before = database_fingerprint()
        cache.clear()
        if api:
            response = getattr(client, method)(url_for(route, world), data, content_type="application/json")
        else:
            response = getattr(client, method)(url_for(route, world), data)
        changed = changed_tables(before, database_fingerprint())
        transaction.set_rollback(True)
    assert (response.status_code, changed) == (403, [])


def test_the_owner_cell_is_not_vacuous(world: World) -> None:
    """Alice really can edit and delete her review, so the 404s above are about ownership."""
    got, changed, _ = run_cell(world, "api/v1/reviews/<int:review_id>/", "delete", "alice")
    assert (got, changed) == ("served", ["places_review"])
    got, changed, _ = run_cell(world, "api/v1/reviews/<int:review_id>/", "delete", "bob")
    assert (got, changed) == ("not found", [])


# --- admin: staff only, curators the catalogue only -----------------------------------------------


def admin_expectation(role: str, model: Any, page: str) -> str:
    if role in ("anonymous", "alice", "bob"):
        return "log in"
    if role == "curator" and model._meta.app_label not in CURATOR_APPS:
        return "refused (403)"
    if page in ADMIN_CLOSED.get(model._meta.label_lower, set()):
        return "refused (403)"
    return "served"


@pytest.mark.parametrize(
    "model", sorted(admin.site._registry, key=lambda m: m._meta.label), ids=lambda m: m._meta.label_lower
)
def test_admin_pages_are_for_staff_and_curators_only_reach_the_catalogue(world: World, model: Any) -> None:
    instance = model.objects.order_by("pk").first()
    base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    assert instance is not None, f"the world needs a {model._meta.label} so its pages are checked"
    pages = [
        ("get", base, "list"),
        ("get", base + "add/", "add"),
        ("post", base + "add/", "add"),
        ("get", f"{base}{instance.pk}/change/", "view"),
        ("post", f"{base}{instance.pk}/change/", "change"),
        ("get", f"{base}{instance.pk}/delete/", "delete"),
        ("post", f"{base}{instance.pk}/delete/", "delete"),
        ("get", f"{base}{instance.pk}/history/", "history"),
    ]
    failures = []
    for method, url, page in pages:
        for role in ROLES:
            with transaction.atomic():
                client = client_for(role, world, "admin/")
                before = database_fingerprint()
                response = getattr(client, method)(url)
                changed = changed_tables(before, database_fingerprint())
                transaction.set_rollback(True)
            got, want = outcome(response, api=False), admin_expectation(role, model, page)
            if got != want:
                failures.append(f"{method.upper()} {url} as {role}: {got}, expected {want}")
            if got != "served" and changed:
                failures.append(f"{method.upper()} {url} as {role}: refused but changed {changed}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("route", sorted(r for r, level in ADMIN_EXTRA.items() if level != "public"))
def test_the_other_admin_pages_need_staff(world: World, route: str) -> None:
    url = {
        "admin/auth/user/<id>/password/": f"/admin/auth/user/{world.users['bob'].pk}/password/",
        "admin/^(?P<app_label>auth|token_blacklist|axes|places|clips|recommender)/$": "/admin/places/",
        "admin/(?P<url>.*)$": "/admin/no-such-page/",
    }.get(route, "/" + route)
    wants = {"anonymous": "log in", "alice": "log in", "bob": "log in"}
    staff = {"admin/(?P<url>.*)$": "not found", "admin/autocomplete/": "refused (403)"}.get(route, "served")
    curator = "refused (403)" if ADMIN_EXTRA[route] == "superuser" else staff
    wants.update(curator=curator, admin=staff)
    for role, want in wants.items():
        response = client_for(role, world, "admin/").get(url)
        assert outcome(response, api=False) == want, (route, role, response.status_code)


def test_the_fingerprint_sees_a_change() -> None:
    """The "changed nothing" checks above can fail: a one-field update changes the fingerprint."""
    place = PlaceFactory()
    before = database_fingerprint()
    Place.objects.filter(pk=place.pk).update(name="renamed")
    assert changed_tables(before, database_fingerprint()) == ["places_place"]
