"""Locust scenario for the seed's usage: `locust -f tests/performance/locustfile.py --host=…`.

Signs in as the users `make bench` seeds (user<N>@bench.example.com; BENCH_USERS, BENCH_PASSWORD
override), then reads its own record, refreshes, and (administrators) pages through users.
Needs the `perf` extra (`pip install -r requirements-perf.txt`).
"""

from __future__ import annotations

import os
import random

from locust import HttpUser, between, task

USERS = int(os.environ.get("BENCH_USERS", "10000"))
PASSWORD = os.environ.get("BENCH_PASSWORD", "Bench-password-2026!")


class SignedInUser(HttpUser):
    """A regular user: mostly reads their own record."""

    wait_time = between(0.5, 2)
    weight = 9
    user_number = 0

    def on_start(self) -> None:
        self.user_number = self.user_number or random.randint(2, USERS)
        self.sign_in()

    def sign_in(self) -> None:
        email = f"user{self.user_number}@bench.example.com"
        response = self.client.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD}, name="login"
        )
        data = response.json()["data"]
        self.user_id = data["user"]["id"]
        self.refresh_token = data["refresh_token"]
        self.client.headers["Authorization"] = f"Bearer {data['access_token']}"

    @task(10)
    def get_self(self) -> None:
        self.client.get(f"/api/v1/users/{self.user_id}", name="/api/v1/users/{id}")

    @task(1)
    def refresh(self) -> None:
        response = self.client.post(
            "/api/v1/auth/refresh", json={"refresh_token": self.refresh_token}, name="refresh"
        )
        if response.ok:
            data = response.json()["data"]
            self.refresh_token = data["refresh_token"]
            self.client.headers["Authorization"] = f"Bearer {data['access_token']}"

    @task(1)
    def health(self) -> None:
        self.client.get("/health")


class Administrator(SignedInUser):
    """The seeded administrator (user 1): pages through the user list."""

    weight = 1
    user_number = 1

    @task(10)
    def list_users(self) -> None:
        page = random.randint(1, max(1, USERS // 20))
        self.client.get(f"/api/v1/users?page={page}", name="/api/v1/users?page=N")
