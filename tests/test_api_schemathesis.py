"""Property-based check of the whole API against its own OpenAPI schema (schemathesis).

Every operation gets generated valid and invalid requests, anonymous and signed in; the API
must never answer 5xx, and its answers must match the schema it publishes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from pytest_django.fixtures import Settings
from rest_framework_simplejwt.tokens import RefreshToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.factories import ClipFactory, PlaceFactory, ReviewFactory, SearchQueryFactory
from tests.test_api_support import make_user

pytestmark = pytest.mark.django_db

# Shared fixtures (pytest finds fixtures by name in the module).

EXAMPLES = 12  # per operation and identity: ~40 operations × 2 identities ≈ 60 s on 2 cores


# Loaded at collection: the schema view needs neither the database nor a user. (The lazy
# ``schemathesis.pytest.from_fixture`` loader breaks on pytest 9: it reads ``node._nodeid``.)
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@pytest.fixture(autouse=True)
def wsgi_in_the_test_transaction(settings: Settings) -> Iterator[None]:
    """Real WSGI requests inside the test's transaction, with generous throttle limits."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {scope: "100000/min" for scope in ("anon", "user", "auth", "events")},
    }
    # A real WSGI request closes the connection at its start and end, which would end the
    # test's transaction; Django's own test client unhooks the same signals for that reason.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def catalogue(db: None) -> Any:
    """A small catalogue so that ids 1..N sometimes exist."""
    place = PlaceFactory(opening_hours={"mon": [["09:00", "18:00"]]})
    ClipFactory(place=place)
    return place


@pytest.fixture
def signed_in(catalogue: Any) -> dict[str, str]:
    user: User = make_user("schemathesis")
    ReviewFactory(user=user, place=catalogue)
    SearchQueryFactory(user=user)
    return {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}


SETTINGS = hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same requests on every run: a failure here is reproducible
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


@schema.parametrize()
@SETTINGS
def test_anonymous_requests_never_fail_with_a_server_error_and_match_the_schema(case: Any, catalogue: Any) -> None:
    case.validate_response(case.call(), checks=CHECKS)


@schema.parametrize()
@SETTINGS
def test_signed_in_requests_never_fail_with_a_server_error_and_match_the_schema(
    case: Any, signed_in: dict[str, str]
) -> None:
    case.validate_response(case.call(headers=signed_in), checks=CHECKS)
