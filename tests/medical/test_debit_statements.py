"""What one card purchase costs the issuing bank's database (docs/debit.md, "Throughput"): an approval is four
statements — the card's link with any earlier answer, the holder's conditional debit, the stored answer, the
merchant's credit last — and every check still holds in process (replay, ATC spent once, balanced pair)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from medical.debit_world import BANK, make_desk
from sscard import clock
from sscard.banks.cardauth import CardIssuer, keystore_keys, merchant_account
from sscard.banks.simulated import SimulatedBank
from sscard.kms import KeyManager
from sscard.registry.regions import CITY_CODE
from sscard.terminal.purchase import purchase
from support.city import City


@pytest.fixture(scope="module")
def statements_keystore(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("statements") / "keystore.json"
    KeyManager.provisioned(path, CITY_CODE)
    return path


class Counted:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: object, cursor: object, statement: str, *args: object) -> None:
        self.statements.append(statement.split()[0].upper())


@pytest.fixture
def counted(city: City) -> Iterator[Counted]:
    seen = Counted()
    event.listen(city.db.engine, "before_cursor_execute", seen)
    yield seen
    event.remove(city.db.engine, "before_cursor_execute", seen)


def test_an_approval_is_four_statements_and_every_refusal_still_holds(
        city: City, client: TestClient, statements_keystore: Path, counted: Counted) -> None:
    desk = make_desk(city, client, statements_keystore)
    issuer = CardIssuer(city.db, keystore_keys(statements_keystore))
    issuer.link_card(BANK, desk.pan, desk.account_no, CITY_CODE)
    reader = desk.reader()
    requests = []
    for n, amount in enumerate((1_000, 1_001, 60_000)):
        card = reader.open_card()
        try:
            terminal = reader.terminal(card)
            terminal.read_holder()
            requests.append(purchase(terminal, amount, clock.local_date(), ref=f"ST{n}{desk.account_no}",
                                     merchant=desk.hospital.code, pin="123456"))
        finally:
            card.close()
    assert issuer.authorise(BANK, requests[0]).approved  # the card's AC key derived and cached
    counted.statements.clear()
    second = issuer.authorise(BANK, requests[1])
    assert second.approved and second.arpc
    assert [s for s in counted.statements if s not in ("BEGIN", "COMMIT", "ROLLBACK")] == [
        "SELECT", "UPDATE", "INSERT", "UPDATE"]
    again = issuer.authorise(BANK, requests[1])
    assert again.replayed and again.auth_code == second.auth_code
    replay = issuer.authorise(BANK, requests[1].model_copy(update={"ref": f"SX{desk.account_no}"}))
    assert (replay.approved, replay.reason, replay.arpc) == (False, "ARQC_REPLAYED", None)
    bank = SimulatedBank(city.db)
    assert bank.balance(BANK, desk.account_no) == 50_000 - 1_000 - 1_001  # the replay moved nothing
    assert bank.balance(BANK, merchant_account(desk.hospital.code)) == 1_000 + 1_001
    short = issuer.authorise(BANK, requests[2])  # more than the balance: refused, the ARPC still given
    assert (short.approved, short.reason, short.arc) == (False, "INSUFFICIENT_BALANCE", "51") and short.arpc
    assert bank.balance(BANK, desk.account_no) == 50_000 - 1_000 - 1_001
    assert bank.balance(BANK, merchant_account(desk.hospital.code)) == 1_000 + 1_001
