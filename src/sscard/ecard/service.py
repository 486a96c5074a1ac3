"""The e-card's use cases: activation, the status that follows the chip card (called by the card package inside
its own transaction: ``…_in``), the dynamic code, online verification, one-time use, the revocation list and
the published keys. The card package calls in; this package never reads card tables.

Each function checks the actor's permission (the ``…_in`` hooks run inside a card use case that did), and every
state change and read of personal data is audited.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.db import Database
from sscard.ecard import payload
from sscard.ecard.errors import (
    EcardCardNotInUse,
    EcardCodeExpired,
    EcardCodeForged,
    EcardCodeMalformed,
    EcardCodeRevoked,
    EcardCodeUsed,
    EcardFamilyInvalid,
    EcardFamilyLimit,
    EcardNotFound,
)
from sscard.ecard.models import Ecard, EcardCodeUse, EcardFamilyMember
from sscard.ecard.schemas import EcardOut, FamilyMemberOut, IssuedCode, Relation, VerifyOut, VerifyResult
from sscard.ecard.states import EDGES, CardSignal, EcardStatus
from sscard.errors import DomainError
from sscard.kms.signing import SigningKeys, default_signing_keys
from sscard.policy import service as policy
from sscard.registry import service as registry
from sscard.registry.models import Person

VALIDITY = "ecard.code_validity_seconds"
SKEW = "ecard.clock_skew_seconds"
FAMILY_MAX = "ecard.family_max"
PUBLIC_KEYS_PATH = "/.well-known/sscard/ecard-keys.json"

_RESULTS: dict[type[DomainError], VerifyResult] = {
    EcardCodeMalformed: "malformed", EcardCodeForged: "forged", EcardCodeExpired: "expired",
    EcardCodeRevoked: "revoked", EcardCodeUsed: "used",
}


def _keys(keys: SigningKeys | None) -> SigningKeys:
    return keys if keys is not None else default_signing_keys()


def _today() -> dt.date:
    return clock.local_date()


def _live_of_person(session: Session, person_id: int, lock: bool = False) -> Ecard | None:
    query = select(Ecard).where(Ecard.person_id == person_id, Ecard.status != EcardStatus.ENDED.value)
    return session.execute(query.with_for_update() if lock else query).scalar_one_or_none()


def _change(session: Session, actor: Actor, ecard: Ecard, operation: str, action: str,
            card_id: int | None = None) -> None:
    target = EDGES[operation].get(EcardStatus(ecard.status))
    if target is None:
        raise EcardCodeRevoked(f"{operation} is not allowed when the e-card is {ecard.status}")
    before = ecard.snapshot()
    if card_id is not None:
        ecard.card_id = card_id
    if ecard.snapshot() == {**before, "status": target.value}:
        return  # nothing changes: no audit record for a no-op
    ecard.status = target.value
    ecard.status_changed_at = clock.now()
    session.flush()
    audit.record(session, actor, action, "ecard", ecard.id, before, ecard.snapshot())


# ------------------------------------------------------------------------------------------ issuance and mirror


@dataclass(frozen=True, slots=True)
class CardFacts:
    """What the caller (which read the card through the card package) tells about the card."""

    card_id: int
    person_id: int
    in_use: bool


def activate_in(session: Session, actor: Actor, card: CardFacts, via: str) -> Ecard:
    """开通: the holder of a card in use gets its e-card (the same one again if it is live: idempotent)."""
    actor.require(Permission.ECARD_USE)
    actor.require_own(card.person_id)
    if not card.in_use:
        raise EcardCardNotInUse()
    live = _live_of_person(session, card.person_id, lock=True)
    if live is not None:
        if live.card_id != card.card_id:  # pragma: no cover - the card package moves it on every new card
            raise EcardCardNotInUse("the person's e-card is bound to another card")
        _change(session, actor, live, CardSignal.IN_USE.value, "ecard.resume")
        return live
    ecard = Ecard(token=secrets.token_hex(16), person_id=card.person_id, card_id=card.card_id,
                  status=EcardStatus.ACTIVE.value, activated_via=via, activated_at=clock.now(),
                  status_changed_at=clock.now())
    session.add(ecard)
    session.flush()
    audit.record(session, actor, "ecard.activate", "ecard", ecard.id, None,
                 {"status": ecard.status, "card_id": card.card_id, "via": via})
    return ecard


def follow_card_in(session: Session, actor: Actor, card_id: int, signal: CardSignal) -> None:
    """The chip card's status changed (in the caller's transaction): its e-card, if any, follows."""
    ecard = session.execute(select(Ecard).where(Ecard.card_id == card_id, Ecard.status != EcardStatus.ENDED.value)
                            .with_for_update()).scalar_one_or_none()
    if ecard is not None:
        _change(session, actor, ecard, signal.value, f"ecard.follow_{signal.value}")


def move_in(session: Session, actor: Actor, old_card_id: int, new_card_id: int) -> None:
    """A replacement or exchange card was picked up: the old card's e-card moves to it, suspended until the new
    card is activated (the holder keeps the same e-card and token)."""
    ecard = session.execute(select(Ecard).where(Ecard.card_id == old_card_id,
                                                Ecard.status != EcardStatus.ENDED.value)
                            .with_for_update()).scalar_one_or_none()
    if ecard is not None:
        _change(session, actor, ecard, "move_to_new_card", "ecard.move", card_id=new_card_id)


def status_of(db: Database, actor: Actor, person_id: int) -> EcardOut | None:
    """The person's live e-card (None if none is activated); the read is audited."""
    actor.require(Permission.ECARD_USE)
    actor.require_own(person_id)
    with db.unit_of_work() as session:
        ecard = _live_of_person(session, person_id)
        audit.record_read(session, actor, "ecard.read", "person", person_id, "e-card status")
        if ecard is None:
            return None
        return EcardOut(status=EcardStatus(ecard.status), activated_at=ecard.activated_at,
                        activated_via=ecard.activated_via)


