"""Production batches (制卡批次): approved applications grouped by cooperating bank, the account-opening file and
its return, the personalisation file for the card maker and its return, hand-over to outlets. Every step moves
cards along the production state machine of ``sscard.cards`` (its edges, errors and audit), in one transaction
with the batch records, and ends by checking that the batch header totals equal the sum of its records.
Writes are set-based (``sscard.bulksql``; the cards' status moves through ``cards.bulk.ProductionMoves``): a step
costs a few statements, not one per card.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.auth.errors import OutletNotFound
from sscard.auth.models import Outlet
from sscard.bulksql import insert_rows, update_rows
from sscard.cards.bulk import ProductionMoves
from sscard.cards.models import Application, Card
from sscard.cards.personalisation import holder_data
from sscard.cards.records import add_years
from sscard.cards.states import ApplicationStatus, ProductionStatus
from sscard.chip import card_atr
from sscard.db import Database
from sscard.kms import Psam
from sscard.kms.partners import PartnerKeys
from sscard.policy import service as policy
from sscard.production import formats, transport
from sscard.production.errors import (
    BankUnknown,
    BatchNotFound,
    BatchStageInvalid,
    BatchTotalsMismatch,
    FileRejected,
    NoOutletForCard,
)
from sscard.production.models import BatchRecord, CooperatingBank, ProductionBatch
from sscard.production.schemas import BatchFailureOut, BatchOut
from sscard.registry import idnumber
from sscard.registry.models import Person

PS = ProductionStatus
SUBSTITUTE = "*"  # agreed with the banks for a character without pinyin in pypinyin's tables
_ACCOUNT = re.compile(r"[0-9]{12,19}")


# ------------------------------------------------------------------------------------------------ helpers


def _batch(session: Session, batch_no: str) -> ProductionBatch:
    batch = session.execute(select(ProductionBatch).where(ProductionBatch.batch_no == batch_no)
                            .with_for_update()).scalar_one_or_none()
    if batch is None:
        raise BatchNotFound(batch_no[:30])
    return batch


def _stage(batch: ProductionBatch, *allowed: str) -> None:
    if batch.stage not in allowed:
        raise BatchStageInvalid(f"batch {batch.batch_no} is at {batch.stage}; this step needs {' or '.join(allowed)}",
                                batch_no=batch.batch_no, stage=batch.stage)


def _records(session: Session, batch: ProductionBatch, *states: str) -> list[tuple[BatchRecord, Card, Person]]:
    query = (select(BatchRecord, Card, Person).join(Card, Card.id == BatchRecord.card_id)
             .join(Person, Person.id == Card.person_id).where(BatchRecord.batch_id == batch.id))
    if states:
        query = query.where(BatchRecord.state.in_(states))
    return [(r, c, p) for r, c, p in session.execute(query.order_by(BatchRecord.seq))]


def _update_records(session: Session, updates: list[dict[str, object]]) -> None:
    """The step's batch-record changes in set-based UPDATEs (the loaded records are not used afterwards)."""
    update_rows(session, cast(Table, BatchRecord.__table__), updates)


def reconcile(session: Session, batch: ProductionBatch) -> None:
    """The header totals must equal the sum of the records, at every step (raises BatchTotalsMismatch)."""
    session.flush()
    counts = dict(session.execute(select(BatchRecord.state, func.count()).where(BatchRecord.batch_id == batch.id)
                                  .group_by(BatchRecord.state)).all())
    made = counts.get("maker_ok", 0) + counts.get("delivered", 0)
    past_bank = made + counts.get("maker_failed", 0) + counts.get("bank_ok", 0)
    expected = {
        "record_count": sum(counts.values()),
        "bank_ok": past_bank,
        "bank_failed": counts.get("bank_failed", 0),
        "maker_ok": made,
        "maker_failed": counts.get("maker_failed", 0),
        "delivered": counts.get("delivered", 0),
    }
    header = {k: getattr(batch, k) for k in expected}
    if batch.stage in ("bank_returned", "maker_sent", "maker_returned", "delivered") and \
            batch.bank_ok + batch.bank_failed != batch.record_count:
        raise BatchTotalsMismatch(f"{batch.batch_no}: bank ok + failed ≠ records")
    if batch.stage in ("maker_returned", "delivered") and batch.maker_ok + batch.maker_failed != batch.maker_sent:
        raise BatchTotalsMismatch(f"{batch.batch_no}: maker ok + failed ≠ sent")
    if header != expected:
        raise BatchTotalsMismatch(f"{batch.batch_no}: header {header} ≠ records {expected}")


