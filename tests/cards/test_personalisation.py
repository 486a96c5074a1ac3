"""A card record personalised into a chip image reads back through the terminal (holder data, PSAM auth)."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest

from sscard.cards import service as cards
from sscard.cards.personalisation import personalise_card
from sscard.cards.states import ProductionStatus
from sscard.errors import DomainError
from sscard.kms import KeyManager
from sscard.registry import service as registry
from sscard.registry.regions import CITY_CODE
from sscard.registry.schemas import PersonIn
from sscard.terminal import Terminal, VirtualReader
from support.city import City


@pytest.fixture(scope="module")
def km() -> KeyManager:
    manager = KeyManager(os.urandom(32))
    manager.init_ministry()
    manager.provision_city(CITY_CODE)
    return manager


@pytest.mark.parametrize("generation", [2, 3])
def test_a_produced_card_reads_back_the_registry_record(city: City, new_id: Callable[..., str], km: KeyManager,
                                                        generation: int) -> None:
    id_no = new_id(region="441826")
    registry.register(city.db, city.counter, PersonIn(id_number=id_no, name="房八妹·盘", region_code="441826",
                                                      ethnicity="07"))
    card_no = cards.apply_new(city.db, city.counter, id_no).card.card_no
    with pytest.raises(DomainError, match="CARD_STATE_INVALID"):
        personalise_card(city.db, city.admin, card_no, km, generation)  # no bank account yet
    for status in (ProductionStatus.IN_BATCH, ProductionStatus.BANK_OPENED):
        cards.advance_production(city.db, city.admin, card_no, status)
    with pytest.raises(DomainError, match="PERMISSION_DENIED"):
        personalise_card(city.db, city.counter, card_no, km, generation)

    chip = personalise_card(city.db, city.admin, card_no, km, generation)
    terminal = Terminal(VirtualReader(chip), VirtualReader(km.issue_psam(CITY_CODE), name="PSAM"))
    info = terminal.read_holder()  # selects the SSSE application
    terminal.require_genuine()  # internal authentication against the city's PSAM
    assert (info.id_number, info.card_no, info.name) == (id_no, card_no, "房八妹·盘")
    assert info.nationality == "07" and info.region_code == CITY_CODE and info.birthplace_code == "441826"
    assert info.spec_version == f"{generation}.00"