# ---------------------------------------------------------------------------------------------------- the code


def issue_code(db: Database, actor: Actor, person_id: int, keys: SigningKeys | None = None) -> IssuedCode:
    """A fresh code for the person's active e-card (the holder's own, or a family member's the holder added),
    signed now by the bureau's key (held by the KMS)."""
    actor.require(Permission.ECARD_USE)
    ring = _keys(keys)
    with db.unit_of_work() as session:
        ecard = _live_of_person(session, person_id)
        if ecard is None or not _may_show(session, actor, ecard):
            actor.require_own(person_id)
            raise EcardNotFound()
        if EcardStatus(ecard.status) not in EDGES["issue_code"]:
            raise EcardCodeRevoked("the e-card is suspended: its card is lost or not yet activated")
        validity = policy.get_int(session, VALIDITY, _today())
        now = int(clock.now().timestamp())
        code = payload.unsigned(ring.signing_version(), bytes.fromhex(ecard.token), now, validity, os.urandom(8))
        version, signature = ring.sign(code.signed, code.key_version)
        audit.record(session, actor, "ecard.code_issued", "ecard", ecard.id, None,
                     {"key_version": version, "nonce": code.nonce_hex, "issued_at": now})
    text = payload.Code(code.version, version, code.token, now, validity, code.nonce, signature).text()
    return IssuedCode(text=text, issued_at=now, expires_at=now + validity, validity_seconds=validity,
                      key_version=version)


@dataclass(frozen=True, slots=True)
class Scanned:
    """A code that passed every check: whose e-card, on which card."""

    code: payload.Code
    ecard_id: int
    person_id: int
    card_id: int


def check_in(session: Session, text: str, keys: SigningKeys | None = None, *, spent_ok: bool = False) -> Scanned:
    """Every check of a scanned code, in the caller's transaction, without spending it: format, signature under
    a published key, time window, e-card active, not used already (unless ``spent_ok``: finding the card of a
    retried settlement, whose journal answers it)."""
    code = payload.parse(text)
    ring = _keys(keys)
    now = clock.now()
    payload.check(code, ring.public_keys(now), int(now.timestamp()), policy.get_int(session, SKEW, _today()))
    ecard = session.execute(select(Ecard).where(Ecard.token == code.token_hex)).scalar_one_or_none()
    if ecard is None or ecard.status != EcardStatus.ACTIVE.value:
        raise EcardCodeRevoked()
    if not spent_ok and session.get(EcardCodeUse, (code.token_hex, code.nonce_hex)) is not None:
        raise EcardCodeUsed()
    return Scanned(code, ecard.id, ecard.person_id, ecard.card_id)


def redeem_in(session: Session, actor: Actor, text: str, purpose: str, reference: str,
              keys: SigningKeys | None = None) -> Scanned:
    """``check_in``, then spend the code (one use: settlement) in the caller's transaction. Two concurrent uses
    of one code: the primary key lets one through and the other gets ECARD_CODE_USED."""
    scanned = check_in(session, text, keys)
    try:
        with session.begin_nested():
            session.add(EcardCodeUse(token=scanned.code.token_hex, nonce=scanned.code.nonce_hex,
                                     issued_at=scanned.code.issued_at, purpose=purpose, reference=reference[:64]))
    except IntegrityError:
        raise EcardCodeUsed() from None
    audit.record(session, actor, "ecard.code_used", "ecard", scanned.ecard_id, None,
                 {"purpose": purpose, "reference": reference[:64], "nonce": scanned.code.nonce_hex})
    return scanned


def verify(db: Database, actor: Actor, text: str, keys: SigningKeys | None = None) -> VerifyOut:
    """Online verification (``POST /api/v1/ecard/verify``): the answer names the result and its stable code;
    nothing is written but the audit record."""
    actor.require(Permission.ECARD_VERIFY)
    with db.unit_of_work() as session:
        try:
            scanned = check_in(session, text, keys)
        except tuple(_RESULTS) as exc:
            assert isinstance(exc, DomainError)
            audit.record(session, actor, "ecard.verify", "ecard_code", "-", None, {"result": _RESULTS[type(exc)]})
            return VerifyOut(result=_RESULTS[type(exc)], valid=False, code=exc.code)
        code = scanned.code
        audit.record(session, actor, "ecard.verify", "ecard", scanned.ecard_id, None,
                     {"result": "valid", "nonce": code.nonce_hex})
        return VerifyOut(result="valid", valid=True, key_version=code.key_version, issued_at=code.issued_at,
                         expires_at=code.expires_at)


