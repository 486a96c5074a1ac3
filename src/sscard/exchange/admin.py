"""The administrators' side: the catalogue, departments, their keys, and agreements (requested by one operator,
approved by another: maker-checker in this service and, as a CHECK, in the database)."""

from __future__ import annotations

import datetime as dt
import os
import secrets as random

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.config import Mode, get_settings
from sscard.db import Database, utcnow
from sscard.exchange.errors import (
    ExchangeAgreementInvalid,
    ExchangeAgreementNotFound,
    ExchangeAgreementState,
    ExchangeDepartmentExists,
    ExchangeDepartmentNotFound,
    ExchangeItemNotShareable,
    ExchangeItemUnknown,
    ExchangeKeyNotFound,
    ExchangeSecretUnsafe,
    ExchangeSelfApproval,
)
from sscard.exchange.keys import SECRET_PURPOSE, key_aad
from sscard.exchange.models import (
    MODES,
    ExchangeAgreement,
    ExchangeAgreementItem,
    ExchangeDepartment,
    ExchangeItem,
    ExchangeKey,
)
from sscard.exchange.schemas import (
    AgreementIn,
    AgreementOut,
    DepartmentIn,
    DepartmentOut,
    IssuedKey,
    ItemOut,
    KeyOut,
)
from sscard.kms.sealed import seal


def _item_out(item: ExchangeItem) -> ItemOut:
    return ItemOut(code=item.code, name_zh=item.name_zh, name_en=item.name_en, sharing_class=item.sharing_class,
                   sensitivity=item.sensitivity, modes=item.mode_list(), fields=item.field_list(),
                   description=item.description)


def catalogue(db: Database, actor: Actor) -> list[ItemOut]:
    """The catalogue of shareable data items (共享目录), with sharing class, sensitivity and answer modes."""
    actor.require(Permission.EXCHANGE_READ)
    with db.unit_of_work() as session:
        return [_item_out(i) for i in session.execute(select(ExchangeItem).order_by(ExchangeItem.code)).scalars()]


def _department(session: Session, code: str, lock: bool = False) -> ExchangeDepartment:
    query = select(ExchangeDepartment).where(ExchangeDepartment.code == code)
    if lock:
        query = query.with_for_update()
    found = session.execute(query).scalar_one_or_none()
    if found is None:
        raise ExchangeDepartmentNotFound(code[:20], department=code[:20])
    return found


def create_department(db: Database, actor: Actor, data: DepartmentIn) -> DepartmentOut:
    actor.require(Permission.EXCHANGE_ADMIN)
    with db.unit_of_work() as session:
        if session.execute(select(ExchangeDepartment.id).where(ExchangeDepartment.code == data.code)).first():
            raise ExchangeDepartmentExists(data.code, department=data.code)
        dept = ExchangeDepartment(code=data.code, name=data.name, endpoint=data.endpoint, status="active",
                                  created_by=actor.username)
        session.add(dept)
        session.flush()
        audit.record(session, actor, "exchange.department.create", "exchange_department", data.code, None,
                     {"name": data.name, "endpoint": data.endpoint})
        return DepartmentOut.model_validate(dept)


def set_endpoint(db: Database, actor: Actor, code: str, endpoint: str | None) -> DepartmentOut:
    actor.require(Permission.EXCHANGE_ADMIN)
    DepartmentIn(code=code, name="-", endpoint=endpoint)  # the endpoint's shape
    with db.unit_of_work() as session:
        dept = _department(session, code, lock=True)
        before = {"endpoint": dept.endpoint}
        dept.endpoint = endpoint
        audit.record(session, actor, "exchange.department.endpoint", "exchange_department", code, before,
                     {"endpoint": endpoint})
        return DepartmentOut.model_validate(dept)


def list_departments(db: Database, actor: Actor) -> list[DepartmentOut]:
    actor.require(Permission.EXCHANGE_READ)
    with db.unit_of_work() as session:
        return [DepartmentOut.model_validate(d) for d in
                session.execute(select(ExchangeDepartment).order_by(ExchangeDepartment.code)).scalars()]


