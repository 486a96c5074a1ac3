"""An in-process HTTP client on the app (httpx ASGI transport via TestClient) and logged-in headers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from sscard.api.app import create_app
from support.api import bearer
from support.city import City


@pytest.fixture
def client(city: City) -> TestClient:
    return TestClient(create_app(city.db), raise_server_exceptions=False)


@pytest.fixture
def login(client: TestClient) -> Callable[[str], dict[str, str]]:
    def _login(username: str) -> dict[str, str]:
        return bearer(client, username)

    return _login
