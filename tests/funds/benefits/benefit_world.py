"""Builders for benefit tests: card holders made by the production pipeline (population and collection import,
comparison, bank account opening, card maker, hand-over, pickup, activation), accounts at the simulated bank,
"old way" accounts registered at the agency, entitlements, and the checks every month must pass."""

from __future__ import annotations

import itertools
import os
from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from sqlalchemy import func, select

from production.builders import Person, collection_csv, population_csv, write_photos
from sscard.banks import service as banks
from sscard.banks.simulated import SimulatedBank
from sscard.cards import service as cards
from sscard.cards.models import Card
from sscard.funds.benefits import entitlements
from sscard.funds.benefits.models import DisbursementBatch, DisbursementLine, Reissue
from sscard.funds.benefits.schemas import EntitlementIn
from sscard.kms import KeyManager
from sscard.ledger import service as ledger
from sscard.ledger.errors import LedgerAccountNotFound
from sscard.ledger.models import LedgerAccount, LedgerTransfer
from sscard.production import batches
from sscard.production import service as production
from sscard.production.models import BatchRecord, ProductionBatch
from sscard.production.simulators import AccountOpeningBank, SimulatedMaker
from sscard.registry import service as registry
from sscard.registry.regions import CITY_CODE
from sscard.registry.schemas import PersonIn
from support.city import City
from support.factories import next_id_number
from support.keys import provisioned_key_manager

BANKS = ("ICBC", "ABC", "BOC", "CCB", "CGB", "QYRCB")
_accounts = itertools.count(1)


@dataclass
class Holder:
    person_id: int
    id_number: str
    name: str
    bank: str
    account_no: str
    card_no: str | None = None


@cache
def key_manager() -> KeyManager:
    return provisioned_key_manager()


def card_holders(city: City, tmp_path: Path, names: list[str], region: str = "441802",
                 activated: bool = True) -> list[Holder]:
    """Persons who went through the production pipeline and hold a card with a bank account; the simulated bank
    opens their accounts from the cards (financial function on iff the card is activated)."""
    admin, km = city.admin, key_manager()
    crowd = [Person(next_id_number(region=region), name, region) for name in names]
    write_photos(crowd, tmp_path / "photos")
    production.import_population(city.db, admin, population_csv(crowd), "gongan.csv")
    imported = production.import_collection(city.db, admin, collection_csv(crowd), "outlet.csv",
                                            photo_root=tmp_path / "photos")
    assert production.run_comparison(city.db, admin, imported.import_id).approved == len(crowd)
    # A seed of its own per call: the simulated bank draws account numbers from it.
    opening = AccountOpeningBank(seed=int.from_bytes(os.urandom(4), "big"))
    maker = SimulatedMaker(km, tmp_path / "images")
    psam = km.issue_psam(CITY_CODE)
    for batch in batches.create_batches(city.db, admin):
        batches.import_bank_return(city.db, admin, opening.answer(batches.export_bank_file(city.db, admin,
                                                                                           batch.batch_no)))
        batches.import_maker_return(city.db, admin, maker.answer(batches.export_maker_file(city.db, admin,
                                                                                           batch.batch_no, psam)))
        batches.hand_over(city.db, admin, batch.batch_no, "T01")
    out = []
    with city.db.unit_of_work() as s:
        rows = s.execute(select(Card.card_no, Card.person_id, ProductionBatch.bank_code, BatchRecord.account_no)
                         .join(BatchRecord, BatchRecord.card_id == Card.id)
                         .join(ProductionBatch, ProductionBatch.id == BatchRecord.batch_id)
                         .where(BatchRecord.account_no.is_not(None))).all()
    by_person = {pid: (card_no, bank, acct) for card_no, pid, bank, acct in rows}
    for p in crowd:
        person = registry.get(city.db, admin, p.id_number)
        card_no, bank, account_no = by_person[person.id]
        cards.pick_up(city.db, city.counter, card_no)
        if activated:
            cards.activate(city.db, city.counter, card_no, "246810")
        out.append(Holder(person.id, p.id_number, p.name, bank, account_no, card_no))
    SimulatedBank(city.db).sync_from_cards()
    return out


def registered_holder(city: City, name: str, bank: str = "CCB", open_at_bank: bool = True) -> Holder:
    """A person paid "the old way": an account registered at the agency (and opened at the simulated bank)."""
    number = next_id_number()
    person = registry.register(city.db, city.admin, PersonIn(id_number=number, name=name, region_code="441802"))
    account_no = f"9{next(_accounts):015d}"
    banks.register_payment_account(city.db, city.admin, person.id, "other", bank, account_no, name)
    if open_at_bank:
        SimulatedBank(city.db).open_account(bank, account_no, name, number)
    return Holder(person.id, number, name, bank, account_no)


def grant(city: City, holder: Holder, kind: str, amount: int, start: str, months: int | None = None) -> int:
    return entitlements.grant_entitlement(city.db, city.admin, EntitlementIn(
        person_id=holder.person_id, kind=kind, amount=amount, start_period=start, months=months)).id


def paid_lines(city: City) -> list[DisbursementLine]:
    """Lines the bank paid: in a posted batch and not in the re-issue queue."""
    with city.db.unit_of_work() as s:
        failed = select(Reissue.line_id)
        return list(s.execute(select(DisbursementLine).join(DisbursementBatch,
                                                            DisbursementBatch.id == DisbursementLine.batch_id)
                              .where(DisbursementBatch.state == "posted", DisbursementLine.id.not_in(failed))
                              ).scalars())


def paid_months(city: City) -> Counter[tuple[int, str]]:
    """How often each (entitlement, month due) was paid: exactly once is the rule."""
    return Counter((line.entitlement_id, line.period_due) for line in paid_lines(city))


def assert_books_agree(city: City, opening: dict[str, int] | None = None) -> None:
    """Ledger zero-sum and journal; per bank: the holders' balances moved (from ``opening``, what they held
    before) = −(the bureau's settlement account) = the clearing account's net credit (pay-outs in, withholdings
    out) — and the pay-outs alone equal the posted batches' successes; every posted header = Σ successes +
    Σ failures."""
    bank, opening = SimulatedBank(city.db), opening or {}
    with city.db.unit_of_work() as s:
        assert ledger.check_zero_sum(s).ok
        assert ledger.accounts_not_matching_journal(s) == []
        posted = {code: int(total) for code, total in s.execute(
            select(DisbursementBatch.bank_code, func.sum(DisbursementBatch.success_amount))
            .where(DisbursementBatch.state == "posted").group_by(DisbursementBatch.bank_code))}
        clearing = {}
        for code in set(posted) | set(opening):
            try:
                found = ledger.balance(s, f"bank:{code}:clearing")
                clearing[code] = found.credits_posted - found.debits_posted
            except LedgerAccountNotFound:
                clearing[code] = 0
        payouts = {code: int(total) for code, total in s.execute(
            select(LedgerAccount.code, func.sum(LedgerTransfer.amount))
            .join(LedgerAccount, LedgerAccount.id == LedgerTransfer.credit_account_id)
            .where(LedgerTransfer.code == "benefit.payout").group_by(LedgerAccount.code))}
        for b in s.execute(select(DisbursementBatch)).scalars():
            if b.state == "posted":
                assert (b.success_count + b.failure_count, b.success_amount + b.failure_amount) == \
                    (b.line_count, b.total_amount), b.batch_no
    for code, net in clearing.items():
        assert payouts.get(f"bank:{code}:clearing", 0) == posted.get(code, 0), code
        assert bank.holders_total(code) - opening.get(code, 0) == net, code
        assert -bank.bureau_balance(code) == net, code