def issue_key(db: Database, actor: Actor, department: str, secret_hex: str | None = None) -> IssuedKey:
    """A new key id and secret for the department; the secret is answered this once and kept sealed under the
    KMS KEK. A chosen ``secret_hex`` (the documented demo key) is accepted in demo and dev mode only."""
    actor.require(Permission.EXCHANGE_ADMIN)
    if secret_hex is not None:
        if get_settings().mode is Mode.PRODUCTION:
            raise ExchangeSecretUnsafe("a chosen secret outside demo mode")
        try:
            secret = bytes.fromhex(secret_hex)
        except ValueError as exc:
            raise ExchangeSecretUnsafe("the secret is not hex") from exc
        if len(secret) < 16:
            raise ExchangeSecretUnsafe("the secret is shorter than 16 bytes")
    else:
        secret = os.urandom(32)
    with db.unit_of_work() as session:
        dept = _department(session, department)
        key_id = f"dk_{dept.code.lower()}_{random.token_hex(8)}"[:64]
        session.add(ExchangeKey(key_id=key_id, department_id=dept.id,
                                secret_sealed=seal(secret, SECRET_PURPOSE, key_aad(key_id)), status="active",
                                created_by=actor.username))
        audit.record(session, actor, "exchange.key.issue", "exchange_key", key_id, None, {"department": dept.code})
        return IssuedKey(key_id=key_id, department=dept.code, secret_hex=secret.hex())


def revoke_key(db: Database, actor: Actor, key_id: str) -> KeyOut:
    """From the next request on, the key signs nothing."""
    actor.require(Permission.EXCHANGE_ADMIN)
    with db.unit_of_work() as session:
        row = session.execute(select(ExchangeKey, ExchangeDepartment.code)
                              .join(ExchangeDepartment, ExchangeDepartment.id == ExchangeKey.department_id)
                              .where(ExchangeKey.key_id == key_id).with_for_update()).first()
        if row is None:
            raise ExchangeKeyNotFound(key_id[:64])
        key, code = row
        key.status, key.revoked_at = "revoked", utcnow()
        audit.record(session, actor, "exchange.key.revoke", "exchange_key", key_id, {"status": "active"},
                     {"status": "revoked"})
        return KeyOut(key_id=key.key_id, department=code, status=key.status, created_at=key.created_at)


def list_keys(db: Database, actor: Actor, department: str) -> list[KeyOut]:
    actor.require(Permission.EXCHANGE_READ)
    with db.unit_of_work() as session:
        dept = _department(session, department)
        return [KeyOut(key_id=k.key_id, department=dept.code, status=k.status, created_at=k.created_at)
                for k in session.execute(select(ExchangeKey).where(ExchangeKey.department_id == dept.id)
                                         .order_by(ExchangeKey.id)).scalars()]


def in_force(agreement: ExchangeAgreement, today: dt.date) -> bool:
    return agreement.status == "approved" and agreement.valid_from <= today <= agreement.valid_until


def _agreement_out(session: Session, agreement: ExchangeAgreement, department: str) -> AgreementOut:
    items: dict[str, list[str]] = {}
    for code, mode in session.execute(select(ExchangeAgreementItem.item_code, ExchangeAgreementItem.mode)
                                      .where(ExchangeAgreementItem.agreement_id == agreement.id)):
        items.setdefault(code, []).append(mode)
    for modes in items.values():
        modes.sort(key=MODES.index)
    return AgreementOut(agreement_no=agreement.agreement_no, department=department, items=dict(sorted(items.items())),
                        purpose=agreement.purpose, legal_basis=agreement.legal_basis,
                        valid_from=agreement.valid_from, valid_until=agreement.valid_until,
                        daily_quota=agreement.daily_quota, masking=agreement.masking, status=agreement.status,
                        requested_by=agreement.requested_by, approved_by=agreement.approved_by,
                        approved_at=agreement.approved_at, revoked_at=agreement.revoked_at, reason=agreement.reason,
                        in_force=in_force(agreement, clock.local_date()))


def request_agreement(db: Database, actor: Actor, data: AgreementIn) -> AgreementOut:
    """A department's request for an agreement (the maker's step): items and modes the catalogue allows."""
    actor.require(Permission.EXCHANGE_ADMIN)
    if data.valid_until < data.valid_from:
        raise ExchangeAgreementInvalid("valid_until is before valid_from")
    with db.unit_of_work() as session:
        dept = _department(session, data.department)
        pairs: set[tuple[str, str]] = set()
        for entry in data.items:
            item = session.get(ExchangeItem, entry.item)
            if item is None:
                raise ExchangeItemUnknown(entry.item[:40], item=entry.item[:40])
            allowed = item.mode_list()
            for mode in entry.modes:
                if item.sharing_class == "none" or mode not in allowed:
                    raise ExchangeItemNotShareable(f"{item.code} in mode {mode[:20]}", item=item.code, mode=mode[:20])
                pairs.add((item.code, mode))
        if any(mode == "subscription" for _, mode in pairs) and not dept.endpoint:
            raise ExchangeAgreementInvalid("a subscription needs the department's endpoint")
        number = session.execute(select(func.count()).select_from(ExchangeAgreement)).scalar_one() + 1
        agreement = ExchangeAgreement(
            agreement_no=f"AGR-{clock.local_date():%Y}-{number:05d}-{random.token_hex(2)}",
            department_id=dept.id, purpose=data.purpose, legal_basis=data.legal_basis, valid_from=data.valid_from,
            valid_until=data.valid_until, daily_quota=data.daily_quota, masking=data.masking, status="requested",
            requested_by=actor.username)
        session.add(agreement)
        session.flush()
        session.add_all([ExchangeAgreementItem(agreement_id=agreement.id, item_code=c, mode=m)
                         for c, m in sorted(pairs)])
        session.flush()
        out = _agreement_out(session, agreement, dept.code)
        audit.record(session, actor, "exchange.agreement.request", "exchange_agreement", agreement.agreement_no,
                     None, out.model_dump(mode="json", include={"department", "items", "purpose", "legal_basis",
                                                                "valid_from", "valid_until", "daily_quota",
                                                                "masking"}))
        return out


