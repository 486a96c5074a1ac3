"""Helpers of the auth tests: client addresses no other test uses, bearer tokens."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient

from support.city import PASSWORD

_ADDRESSES = itertools.count(1)
Client = Callable[..., TestClient]


def new_address() -> str:
    """A private client address no other test uses (the login throttle counts failures per address)."""
    n = next(_ADDRESSES) + uuid.uuid4().int % 50_000 * 100
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def token_of(client: TestClient, username: str, password: str = PASSWORD, **extra: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password, **extra})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
