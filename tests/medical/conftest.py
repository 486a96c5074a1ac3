"""Fixtures for the settlement service and API: an in-process client on the shared city, and a hospital."""

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
def hospital(city: City, client: TestClient) -> Hospital:
    """A level-3 hospital (outpatient, inpatient, reconciliation) with a fresh API key."""
    return new_hospital(city, client)
