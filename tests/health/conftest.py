"""Fixtures for the health index: an in-process client on the shared city and two hospitals, A and B."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from medical.world import Hospital, new_hospital
from sscard.api.app import create_app
from support.city import City


@pytest.fixture
def client(city: City) -> TestClient:
    return TestClient(create_app(city.db), raise_server_exceptions=False)


@pytest.fixture
def hospital_a(city: City, client: TestClient) -> Hospital:
    return new_hospital(city, client)


@pytest.fixture
def hospital_b(city: City, client: TestClient) -> Hospital:
    return new_hospital(city, client, level="2")
