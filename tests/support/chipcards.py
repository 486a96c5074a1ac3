"""Chip fixtures shared by tests/chip and tests/terminal: a key manager for 深圳 (440300) and fresh cards."""

from __future__ import annotations

import pytest

from sscard.chip import HolderData, VirtualCard, personalise
from sscard.chip.samples import CardFactory, sample_holder
from sscard.kms import KeyManager
from support.keys import provisioned_key_manager


@pytest.fixture(scope="module")
def km() -> KeyManager:
    return provisioned_key_manager("440300")


@pytest.fixture
def make_card(km: KeyManager) -> CardFactory:
    def make(generation: int = 3, **overrides: object) -> tuple[VirtualCard, HolderData]:
        holder = sample_holder(generation, **overrides)
        return personalise(holder, km.card_keys(holder)), holder

    return make


@pytest.fixture(params=[2, 3], ids=["gen2-3des", "gen3-sm4"])
def generation(request: pytest.FixtureRequest) -> int:
    return int(request.param)
