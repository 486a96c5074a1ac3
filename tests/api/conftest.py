"""An in-process HTTP client on the app (httpx ASGI transport via TestClient) and logged-in headers."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from sscard.api.app import create_app
from support.city import PASSWORD, City


@pytest.fixture
def client(city: City) -> TestClient:
    return TestClient(create_app(city.db), raise_server_exceptions=False)


@pytest.fixture
def login(client: TestClient) -> Callable[[str], dict[str, str]]:
    def _login(username: str) -> dict[str, str]:
        response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return _login
