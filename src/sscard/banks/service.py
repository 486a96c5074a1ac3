"""Payment accounts: where the agency pays or withholds for each person — the valid card's bank account (the
account the bank opened for it in production), or an account registered at the agency (the "old way").

Public contract (names are stable):

- ``payment_account(session, person_id) -> PaymentAccount | None`` in the caller's transaction;
- ``payment_accounts(session, person_ids) -> dict[int, PaymentAccount]``: the same for many persons in a few
  set-based queries (a million persons: one scan instead of IN-lists);
- ``register_payment_account(db, actor, person_id, method, bank_code=None, account_no=None,
  holder_name=None) -> PaymentAccount | None``: the agency records the person's choice (FUNDS_CORRECT,
  audited). ``method="other"`` registers an account that takes precedence over the card's; ``method="card"``
  switches (back) to the card's account.

Precedence: a registered ``other`` account, else the account of the person's valid card (not cancelled) whose
bank returned an account number (the latest production record wins), else none. The holder name of a card
account is the name the bank opened it under (the pinyin fallback when production substituted a rare
character), so a pay-out does not fail on NAME_MISMATCH.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.banks.errors import BankUnknown, PaymentAccountInvalid, PersonNotFound
from sscard.banks.models import PaymentAccount as Registered
from sscard.banks.schemas import PaymentAccount
from sscard.bulksql import fetch_all
from sscard.db import Database
from sscard.production.models import CooperatingBank
from sscard.registry.models import Person

_SCAN_ABOVE = 20_000  # persons: above this, read every card account once instead of IN-lists
_CHUNK = 500

_CARD_SQL = ("SELECT c.person_id, b.bank_code, r.account_no, p.name, r.name_substituted, k.charset "
             "FROM cards c JOIN persons p ON p.id = c.person_id "
             "JOIN production_batch_records r ON r.card_id = c.id "
             "JOIN production_batches b ON b.id = r.batch_id "
             "JOIN cooperating_banks k ON k.code = b.bank_code "
             "WHERE r.account_no IS NOT NULL AND c.app_status IS NOT NULL AND c.app_status <> '9'")
_REGISTERED_SQL = ("SELECT person_id, bank_code, account_no, holder_name FROM payment_accounts "
                   "WHERE method = 'other'")


def payment_account(session: Session, person_id: int) -> PaymentAccount | None:
    return payment_accounts(session, [person_id]).get(person_id)


def payment_accounts(session: Session, person_ids: Iterable[int]) -> dict[int, PaymentAccount]:
    wanted = set(person_ids)
    if not wanted:
        return {}
    session.flush()  # the raw reads below must see the caller's pending changes
    if len(wanted) > _SCAN_ABOVE:
        cards = fetch_all(session, _CARD_SQL + " ORDER BY r.id")
        registered = fetch_all(session, _REGISTERED_SQL)
    else:
        cards, registered = [], []
        ids = sorted(wanted)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            cards += fetch_all(session, _CARD_SQL + f" AND c.person_id IN ({marks}) ORDER BY r.id", chunk)
            registered += fetch_all(session, _REGISTERED_SQL + f" AND person_id IN ({marks})", chunk)
    found: dict[int, PaymentAccount] = {}
    for person_id, bank_code, account_no, name, substituted, charset in cards:  # by record id: the latest wins
        if person_id in wanted:
            holder = bank_holder_name(name, charset) if substituted else name
            found[person_id] = PaymentAccount(person_id, bank_code, account_no, holder, "card")
    for person_id, bank_code, account_no, name in registered:
        if person_id in wanted:
            found[person_id] = PaymentAccount(person_id, bank_code, account_no, name, "registered")
    return found


def bank_holder_name(name: str, charset: str) -> str:
    """The holder's name as the bank opened the account: production sent characters outside the bank's
    character set as pinyin (``name_substituted``), and a pay-out must carry the bank's spelling."""
    from sscard.production.batches import bank_name  # pypinyin, only for the rare substituted names

    return bank_name(name, charset)[0]


def register_payment_account(db: Database, actor: Actor, person_id: int, method: str, bank_code: str | None = None,
                             account_no: str | None = None, holder_name: str | None = None) -> PaymentAccount | None:
    """Record how the person is paid from now on; returns the account that applies after the change."""
    actor.require(Permission.FUNDS_CORRECT)
    values = _values(method, bank_code, account_no, holder_name)
    with db.unit_of_work() as session:
        if session.get(Person, person_id) is None:
            raise PersonNotFound(str(person_id), person_id=person_id)
        if values["bank_code"] is not None and session.get(CooperatingBank, values["bank_code"]) is None:
            raise BankUnknown(values["bank_code"], bank=values["bank_code"])
        row = session.execute(select(Registered).where(Registered.person_id == person_id)
                              .with_for_update()).scalar_one_or_none()
        before = _snapshot(row)
        if row is None:
            row = Registered(person_id=person_id, registered_by=actor.username, **values)
            session.add(row)
        else:
            for key, value in values.items():
                setattr(row, key, value)
            row.registered_by = actor.username
        session.flush()
        audit.record(session, actor, "payment_account.register", "person", person_id, before, _snapshot(row))
        return payment_account(session, person_id)


def _values(method: str, bank_code: str | None, account_no: str | None, holder_name: str | None) -> dict[str, Any]:
    if method == "card":
        if bank_code or account_no or holder_name:
            raise PaymentAccountInvalid("method 'card' takes no account details")
        return {"method": "card", "bank_code": None, "account_no": None, "holder_name": None}
    if method != "other":
        raise PaymentAccountInvalid("method is 'card' or 'other'", method=method[:10])
    account_no = (account_no or "").strip()
    holder_name = (holder_name or "").strip()
    if not bank_code or not account_no.isascii() or not account_no.isalnum() or len(account_no) > 32:
        raise PaymentAccountInvalid("an 'other' account needs a bank code and an account number (≤ 32 letters "
                                    "or digits)")
    if not holder_name or len(holder_name) > 50 or any(ch in holder_name for ch in "|\r\n"):
        raise PaymentAccountInvalid("the holder name is 1-50 characters, without '|' or line breaks")
    return {"method": "other", "bank_code": bank_code, "account_no": account_no, "holder_name": holder_name}


def _snapshot(row: Registered | None) -> dict[str, Any] | None:
    if row is None:
        return None
    masked = None if row.account_no is None else "*" * max(0, len(row.account_no) - 4) + row.account_no[-4:]
    return {"method": row.method, "bank_code": row.bank_code, "account_no": masked}


def account_for_counter(db: Database, actor: Actor, person_id: int) -> PaymentAccount | None:
    """The account the agency pays into and withholds from, for the counter's person page (audited read)."""
    actor.require(Permission.PERSON_READ)
    with db.unit_of_work() as session:
        found = payment_account(session, person_id)
        audit.record(session, actor, "bank.payment_account_read", "person", person_id, None,
                     {"found": found is not None})
        return found