def _out(batch: ProductionBatch) -> BatchOut:
    return BatchOut.model_validate(batch)


def _next_batch_no(session: Session, bank: str, today: dt.date) -> str:
    prefix = f"{bank}-{today:%Y%m%d}-"
    taken = session.execute(select(func.count()).select_from(ProductionBatch)
                            .where(ProductionBatch.batch_no.like(prefix + "%"))).scalar_one()
    return f"{prefix}{taken + 1:04d}"


def _choose_bank(region: str, banks: list[CooperatingBank], load: dict[str, int]) -> str:
    serving = [b for b in banks if region in b.divisions.split(",")]
    if not serving:
        raise BankUnknown(f"no cooperating bank serves division {region}", region=region)
    best = max(serving, key=lambda b: (b.quota - load[b.code], b.code))
    load[best.code] += 1
    return best.code


# ---------------------------------------------------------------------------------------------- batching


def create_batches(db: Database, actor: Actor, max_per_batch: int = 10_000) -> list[BatchOut]:
    """组批: new cards (00) and bank failures (22) → bank batches; maker failures (32) → re-make batches.

    A new card goes to the bank serving its holder's division with most quota left; a re-batched card keeps
    its bank. Each card is one transition (00/22 → 10, or 32 → 20).
    """
    actor.require(Permission.PRODUCTION_BATCH)
    actor.require(Permission.CARD_PRODUCTION)
    with db.unit_of_work() as session:
        banks = list(session.execute(select(CooperatingBank).order_by(CooperatingBank.code)).scalars())
        load: dict[str, int] = defaultdict(int, {code: n for code, n in session.execute(
            select(Card.bank_code, func.count()).where(Card.bank_code.is_not(None)).group_by(Card.bank_code)
        ) if code})
        due = session.execute(
            select(Card, Person).join(Person, Person.id == Card.person_id)
            .join(Application, Application.id == Card.application_id)
            .where(Card.production_status.in_([PS.COLLECTED.value, PS.BANK_FAILED.value, PS.MAKER_FAILED.value]),
                   Application.status == ApplicationStatus.OPEN.value)
            .order_by(Card.id).with_for_update(of=Card)).all()
        groups: dict[tuple[str, str], list[Card]] = defaultdict(list)
        for card, person in due:
            bank = card.bank_code or _choose_bank(person.region_code, banks, load)
            kind = "maker" if card.production_status == PS.MAKER_FAILED.value else "bank"
            groups[(bank, kind)].append(card)
        accounts = _last_accounts(session, [c.id for c, _p in due if c.production_status == PS.MAKER_FAILED.value])
        made: list[ProductionBatch] = []
        today = clock.local_date()
        for (bank, kind), members in sorted(groups.items()):
            for start in range(0, len(members), max_per_batch):
                made.append(_new_batch(session, actor, bank, kind, members[start:start + max_per_batch], today,
                                       accounts))
        return [_out(b) for b in made]


def _last_accounts(session: Session, card_ids: list[int]) -> dict[int, str]:
    """The account of each card's last successful bank return (a re-made card keeps its account)."""
    found: dict[int, str] = {}
    for start in range(0, len(card_ids), 5_000):
        page = card_ids[start:start + 5_000]
        for card_id, account in session.execute(
                select(BatchRecord.card_id, BatchRecord.account_no)
                .where(BatchRecord.card_id.in_(page), BatchRecord.account_no.is_not(None))
                .order_by(BatchRecord.id)):
            if account is not None:  # ordered by id: the last one wins
                found[card_id] = account
    return found


def _new_batch(session: Session, actor: Actor, bank: str, kind: str, members: list[Card],
               today: dt.date, accounts: dict[int, str]) -> ProductionBatch:
    batch = ProductionBatch(batch_no=_next_batch_no(session, bank, today), bank_code=bank, kind=kind,
                            stage="created" if kind == "bank" else "bank_returned", record_count=len(members),
                            bank_ok=len(members) if kind == "maker" else 0, bank_failed=0, maker_sent=0,
                            maker_ok=0, maker_failed=0, delivered=0, created_by=actor.username)
    session.add(batch)
    session.flush()
    moves = ProductionMoves(session, actor)
    records = []
    for seq, card in enumerate(members, start=1):
        records.append({"batch_id": batch.id, "seq": seq, "card_id": card.id, "card_no": card.card_no,
                        "state": "bank_ok" if kind == "maker" else "in_batch",
                        "account_no": accounts.get(card.id) if kind == "maker" else None})
        moves.add(card, PS.BANK_OPENED if kind == "maker" else PS.IN_BATCH, bank_code=bank)
    insert_rows(session, cast(Table, BatchRecord.__table__), records)
    moves.apply()
    reconcile(session, batch)
    audit.record(session, actor, "production.batch_create", "production_batch", batch.batch_no, None,
                 {"bank": bank, "kind": kind, "records": len(members)})
    return batch


