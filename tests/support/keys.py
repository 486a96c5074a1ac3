"""A key manager for tests: a random KEK, the ministry's root keys and one city's keys provisioned."""

from __future__ import annotations

import os

from sscard.kms import KeyManager
from sscard.registry.regions import CITY_CODE


def provisioned_key_manager(city_code: str = CITY_CODE) -> KeyManager:
    manager = KeyManager(os.urandom(32))
    manager.init_ministry()
    manager.provision_city(city_code)
    return manager