def find_by_code(db: Database, actor: Actor, text: str, keys: SigningKeys | None = None) -> Person:
    """The counter scans a code to find the person (a valid code, not spent); the read is audited."""
    actor.require(Permission.ECARD_VERIFY)
    with db.unit_of_work() as session:
        scanned = check_in(session, text, keys)
        person = registry.find_by_person_id(session, scanned.person_id)
        audit.record_read(session, actor, "ecard.find", "person", scanned.person_id, "identify by e-card code",
                          nonce=scanned.code.nonce_hex)
        session.expunge(person)
        return person


# ------------------------------------------------------------------------------------------------ family members


def _may_show(session: Session, actor: Actor, ecard: Ecard) -> bool:
    """The holder's own e-card, or a family member's the holder added (operators: by permission alone)."""
    if actor.person_id is None or actor.person_id == ecard.person_id:
        return True
    return session.execute(select(EcardFamilyMember.id).where(
        EcardFamilyMember.holder_person_id == actor.person_id,
        EcardFamilyMember.member_ecard_id == ecard.id)).first() is not None


def add_family_member_in(session: Session, actor: Actor, member_person_id: int, relation: Relation,
                         consent: str) -> int:
    """亲情账户: the holder adds a relative whose e-card is live, with the consent the caller checked (how, in
    ``consent``); at most ``ecard.family_max`` per holder. Returns the audit record's sequence number."""
    actor.require(Permission.ECARD_USE)
    holder = actor.person_id
    if holder is None or holder == member_person_id:
        raise EcardFamilyInvalid("a holder adds someone else")
    member = _live_of_person(session, member_person_id)
    if member is None:
        raise EcardNotFound("the family member has no e-card")
    if EcardStatus(member.status) not in EDGES["add_family_member"]:  # pragma: no cover - live means allowed
        raise EcardCodeRevoked()
    rows = session.execute(select(EcardFamilyMember).where(EcardFamilyMember.holder_person_id == holder)
                           .with_for_update()).scalars().all()
    if any(row.member_ecard_id == member.id for row in rows):
        raise EcardFamilyInvalid("already a family member")
    if len(rows) >= policy.get_int(session, FAMILY_MAX, _today()):
        raise EcardFamilyLimit(limit=len(rows))
    row = EcardFamilyMember(holder_person_id=holder, member_ecard_id=member.id, relation=relation, consent=consent,
                            consented_at=clock.now())
    session.add(row)
    session.flush()
    return audit.record(session, actor, "ecard.family_add", "person", member_person_id, None,
                        {"holder": holder, "relation": relation, "consent": consent}).seq


def family_of(db: Database, actor: Actor) -> list[FamilyMemberOut]:
    """The family members the holder added, with their e-card's status (names masked); audited."""
    actor.require(Permission.ECARD_USE)
    if actor.person_id is None:
        return []
    with db.unit_of_work() as session:
        rows = session.execute(
            select(EcardFamilyMember, Ecard, Person).join(Ecard, Ecard.id == EcardFamilyMember.member_ecard_id)
            .join(Person, Person.id == Ecard.person_id)
            .where(EcardFamilyMember.holder_person_id == actor.person_id).order_by(EcardFamilyMember.id)).all()
        audit.record_read(session, actor, "ecard.family_read", "person", actor.person_id, "family members",
                          rows=len(rows))
        return [FamilyMemberOut(person_id=e.person_id, relation=f.relation, name_masked=registry.mask_name(p.name),
                                status=EcardStatus(e.status), consented_at=f.consented_at) for f, e, p in rows]


# ---------------------------------------------------------------------------------------- what verifiers fetch


def revocation_list(db: Database, keys: SigningKeys | None = None) -> bytes:
    """The signed list of e-card tokens whose codes must be refused (suspended or ended), for offline verifiers.
    Public: tokens are opaque and the list names no one."""
    ring = _keys(keys)
    with db.unit_of_work() as session:
        tokens = session.execute(select(Ecard.token).where(Ecard.status != EcardStatus.ACTIVE.value)).scalars()
        body = payload.crl_body(clock.now(), tokens)
    version, signature = ring.sign(body)
    return payload.crl_text(body, version, signature)


def public_keys_document(keys: SigningKeys | None = None) -> dict[str, Any]:
    """What the well-known URL publishes: every version that verifies now, with its status."""
    ring = _keys(keys)
    ring.signing_version()  # in demo mode the first key is made here, so that a verifier can fetch it first
    now = clock.now()
    return {"format": "sscard-ecard-keys/1", "algorithm": "SM2", "hash": "SM3",
            "signer_id": "1234567812345678", "code_prefix": payload.PREFIX,
            "keys": [e.public() for e in ring.entries() if e.verifies_at(now)]}

