"""Certificates a cardholder prints (参保证明 with 参保状态 and 缴费年限; 缴费清单 with the employer's and the person's
share of each month), each with a verification code that anyone can check on the public page: the code shows
nothing beyond the masked name and ID number, what the document is, and whether it is still valid.

A code is 16 characters from an alphabet without look-alikes (no 0/O, 1/I/L), about 80 bits drawn by
``secrets``; it is stored with the SHA-256 of the facts printed, so the bureau can tell a tampered printout
from its own. The facts come from the funds package (``insurance_standing``, ``contribution_history``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets

from sqlalchemy import select

from sscard import clock
from sscard.access import SYSTEM_ACTOR, Actor, Permission
from sscard.audit import service as audit
from sscard.db import Database
from sscard.funds.contributions.history import contribution_history, insurance_standing
from sscard.medical.models import Insured
from sscard.policy import service as policy
from sscard.portal.errors import CertificateKindInvalid, CertificateNotFound
from sscard.portal.models import PortalCertificate
from sscard.portal.schemas import Certificate, CertificateCheck, ContributionLine, StandingView
from sscard.registry import idnumber
from sscard.registry.models import Person
from sscard.registry.service import mask_name

KINDS = ("insured", "contributions")  # 参保证明, 缴费清单
CHANNELS = ("portal", "kiosk")
VALID_DAYS = "portal.certificate_valid_days"
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # 31 symbols, no 0 O 1 I L
CODE_LENGTH = 16
_SEPARATORS = re.compile(r"[\s\-‐-―－]")
_CODE = re.compile(f"^[{ALPHABET}]{{{CODE_LENGTH}}}$")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def grouped(code: str) -> str:
    """XXXX-XXXX-XXXX-XXXX, as printed."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def parse_code(raw: str) -> str:
    """A typed or scanned code in canonical form (spaces and dashes dropped, upper case), else
    ``CERTIFICATE_NOT_FOUND`` (a malformed code gets the answer an unknown one gets)."""
    text = _SEPARATORS.sub("", (raw or "")[:64]).upper()
    if not _CODE.match(text):
        raise CertificateNotFound()
    return text


def _lines(actor: Actor, db: Database, person_id: int, language: str) -> list[ContributionLine]:
    return [ContributionLine(period=r.period, insurance_type=r.insurance_type, source=r.source, base_fen=r.base_fen,
                             employer_fen=r.employer_fen, employee_fen=r.employee_fen, amount_fen=r.amount_fen,
                             status=r.status, failed=r.status == "failed",
                             advice=r.advice_en if language == "en" else r.advice_zh)
            for r in contribution_history(db, actor, person_id)]


def standings(db: Database, actor: Actor, person_id: int) -> list[StandingView]:
    """参保状态 per insurance type from the funds package; basic medical insurance without contribution records but
    with an enrolment in the medical package (e.g. a resident or an employee whose employer's files predate the
    system) shows as ``insured``."""
    rows = [StandingView.model_validate(s.model_dump()) for s in insurance_standing(db, actor, person_id)]
    with db.unit_of_work() as session:
        enrolled = session.get(Insured, person_id) is not None
    return [r.model_copy(update={"status": "insured"}) if r.insurance_type == "medical" and r.status == "none"
            and enrolled else r for r in rows]


def contribution_lines(db: Database, actor: Actor, language: str = "zh_CN") -> list[ContributionLine]:
    """缴费记录 of the cardholder with the 单位/个人 split (the funds package audits the read)."""
    actor.require(Permission.PORTAL_SELF)
    assert actor.person_id is not None
    return _lines(actor, db, actor.person_id, language)


def issue(db: Database, actor: Actor, kind: str, channel: str = "portal", language: str = "zh_CN") -> Certificate:
    """Issue a 参保证明 (``insured``) or 缴费清单 (``contributions``) for the cardholder: the facts as of now, a new
    verification code valid for ``portal.certificate_valid_days``; audited as ``portal.certificate_issue``."""
    actor.require(Permission.PORTAL_SELF)
    if kind not in KINDS or channel not in CHANNELS:
        raise CertificateKindInvalid(f"{kind}/{channel}")
    person_id = actor.person_id
    assert person_id is not None
    actor.require_own(person_id)
    rows = standings(db, actor, person_id)
    lines = _lines(actor, db, person_id, language) if kind == "contributions" else []
    with db.unit_of_work() as session:
        person = session.get_one(Person, person_id)
        now = clock.now()
        today = clock.local_date()
        valid_until = today + dt.timedelta(days=policy.get_int(session, VALID_DAYS, today))
        code = new_code()
        cert = Certificate(code=grouped(code), kind=kind, name=person.name, id_masked=idnumber.mask(person.id_number),
                           issued_at=now, valid_until=valid_until, standings=rows, lines=lines)
        facts = json.dumps(cert.model_dump(mode="json"), ensure_ascii=False, sort_keys=True).encode()
        row = PortalCertificate(code=code, person_id=person_id, kind=kind, channel=channel, issued_at=now,
                                valid_until=valid_until, facts_sha256=hashlib.sha256(facts).hexdigest())
        session.add(row)
        session.flush()
        audit.record(session, actor, "portal.certificate_issue", "person", person_id, None,
                     {"kind": kind, "channel": channel, "certificate_id": row.id,
                      "valid_until": valid_until.isoformat()})
        return cert


def verify(db: Database, raw_code: str) -> CertificateCheck:
    """The public check of a verification code (no login): masked name and ID, kind, dates, and whether it is still
    valid today. Each check is audited (the holder's certificate was looked at)."""
    code = parse_code(raw_code)
    with db.unit_of_work() as session:
        found = session.execute(select(PortalCertificate, Person).join(Person, Person.id == PortalCertificate.person_id)
                                .where(PortalCertificate.code == code)).first()
        if found is None:
            raise CertificateNotFound()
        cert, person = found
        today = clock.local_date()
        audit.record(session, SYSTEM_ACTOR, "portal.certificate_verify", "person", cert.person_id, None,
                     {"certificate_id": cert.id})
        return CertificateCheck(kind=cert.kind, name_masked=mask_name(person.name),
                                id_masked=idnumber.mask(person.id_number),
                                issued_on=clock.local_date(cert.issued_at), valid_until=cert.valid_until,
                                valid=today <= cert.valid_until)
