"""Publishing models while feeds are served: no errors, one consistent version per response.

gunicorn (2 workers) serves the feed API from the test database while the test publishes 20 new
ALS versions, and tries to publish two broken ones (NaN factors; an id map that does not match
the factors). Every response must be a 200 whose ``X-Model-Version`` header and body agree and
name a published version; the broken ones are refused and never serve.
"""

from __future__ import annotations

import io
import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
from django.contrib.auth.models import User
from pytest_django.fixtures import Settings
from rest_framework_simplejwt.tokens import AccessToken

from bench.server import UNTHROTTLED, gunicorn
from recommender.models import InteractionKind, ModelVersion
from recommender.ranking.als import ModelFileError
from recommender.training import publish, train_model
from tests.conftest import database_url_for_subprocess, wait_for
from tests.factories import InteractionFactory, PlaceFactory, UserFactory

PUBLISHES = 20


def fetch(port: int, token: str | None) -> tuple[int, str | None, Any]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/feed/places/?limit=10")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.headers["X-Model-Version"], json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None, exc.read().decode(errors="replace")[:300]


@pytest.fixture
def server(transactional_db: None, settings: Settings, tmp_path: Path) -> Iterator[int]:
    settings.MODEL_ARTIFACTS_DIR = tmp_path / "models"
    env = {
        "MODEL_ARTIFACTS_DIR": str(settings.MODEL_ARTIFACTS_DIR),
        "JWT_SIGNING_KEY": str(settings.SIMPLE_JWT["SIGNING_KEY"]),
        **UNTHROTTLED,
    }
    with gunicorn(database_url_for_subprocess(), tmp_path / "gunicorn.log", env=env) as port:
        yield port


def broken_copy(good: ModelVersion, directory: Path, name: str, change: Any) -> ModelVersion:
    """A new, unpublished version whose artifact is ``good``'s with ``change`` applied to its arrays."""
    with np.load(directory / good.artifact, allow_pickle=False) as data:
        arrays = {key: data[key].copy() for key in data.files}
    header = json.loads(bytes(arrays["header"]).decode())
    header["version"] = f"{good.version}-{name}"
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    change(arrays)
    relative = Path("place") / f"{header['version']}.npz"
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    (directory / relative).write_bytes(buffer.getvalue())
    return ModelVersion.objects.create(kind="place", version=header["version"], artifact=str(relative))


def test_twenty_publishes_under_load_serve_only_whole_published_versions(server: int, settings: Settings) -> None:
    places = [PlaceFactory(name=f"place {n}") for n in range(30)]
    people = [UserFactory() for _ in range(40)]
    for n, person in enumerate(people):
        for place in places[n % 10 : n % 10 + 4]:
            InteractionFactory(user=person, place=place, kind=InteractionKind.LIKE)
    published = {train_model("place").version}
    token = str(AccessToken.for_user(cast(User, people[0])))

    results: list[tuple[int, str | None, Any]] = []
    stopping = threading.Event()

    def client(n: int) -> None:
        while not stopping.is_set():
            results.append(fetch(server, token if n % 2 else None))

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(4)]
    for thread in threads:
        thread.start()
    refused = []
    try:
        for n in range(PUBLISHES):
            published.add(train_model("place").version)
            if n == PUBLISHES // 2:
                good = ModelVersion.objects.get(is_live=True)
                directory = settings.MODEL_ARTIFACTS_DIR

                def nan(arrays: dict[str, np.ndarray]) -> None:
                    arrays["user_factors"][0, 0] = np.nan

                def short_map(arrays: dict[str, np.ndarray]) -> None:
                    arrays["item_ids"] = arrays["item_ids"][:-1]

                for name, change in (("nan", nan), ("mismatch", short_map)):
                    broken = broken_copy(good, directory, name, change)
                    with pytest.raises(ModelFileError):
                        publish(broken)
                    refused.append(broken.version)
                assert ModelVersion.objects.get(is_live=True).version == good.version
            count = len(results)
            assert wait_for(lambda count=count: len(results) >= count + 5, timeout=30)  # type: ignore[misc]
    finally:
        stopping.set()
        for thread in threads:
            thread.join(timeout=30)

    assert results
    errors = [(status, body) for status, _, body in results if status != 200]
    assert errors == []
    assert all(header == body["model_version"] for _, header, body in results), "header and body disagree"
    served = {header for _, header, _ in results}
    assert served <= published, f"served versions never published: {served - published}"
    assert not served & set(refused)
    assert len(served) > 1, "no swap was seen: the drill tested nothing"
    print(f"\n[model swaps] {len(results)} feeds during {PUBLISHES} publishes, {len(served)} versions served, 0 errors")
