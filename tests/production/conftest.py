"""Fixtures for production tests: a key manager with the city's keys (shared: deriving keys is slow)."""

from __future__ import annotations

import os

import pytest

from sscard.kms import KeyManager
from sscard.registry.regions import CITY_CODE


@pytest.fixture(scope="session")
def km() -> KeyManager:
    manager = KeyManager(os.urandom(32))
    manager.init_ministry()
    manager.provision_city(CITY_CODE)
    return manager