# ------------------------------------------------------------------------------------------------ bank


def bank_name(name: str, charset: str) -> tuple[str, bool]:
    """The name in the bank's character set; characters outside it become pinyin, or ``*`` when no pinyin is
    known (the record's name_substituted flag tells the bank)."""
    try:
        name.encode(charset)
        return name, False
    except UnicodeEncodeError:
        from pypinyin import lazy_pinyin  # slow to import; only rare names need it

        out = []
        for ch in name:
            try:
                ch.encode(charset)
                out.append(ch)
            except UnicodeEncodeError:
                spelled = lazy_pinyin(ch)[0].upper()
                out.append(spelled if spelled.isascii() else SUBSTITUTE)
        return "".join(out), True


def export_bank_file(db: Database, actor: Actor, batch_no: str, keys: PartnerKeys | None = None) -> bytes:
    """开户报盘: the account-opening file for the batch's bank (may be exported again until the return)."""
    actor.require(Permission.PRODUCTION_BATCH)
    with db.unit_of_work() as session:
        batch = _batch(session, batch_no)
        _stage(batch, "created", "bank_sent")
        bank = session.get_one(CooperatingBank, batch.bank_code)
        rows = []
        for record, _card, person in _records(session, batch, "in_batch"):
            name, substituted = bank_name(person.name, bank.charset)
            record.name_substituted = substituted
            rows.append([record.card_no, person.id_number, name, "1" if substituted else "0", person.sex,
                         f"{person.birth_date:%Y%m%d}", person.region_code, person.phone or ""])
        data = formats.write("KH", batch.batch_no, batch.bank_code, clock.now().astimezone(clock.local_zone()), rows,
                             keys=keys)
        batch.stage = "bank_sent"
        reconcile(session, batch)
        audit.record(session, actor, "production.bank_export", "production_batch", batch.batch_no, None,
                     {"records": len(rows), "bytes": len(data)})
        return data


def _bank_of(db: Database, data: bytes) -> str | None:
    """The bank of the batch a return names (None if no such batch): its key, not the one the file claims,
    must have made the MAC."""
    batch_no = formats.peek_header(data)[1]
    with db.unit_of_work() as session:
        return session.execute(select(ProductionBatch.bank_code)
                               .where(ProductionBatch.batch_no == batch_no)).scalar_one_or_none()


def import_bank_return(db: Database, actor: Actor, data: bytes, keys: PartnerKeys | None = None) -> BatchOut:
    """开户回盘: an account number or a failure per record; the file must answer every record of the batch."""
    actor.require(Permission.PRODUCTION_BATCH)
    bank = _bank_of(db, data)
    parsed = formats.parse(data, "KR", keys, partner=None if bank is None else formats.partner_for("KR", bank))
    with db.unit_of_work() as session:
        batch = _batch(session, parsed.header.batch_no)
        _stage(batch, "bank_sent")
        if parsed.header.bank_code != batch.bank_code:
            raise FileRejected(f"the return comes from {parsed.header.bank_code[:10]}, the batch is {batch.bank_code}")
        members = {r.card_no: (r, c, p) for r, c, p in _records(session, batch, "in_batch")}
        answered = {rec["card_no"] for rec in parsed.records}
        if answered != set(members):
            raise FileRejected(f"the return answers {len(answered & set(members))} of {len(members)} records "
                               f"and {len(answered - set(members))} unknown cards")
        moves, updates = ProductionMoves(session, actor), []
        for rec in parsed.records:
            record, card, person = members[rec["card_no"]]
            if rec["id_number"] != person.id_number:
                raise FileRejected(f"card {record.card_no}: the ID number differs from what was sent")
            if rec["result"] == formats.OK:
                if not _ACCOUNT.fullmatch(rec["account_no"]):
                    raise FileRejected(f"card {record.card_no}: account number {rec['account_no'][:20]!r} malformed")
                updates.append({"id": record.id, "state": "bank_ok", "account_no": rec["account_no"],
                                "fail_code": None, "fail_reason": None})
                moves.add(card, PS.BANK_OPENED)
                batch.bank_ok += 1
            else:
                updates.append({"id": record.id, "state": "bank_failed", "account_no": None,
                                "fail_code": rec["result"][:10], "fail_reason": rec["reason"][:100]})
                moves.add(card, PS.BANK_FAILED)
                batch.bank_failed += 1
        _update_records(session, updates)
        moves.apply()
        batch.stage = "bank_returned"
        reconcile(session, batch)
        audit.record(session, actor, "production.bank_return", "production_batch", batch.batch_no, None,
                     {"ok": batch.bank_ok, "failed": batch.bank_failed})
        return _out(batch)


