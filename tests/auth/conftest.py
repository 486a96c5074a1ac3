"""Clients from chosen client addresses (the login throttle counts per address) and throwaway operators, so
that the lockouts these tests provoke never touch the shared operators other tests log in as."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from auth.auth_helpers import Client, new_address
from sscard.access import SYSTEM_ACTOR, Role
from sscard.api.app import create_app
from sscard.auth import service as auth
from support.city import PASSWORD, City


@pytest.fixture
def client_from(city: City) -> Client:
    app = create_app(city.db)

    def _client(address: str | None = None) -> TestClient:
        return TestClient(app, raise_server_exceptions=False, client=(address or new_address(), 50000))

    return _client


@pytest.fixture
def new_operator(city: City) -> Callable[..., str]:
    def _make(role: Role = Role.COUNTER, outlet: str | None = "T01") -> str:
        username = f"lk-{uuid.uuid4().hex[:10]}"
        auth.create_operator(city.db, SYSTEM_ACTOR, username, "锁定测试", role, PASSWORD,
                             None if role is Role.ADMIN else outlet)
        return username

    return _make