def _agreement(session: Session, agreement_no: str) -> tuple[ExchangeAgreement, str]:
    row = session.execute(select(ExchangeAgreement, ExchangeDepartment.code)
                          .join(ExchangeDepartment, ExchangeDepartment.id == ExchangeAgreement.department_id)
                          .where(ExchangeAgreement.agreement_no == agreement_no).with_for_update()).first()
    if row is None:
        raise ExchangeAgreementNotFound(agreement_no[:30])
    return row[0], row[1]


def approve(db: Database, actor: Actor, agreement_no: str) -> AgreementOut:
    """The checker's step: a supervisor who is not the requester; in force from the next request on."""
    actor.require(Permission.EXCHANGE_APPROVE)
    with db.unit_of_work() as session:
        agreement, code = _agreement(session, agreement_no)
        if agreement.status != "requested":
            raise ExchangeAgreementState(f"the agreement is {agreement.status}", status=agreement.status)
        if agreement.requested_by == actor.username:
            raise ExchangeSelfApproval(agreement_no)
        agreement.status, agreement.approved_by, agreement.approved_at = "approved", actor.username, utcnow()
        session.flush()
        audit.record(session, actor, "exchange.agreement.approve", "exchange_agreement", agreement_no,
                     {"status": "requested"}, {"status": "approved", "requested_by": agreement.requested_by})
        return _agreement_out(session, agreement, code)


def reject(db: Database, actor: Actor, agreement_no: str, reason: str) -> AgreementOut:
    actor.require(Permission.EXCHANGE_APPROVE)
    with db.unit_of_work() as session:
        agreement, code = _agreement(session, agreement_no)
        if agreement.status != "requested":
            raise ExchangeAgreementState(f"the agreement is {agreement.status}", status=agreement.status)
        agreement.status, agreement.reason = "rejected", reason
        session.flush()
        audit.record(session, actor, "exchange.agreement.reject", "exchange_agreement", agreement_no,
                     {"status": "requested"}, {"status": "rejected", "reason": reason})
        return _agreement_out(session, agreement, code)


def revoke(db: Database, actor: Actor, agreement_no: str, reason: str) -> AgreementOut:
    """Ends an approved agreement at once: the next request under it is refused, no event is queued for it and
    the queued ones are not delivered."""
    actor.require(Permission.EXCHANGE_APPROVE)
    with db.unit_of_work() as session:
        agreement, code = _agreement(session, agreement_no)
        if agreement.status != "approved":
            raise ExchangeAgreementState(f"the agreement is {agreement.status}", status=agreement.status)
        agreement.status, agreement.revoked_by, agreement.revoked_at = "revoked", actor.username, utcnow()
        agreement.reason = reason
        session.flush()
        audit.record(session, actor, "exchange.agreement.revoke", "exchange_agreement", agreement_no,
                     {"status": "approved"}, {"status": "revoked", "reason": reason})
        return _agreement_out(session, agreement, code)


def list_agreements(db: Database, actor: Actor, department: str | None = None,
                    status: str | None = None) -> list[AgreementOut]:
    actor.require(Permission.EXCHANGE_READ)
    with db.unit_of_work() as session:
        query = (select(ExchangeAgreement, ExchangeDepartment.code)
                 .join(ExchangeDepartment, ExchangeDepartment.id == ExchangeAgreement.department_id)
                 .order_by(ExchangeAgreement.id))
        if department is not None:
            query = query.where(ExchangeDepartment.code == department)
        if status is not None:
            query = query.where(ExchangeAgreement.status == status)
        return [_agreement_out(session, a, c) for a, c in session.execute(query).all()]


def get_agreement(db: Database, actor: Actor, agreement_no: str) -> AgreementOut:
    actor.require(Permission.EXCHANGE_READ)
    with db.unit_of_work() as session:
        agreement, code = _agreement(session, agreement_no)
        return _agreement_out(session, agreement, code)
