"""Locust users for the load test (bench/load.py): people using the mobile API and the web feed.

Each simulated person signs up, then in a closed loop reads their feed, opens places, posts
reviews, searches and reports interactions. Every write the server acknowledged (201) is appended
to LOAD_ACK_FILE so the driver can check afterwards that all of them are in the database.
"""

from __future__ import annotations

import json
import os
import random
import threading
import uuid
from typing import Any

from locust import HttpUser, between, task

ACK_FILE = os.environ.get("LOAD_ACK_FILE", "load-acks.jsonl")
PASSWORD = "load test password 7"
_lock = threading.Lock()


def acknowledge(kind: str, value: Any) -> None:
    with _lock, open(ACK_FILE, "a", encoding="utf-8") as f:
        f.write(json.dumps({"kind": kind, "value": value}) + "\n")


class Person(HttpUser):
    wait_time = between(0.05, 0.25)

    def on_start(self) -> None:
        username = f"load-{uuid.uuid4().hex[:12]}"
        response = self.client.post("/api/v1/auth/signup/", json={"username": username, "password": PASSWORD})
        response.raise_for_status()
        self.client.headers["Authorization"] = f"Bearer {response.json()['access']}"
        places = self.client.get("/api/v1/places/?page_size=50", name="/api/v1/places/").json()["results"]
        self.place_ids = [p["id"] for p in places] or [1]
        # One review per person and place (a second is a 400): review each place once, then edit.
        self.unreviewed = random.sample(self.place_ids, len(self.place_ids))
        self.reviews: list[int] = []

    @task(4)
    def feed(self) -> None:
        self.client.get("/api/v1/feed/places/?limit=10", name="/api/v1/feed/places/")

    @task(1)
    def home_page(self) -> None:
        self.client.get("/", name="/ (web feed, anonymous)", headers={"Authorization": ""})

    @task(3)
    def place(self) -> None:
        self.client.get(f"/api/v1/places/{random.choice(self.place_ids)}/", name="/api/v1/places/{id}/")

    @task(1)
    def review(self) -> None:
        text = f"조용하고 강이 보이는 카페. Quiet, river view. {uuid.uuid4().hex[:8]}"
        if not self.unreviewed:
            if not self.reviews:
                return
            self.client.patch(
                f"/api/v1/reviews/{random.choice(self.reviews)}/", json={"rating": 4, "text": text},
                name="/api/v1/reviews/{id}/",
            )  # fmt: skip
            return
        place_id = self.unreviewed.pop()
        with self.client.post(
            f"/api/v1/places/{place_id}/reviews/", json={"rating": 5, "text": text},
            name="/api/v1/places/{id}/reviews/", catch_response=True,
        ) as response:  # fmt: skip
            if response.status_code == 201:
                acknowledge("review", response.json()["id"])
                self.reviews.append(response.json()["id"])
                response.success()

    @task(1)
    def search(self) -> None:
        with self.client.post(
            "/api/v1/searches/", json={"text": random.choice(["조용한 카페", "river view", "공부하기 좋은"])},
            catch_response=True,
        ) as response:  # fmt: skip
            if response.status_code == 201:
                acknowledge("search", response.json()["search"]["id"])
                response.success()

    @task(1)
    def interactions(self) -> None:
        event_id = uuid.uuid4().hex
        event = {"item_type": "place", "item_id": random.choice(self.place_ids), "kind": "view", "event_id": event_id}
        with self.client.post("/api/v1/interactions/", json={"events": [event]}, catch_response=True) as response:
            if response.status_code in (200, 201) and response.json()["created"] == 1:
                acknowledge("interaction", event_id)
                response.success()