# ------------------------------------------------------------------------------------------------ maker


def export_maker_file(db: Database, actor: Actor, batch_no: str, psam: Psam | Callable[[], Psam],
                      keys: PartnerKeys | None = None) -> bytes:
    """制卡数据: the cards whose account is open; ID number, name, sex, birth date and account number sealed
    for the maker under a batch key derived in the PSAM (given, or asked for once the batch is known)."""
    actor.require(Permission.PRODUCTION_BATCH)
    with db.unit_of_work() as session:
        batch = _batch(session, batch_no)
        _stage(batch, "bank_returned", "maker_sent")
        if batch.transport_salt is None:
            batch.transport_salt = transport.new_salt()
        key = transport.batch_key(psam if isinstance(psam, Psam) else psam(), batch.batch_no, batch.transport_salt)
        today = clock.local_date()
        expiry = add_years(today, policy.get_int(session, "card.validity_years", today))
        rows = []
        for seq, (record, card, person) in enumerate(_records(session, batch, "bank_ok"), start=1):
            sealed = transport.seal(key, batch.batch_no, seq, card.card_no, {
                "id_number": person.id_number, "name": person.name, "sex": person.sex,
                "birth_date": f"{person.birth_date:%Y%m%d}", "ethnicity": person.ethnicity,
                "account_no": record.account_no or "", "issue_date": f"{today:%Y%m%d}",
                "expiry_date": f"{expiry:%Y%m%d}"})
            rows.append([card.card_no, person.region_code, f"{card.card_no}.jpg", sealed])
        data = formats.write("ZK", batch.batch_no, batch.bank_code, clock.now().astimezone(clock.local_zone()), rows,
                             extra=batch.transport_salt, keys=keys)
        batch.maker_sent, batch.stage = len(rows), "maker_sent"
        reconcile(session, batch)
        audit.record(session, actor, "production.maker_export", "production_batch", batch.batch_no, None,
                     {"records": len(rows)})
        return data


def import_maker_return(db: Database, actor: Actor, data: bytes, keys: PartnerKeys | None = None) -> BatchOut:
    """制卡回盘: per card the chip serial and ATR (checked against the card's own factor) or a failure."""
    actor.require(Permission.PRODUCTION_BATCH)
    parsed = formats.parse(data, "ZR", keys, partner=formats.MAKER_PARTNER)
    with db.unit_of_work() as session:
        batch = _batch(session, parsed.header.batch_no)
        _stage(batch, "maker_sent")
        members = {r.card_no: (r, c, p) for r, c, p in _records(session, batch, "bank_ok")}
        answered = {rec["card_no"] for rec in parsed.records}
        if answered != set(members):
            raise FileRejected(f"the return answers {len(answered & set(members))} of {len(members)} records "
                               f"and {len(answered - set(members))} unknown cards")
        today = clock.local_date()
        moves, updates = ProductionMoves(session, actor), []
        for rec in parsed.records:
            record, card, person = members[rec["card_no"]]
            ok = rec["result"] == formats.OK
            if ok:
                holder = holder_data(person, card, today, 10)
                factor = card_atr(holder)[-8:].hex().upper()
                if not rec["atr"].upper().endswith(factor):
                    ok, rec = False, {**rec, "result": "ATR", "reason": "ATR card factor does not match the card"}
            if ok:
                updates.append({"id": record.id, "state": "maker_ok", "chip_serial": rec["chip_serial"][:32],
                                "atr": rec["atr"][:64], "fail_code": None, "fail_reason": None})
                moves.add(card, PS.CARD_MADE)
                batch.maker_ok += 1
            else:
                updates.append({"id": record.id, "state": "maker_failed", "chip_serial": None, "atr": None,
                                "fail_code": rec["result"][:10], "fail_reason": rec["reason"][:100]})
                moves.add(card, PS.MAKER_FAILED)
                batch.maker_failed += 1
        _update_records(session, updates)
        moves.apply()
        batch.stage = "maker_returned"
        reconcile(session, batch)
        audit.record(session, actor, "production.maker_return", "production_batch", batch.batch_no, None,
                     {"ok": batch.maker_ok, "failed": batch.maker_failed})
        return _out(batch)


