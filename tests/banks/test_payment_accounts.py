"""Payment accounts: the valid card's bank account (from production), an account registered at the agency, and
the simulated bank opening accounts for every card — with real cards made through production."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from production.builders import Person as BuiltPerson
from production.builders import collection_csv, people, population_csv, write_photos
from sscard.access import PermissionDenied
from sscard.banks import service as banks
from sscard.banks.errors import BankUnknown, PaymentAccountInvalid, PersonNotFound
from sscard.banks.gateway import AccountState, gateway_for
from sscard.banks.simulated import SimulatedBank
from sscard.cards import service as cards
from sscard.cards.models import Card
from sscard.cards.states import CancelReason
from sscard.kms import KeyManager
from sscard.production import batches
from sscard.production import service as production
from sscard.production.schemas import Resolution
from sscard.production.simulators import AccountOpeningBank, SimulatedMaker
from sscard.registry.models import Person
from sscard.registry.regions import CITY_CODE
from support.city import City
from support.keys import provisioned_key_manager

RARE = "李𠀀"  # CJK Ext. B: outside the banks' GBK, so production sends the bank a pinyin spelling


@pytest.fixture(scope="module")
def km() -> KeyManager:
    return provisioned_key_manager()


def _issue_cards(city: City, new_id: Callable[..., str], km: KeyManager, tmp: Path, n: int) -> dict[int, str]:
    """Persons → collection → comparison → bank batch (accounts opened) → card maker → outlet → picked up.
    Returns person id → card number."""
    crowd = [*people(new_id, n - 1), BuiltPerson(new_id(region="441802"), RARE, "441802")]
    write_photos(crowd, tmp / "photos")
    production.import_population(city.db, city.admin, population_csv(crowd), "pop.csv")
    imported = production.import_collection(city.db, city.admin, collection_csv(crowd), "c.csv",
                                            photo_root=tmp / "photos")
    production.run_comparison(city.db, city.admin, imported.import_id)
    for exception in production.list_exceptions(city.db, city.supervisor):  # the rare name: the bank gets pinyin
        assert exception.reason_code == "NAME_OUTSIDE_BANK_CHARSET"
        production.resolve_exception(city.db, city.supervisor, exception.id, Resolution.ACCEPT)
    for batch in batches.create_batches(city.db, city.admin):
        bank_file = batches.export_bank_file(city.db, city.admin, batch.batch_no)
        batches.import_bank_return(city.db, city.admin, AccountOpeningBank().answer(bank_file))
        maker_file = batches.export_maker_file(city.db, city.admin, batch.batch_no, km.issue_psam(CITY_CODE))
        batches.import_maker_return(city.db, city.admin, SimulatedMaker(km, tmp / "images").answer(maker_file))
        batches.hand_over(city.db, city.admin, batch.batch_no, "T01")
    with city.db.unit_of_work() as s:
        issued = dict(s.execute(select(Card.person_id, Card.card_no)).all())
    for card_no in issued.values():
        cards.pick_up(city.db, city.counter, card_no)
    return issued


def test_cards_give_payment_accounts_the_bank_can_pay_into(fresh_city: City, new_id: Callable[..., str],
                                                             km: KeyManager, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    city = fresh_city
    issued = _issue_cards(city, new_id, km, tmp_path, 4)
    assert len(issued) == 4
    with city.db.unit_of_work() as s:
        found = banks.payment_accounts(s, [*issued, 999_999])
        names = dict(s.execute(select(Person.id, Person.name)).all())
    assert set(found) == set(issued)
    for person_id, account in found.items():
        expected = "李HE" if names[person_id] == RARE else names[person_id]  # the bank's spelling
        assert (account.source, account.holder_name) == ("card", expected)
        assert account.account_no and account.bank_code

    with city.db.unit_of_work() as s:  # the million-person form (one scan, no IN-lists) finds the same
        monkeypatch.setattr(banks, "_SCAN_ABOVE", 0)
        assert banks.payment_accounts(s, [*issued, 999_999]) == found

    bank = SimulatedBank(city.db)
    assert bank.sync_from_cards() == 4
    assert bank.sync_from_cards() == 0
    some = next(iter(found.values()))
    status = gateway_for(some.bank_code, db=city.db).account_status(some.account_no)
    assert (status.exists, status.state, status.holder_name) == (True, AccountState.NORMAL, some.holder_name)
    assert not status.financial_activated  # picked up, not yet activated
    rare = next(a for a in found.values() if names[a.person_id] == RARE)
    assert gateway_for(rare.bank_code, db=city.db).account_status(rare.account_no).holder_name == "李HE"
    bank.set_financial_activated(rare.bank_code, rare.account_no, True)
    paid = gateway_for(rare.bank_code, db=city.db).credit(rare.account_no, rare.holder_name, 100, "pa-rare")
    assert paid.ok  # paid under the bank's spelling, no NAME_MISMATCH

    # A cancelled card is no payment account any more; a registered one takes over.
    person_id = some.person_id
    cards.cancel(city.db, city.supervisor, issued[person_id], CancelReason.EMIGRATION)
    with city.db.unit_of_work() as s:
        assert banks.payment_account(s, person_id) is None
    banks.register_payment_account(city.db, city.supervisor, person_id, "other", "CCB", "6217000000001",
                                   some.holder_name)
    with city.db.unit_of_work() as s:
        moved = banks.payment_account(s, person_id)
    assert moved is not None and (moved.bank_code, moved.source) == ("CCB", "registered")


def test_a_registered_account_wins_over_the_card_and_can_be_switched_back(city: City,
                                                                          new_id: Callable[..., str]) -> None:
    from sscard.registry import service as registry
    from sscard.registry.schemas import PersonIn

    person = registry.register(city.db, city.counter, PersonIn(id_number=new_id(), name="梁旧法", region_code="441802"))
    with city.db.unit_of_work() as s:
        assert banks.payment_account(s, person.id) is None
    registered = banks.register_payment_account(city.db, city.supervisor, person.id, "other", "ABC",
                                                "6228480000001", "梁旧法")
    assert registered is not None
    assert (registered.bank_code, registered.account_no, registered.source) == ("ABC", "6228480000001", "registered")
    with city.db.unit_of_work() as s:
        assert banks.payment_accounts(s, [person.id]) == {person.id: registered}
    assert banks.register_payment_account(city.db, city.supervisor, person.id, "card") is None  # no card yet

    with pytest.raises(PermissionDenied):
        banks.register_payment_account(city.db, city.counter, person.id, "card")
    with pytest.raises(BankUnknown):
        banks.register_payment_account(city.db, city.supervisor, person.id, "other", "NOBANK", "1", "梁旧法")
    with pytest.raises(PaymentAccountInvalid):
        banks.register_payment_account(city.db, city.supervisor, person.id, "other", "ABC", "62|28", "梁旧法")
    with pytest.raises(PaymentAccountInvalid):
        banks.register_payment_account(city.db, city.supervisor, person.id, "cash")
    with pytest.raises(PersonNotFound):
        banks.register_payment_account(city.db, city.supervisor, 987_654_321, "card")
