"""Fixtures for the exchange tests: an in-process API client on the shared city (both databases)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from sscard.api.app import create_app
from support.city import City


@pytest.fixture
def client(city: City) -> TestClient:
    return TestClient(create_app(city.db), raise_server_exceptions=False)