# ------------------------------------------------------------------------------------------------ outlets


def _outlet_for(session: Session, bank: str, region: str, wanted: str | None) -> Outlet:
    if wanted:
        outlet = session.execute(select(Outlet).where(Outlet.code == wanted)).scalar_one_or_none()
        if outlet is None:
            raise OutletNotFound(wanted)
        return outlet
    # The holder's service bank in the holder's division, else any outlet of that division.
    candidates = session.execute(select(Outlet).where(Outlet.region_code == region)
                                 .order_by((Outlet.bank_code == bank).desc(), Outlet.code)).scalars().first()
    if candidates is None:
        raise NoOutletForCard(f"no outlet in division {region}", region=region)
    return candidates


def hand_over(db: Database, actor: Actor, batch_no: str, outlet_code: str | None = None) -> BatchOut:
    """交接到网点: every card made in the batch goes to an outlet (given, or its bank's outlet in its division)."""
    actor.require(Permission.PRODUCTION_BATCH)
    with db.unit_of_work() as session:
        batch = _batch(session, batch_no)
        _stage(batch, "maker_returned")
        moves, updates = ProductionMoves(session, actor), []
        outlets: dict[str, Outlet] = {}  # by division: one look-up per division, not per card
        for record, card, person in _records(session, batch, "maker_ok"):
            outlet = outlets.get(person.region_code)
            if outlet is None:
                outlet = outlets[person.region_code] = _outlet_for(session, batch.bank_code, person.region_code,
                                                                   outlet_code)
            moves.add(card, PS.AT_OUTLET, outlet.id)
            updates.append({"id": record.id, "state": "delivered", "outlet_code": outlet.code})
            batch.delivered += 1
        _update_records(session, updates)
        moves.apply()
        batch.stage = "delivered"
        reconcile(session, batch)
        audit.record(session, actor, "production.hand_over", "production_batch", batch.batch_no, None,
                     {"delivered": batch.delivered, "outlet": outlet_code})
        return _out(batch)


def get_batch(db: Database, actor: Actor, batch_no: str) -> BatchOut:
    actor.require(Permission.PRODUCTION_BATCH)
    with db.unit_of_work() as session:
        batch = _batch(session, batch_no)
        reconcile(session, batch)
        return _out(batch)


def list_batches(db: Database, actor: Actor, stage: str | None = None, limit: int = 100) -> list[BatchOut]:
    actor.require(Permission.PRODUCTION_BATCH)
    with db.unit_of_work() as session:
        query = select(ProductionBatch).order_by(ProductionBatch.id.desc()).limit(min(limit, 1000))
        if stage:
            query = query.where(ProductionBatch.stage == stage)
        return [_out(b) for b in session.execute(query).scalars()]


def bank_names(db: Database, actor: Actor) -> dict[str, str]:
    """The cooperating banks' names by code (for pages that must not show codes)."""
    actor.require(Permission.PRODUCTION_BATCH)
    with db.unit_of_work() as session:
        return {b.code: b.name_zh for b in session.execute(select(CooperatingBank)).scalars()}


def batch_failures(db: Database, actor: Actor, batch_no: str) -> list[BatchFailureOut]:
    """The failed cards of one batch (bank or card maker), each with its holder's name and masked ID number."""
    actor.require(Permission.PRODUCTION_BATCH)
    with db.unit_of_work() as session:
        batch = _batch(session, batch_no)
        rows = _records(session, batch, "bank_failed", "maker_failed")
        audit.record(session, actor, "production.batch_failures_read", "production_batch", batch.batch_no, None,
                     {"returned": len(rows)})
        return [BatchFailureOut(card_no=r.card_no, name=p.name, id_masked=idnumber.mask(p.id_number), state=r.state,
                                fail_code=r.fail_code, fail_reason=r.fail_reason) for r, _card, p in rows]
