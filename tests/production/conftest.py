"""Fixtures for production tests: a key manager with the city's keys (shared: deriving keys is slow)."""

from __future__ import annotations

import pytest

from sscard.kms import KeyManager
from support.keys import provisioned_key_manager


@pytest.fixture(scope="session")
def km() -> KeyManager:
    return provisioned_key_manager()
