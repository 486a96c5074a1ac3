"""Logging in to the API as one of the test operators."""

from __future__ import annotations

from fastapi.testclient import TestClient

from support.city import PASSWORD


def bearer(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    """The Authorization header of a new API token for ``username`` (the login must succeed)."""
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
