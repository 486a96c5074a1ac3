"""The holder's consent: grants given with the card and the PIN at a hospital's terminal, break-the-glass
grants (a mandatory reason, flagged for review), revocation and sensitive-category opt-ins in the portal, and
what the holder sees (who looked, which grants).

A grant is for one institution and one patient, for ``health.grant_minutes`` (``health.emergency_minutes`` for
break-the-glass). ``method`` names how the holder was there; a scanned e-card code is a further method that
calls ``_open_grant`` the same way once the e-card's verification exists."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.cards.pins import verify_pin_at_settlement
from sscard.db import Database, utcnow
from sscard.health import profile
from sscard.health.errors import (
    CardProofReplayed,
    CategoryUnknown,
    EmergencyReasonRequired,
    GrantUnknown,
    PinRefused,
    SensitivePolicyInvalid,
)
from sscard.health.icd import CATEGORY
from sscard.health.models import HealthGrant, HealthOptIn, HealthPatient, HealthRead, HealthSensitivePolicy
from sscard.health.records import categories_on, holder_of, opted_in, patient_for
from sscard.health.service import check_operator, grant_window, require_hospital
from sscard.medical.errors import CardPresenceRequired
from sscard.medical.institutions import InstitutionPrincipal, check_key
from sscard.medical.models import Institution
from sscard.medical.presence import Proof, Verifier
from sscard.policy import service as policy
from sscard.policy.errors import PolicyBackdated

CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
REASON_MIN, REASON_MAX = 10, 500


@dataclass(frozen=True, slots=True)
class GrantView:
    grant_id: str
    institution_code: str
    operator: str
    method: str
    purpose: str
    reason: str | None
    granted_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    needs_review: bool

    def state(self, now: dt.datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "active"


def _view(g: HealthGrant) -> GrantView:
    return GrantView(g.grant_id, g.institution_code, g.operator, g.method, g.purpose, g.reason, g.granted_at,
                     g.expires_at, g.revoked_at, g.needs_review)


def consent_resource(grant: HealthGrant, pseudonym: str) -> dict[str, Any]:
    """The grant as FHIR ``Consent``: a permit for the institution, for the grant's period and purpose."""
    institution = {"identifier": {"system": profile.INSTITUTION_SYSTEM, "value": grant.institution_code}}
    rule = ({"text": "break-the-glass: " + (grant.reason or "")} if grant.method == "emergency"
            else {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTIN"}]})
    return {
        "resourceType": "Consent", "id": grant.grant_id,
        "status": "active" if grant.revoked_at is None else "inactive",
        "scope": {"coding": [{"system": CONSENT_SCOPE, "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}]}],
        "patient": {"reference": f"Patient/{pseudonym}"},
        "dateTime": profile.stamp(grant.granted_at),
        "organization": [institution],
        "policyRule": rule,
        "provision": {
            "type": "permit",
            "period": {"start": profile.stamp(grant.granted_at), "end": profile.stamp(grant.expires_at)},
            "actor": [{"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                            "code": "IRCP"}]}, "reference": institution}],
            "purpose": [{"system": ACT_REASON, "code": grant.purpose}],
        },
    }


def _open_grant(session: Session, principal: InstitutionPrincipal, patient: HealthPatient, operator: str,
                method: str, purpose: str, minutes_parameter: str, card_no: str | None = None,
                atc: int | None = None, reason: str | None = None) -> HealthGrant:
    now = utcnow()
    minutes = policy.get_int(session, minutes_parameter, clock.local_date())
    grant = HealthGrant(grant_id=secrets.token_hex(16), patient_id=patient.id, institution_code=principal.code,
                        operator=operator, method=method, purpose=purpose, reason=reason, card_no=card_no,
                        presence_atc=atc, granted_at=now, expires_at=grant_window(now, minutes),
                        needs_review=method == "emergency")
    session.add(grant)
    try:
        session.flush()
    except IntegrityError:
        raise CardProofReplayed() from None
    audit.record(session, principal.actor, f"health.grant.{method}", "health_patient", patient.pseudonym, None,
                 {"grant": grant.grant_id, "institution": principal.code, "operator": operator, "purpose": purpose,
                  "minutes": minutes, "reason": reason})
    return grant


def grant_by_card(db: Database, principal: InstitutionPrincipal, card_no: str, operator: str | None,
                  proof: Proof | None, pin: str | None, verifier: Verifier) -> dict[str, Any]:
    """The holder's card in the hospital's terminal (its ARQC over the request body) and the holder's PIN: a
    grant for this hospital. The cryptogram is checked first (no PIN try is spent on a wrong card or a replayed
    request); a wrong PIN is counted towards the card's lock even though no grant is given."""
    require_hospital(principal)
    who = check_operator(operator)
    if proof is None or proof.method != "arqc":
        raise CardPresenceRequired("send the card's cryptogram over this body (X-Card-Presence, method=arqc)",
                                   accepted="arqc")
    if not pin:
        raise PinRefused("the holder's PIN is required (X-Card-Pin)")
    verifier.check_arqc(card_no, proof, clock.local_date())
    check = verify_pin_at_settlement(db, principal.actor, card_no, pin)
    if not check.ok:
        raise PinRefused(remaining_tries=check.remaining_tries, locked=check.locked)
    with db.unit_of_work() as session:
        check_key(session, principal)
        person_id, _, division = holder_of(session, card_no)
        patient = patient_for(session, person_id, division)
        grant = _open_grant(session, principal, patient, who, "card_pin", "TREAT", "health.grant_minutes",
                            card_no=card_no, atc=proof.atc)
        return consent_resource(grant, patient.pseudonym)


def grant_emergency(db: Database, principal: InstitutionPrincipal, card_no: str, operator: str | None,
                    reason: str | None) -> dict[str, Any]:
    """Break-the-glass (紧急查阅): no holder able to consent; a reason is mandatory, the grant is short, flagged
    for review and shown to the holder like any other."""
    require_hospital(principal)
    who = check_operator(operator)
    text = (reason or "").strip()
    if not REASON_MIN <= len(text) <= REASON_MAX:
        raise EmergencyReasonRequired()
    with db.unit_of_work() as session:
        check_key(session, principal)
        person_id, _, division = holder_of(session, card_no)
        patient = patient_for(session, person_id, division)
        grant = _open_grant(session, principal, patient, who, "emergency", "ETREAT", "health.emergency_minutes",
                            reason=text)
        return consent_resource(grant, patient.pseudonym)


# ------------------------------------------------------------------------------------------------ the holder


@dataclass(frozen=True, slots=True)
class ReadView:
    at: dt.datetime
    institution_code: str
    operator: str
    purpose: str
    resource_type: str
    entries: int
    grant_id: str


@dataclass(frozen=True, slots=True)
class CategoryView:
    name: str
    label_zh: str
    label_en: str
    opted_in: bool


@dataclass(frozen=True, slots=True)
class HolderOverview:
    grants: list[GrantView]
    reads: list[ReadView]
    categories: list[CategoryView]
    institution_names: dict[str, str]  # code → name of every institution the grants and reads name

    def institution(self, code: str) -> str:
        """What the holder is shown for an institution: its name (the code only if it is not registered)."""
        return self.institution_names.get(code, code)


def _patient_of(session: Session, person_id: int) -> HealthPatient | None:
    return session.execute(select(HealthPatient).where(HealthPatient.person_id == person_id)).scalar_one_or_none()


def holder_overview(db: Database, actor: Actor, person_id: int, limit: int = 100) -> HolderOverview:
    """What the holder sees: every grant (newest first), who read the index under which grant, and the sensitive
    categories with their opt-in. Audited as the holder's own read."""
    actor.require(Permission.PORTAL_SELF)
    actor.require_own(person_id)
    with db.unit_of_work() as session:
        patient = _patient_of(session, person_id)
        grants: list[GrantView] = []
        reads: list[ReadView] = []
        if patient is not None:
            grants = [_view(g) for g in session.execute(
                select(HealthGrant).where(HealthGrant.patient_id == patient.id)
                .order_by(HealthGrant.id.desc()).limit(limit)).scalars()]
            reads = [ReadView(r.at, r.institution_code, r.operator, r.purpose, r.resource_type, r.entries, gid)
                     for r, gid in session.execute(
                         select(HealthRead, HealthGrant.grant_id)
                         .join(HealthGrant, HealthGrant.id == HealthRead.grant_id)
                         .where(HealthRead.patient_id == patient.id).order_by(HealthRead.id.desc()).limit(limit))]
        chosen = opted_in(session, person_id)
        categories = [CategoryView(c.name, c.label_zh, c.label_en, c.name in chosen)
                      for c in categories_on(session, clock.local_date())]
        codes = {g.institution_code for g in grants} | {r.institution_code for r in reads}
        names = {code: name for code, name in session.execute(
            select(Institution.code, Institution.name).where(Institution.code.in_(codes)))} if codes else {}
        audit.record_read(session, actor, "health.portal.read", "person", person_id, purpose="portal.health",
                          grants=len(grants), reads=len(reads))
        return HolderOverview(grants, reads, categories, names)


def revoke(db: Database, actor: Actor, person_id: int, grant_id: str) -> GrantView:
    """The holder withdraws a grant: from the next request on, the institution reads nothing with it."""
    actor.require(Permission.PORTAL_SELF)
    actor.require_own(person_id)
    with db.unit_of_work() as session:
        patient = _patient_of(session, person_id)
        grant = session.execute(select(HealthGrant).where(HealthGrant.grant_id == grant_id[:64])).scalar_one_or_none()
        if patient is None or grant is None or grant.patient_id != patient.id:
            raise GrantUnknown()
        if grant.revoked_at is None:
            grant.revoked_at = utcnow()
            audit.record(session, actor, "health.grant.revoke", "health_patient", patient.pseudonym, None,
                         {"grant": grant.grant_id, "institution": grant.institution_code})
        return _view(grant)


def set_opt_in(db: Database, actor: Actor, person_id: int, category: str, show: bool) -> None:
    """Show (``show``) or hide again the holder's entries of a sensitive category to institutions they grant."""
    actor.require(Permission.PORTAL_SELF)
    actor.require_own(person_id)
    with db.unit_of_work() as session:
        if category not in {c.name for c in categories_on(session, clock.local_date())}:
            raise CategoryUnknown(category=category[:40])
        row = session.get(HealthOptIn, (person_id, category))
        if show and row is None:
            session.add(HealthOptIn(person_id=person_id, category=category))
        elif not show and row is not None:
            session.delete(row)
        else:
            return
        audit.record(session, actor, "health.opt_in" if show else "health.opt_out", "person", person_id, None,
                     {"category": category})


# ------------------------------------------------------------------------------- review and the policy list


def emergency_grants(db: Database, actor: Actor, unreviewed_only: bool = True) -> list[GrantView]:
    """Break-the-glass grants for review (newest first)."""
    actor.require(Permission.HEALTH_REVIEW)
    with db.unit_of_work() as session:
        query = select(HealthGrant).where(HealthGrant.method == "emergency")
        if unreviewed_only:
            query = query.where(HealthGrant.needs_review.is_(True))
        found = [_view(g) for g in session.execute(query.order_by(HealthGrant.id.desc()).limit(500)).scalars()]
        audit.record_read(session, actor, "health.emergency.list", "health_grant", "*", purpose="review",
                          count=len(found))
        return found


def review_emergency(db: Database, actor: Actor, grant_id: str) -> GrantView:
    actor.require(Permission.HEALTH_REVIEW)
    with db.unit_of_work() as session:
        grant = session.execute(select(HealthGrant).where(HealthGrant.grant_id == grant_id[:64],
                                                          HealthGrant.method == "emergency")).scalar_one_or_none()
        if grant is None:
            raise GrantUnknown()
        if grant.needs_review:
            grant.needs_review, grant.reviewed_by, grant.reviewed_at = False, actor.username, utcnow()
            audit.record(session, actor, "health.emergency.review", "health_grant", grant.grant_id,
                         {"needs_review": True}, {"needs_review": False})
        return _view(grant)


def check_categories(categories: Any) -> str:
    """The policy list as stored: ``[{"name", "label_zh", "label_en", "ranges": [["F00", "F99"], …]}, …]``."""
    if not isinstance(categories, list) or not categories:
        raise SensitivePolicyInvalid("a non-empty list of categories")
    names: set[str] = set()
    clean = []
    for c in categories:
        if not isinstance(c, dict) or set(c) != {"name", "label_zh", "label_en", "ranges"}:
            raise SensitivePolicyInvalid("each category has name, label_zh, label_en and ranges")
        name, ranges = c["name"], c["ranges"]
        if not isinstance(name, str) or not 1 <= len(name) <= 40 or name in names or not name.isascii():
            raise SensitivePolicyInvalid("names: unique, 1 to 40 ASCII characters")
        if not all(isinstance(c[k], str) and 1 <= len(c[k]) <= 100 for k in ("label_zh", "label_en")):
            raise SensitivePolicyInvalid("labels: 1 to 100 characters")
        if not isinstance(ranges, list) or not ranges or not all(
                isinstance(r, list) and len(r) == 2 and all(isinstance(x, str) and CATEGORY.match(x) for x in r)
                and r[0] <= r[1] for r in ranges):
            raise SensitivePolicyInvalid("ranges: [[from, to], …] of three-character ICD-10 categories, from ≤ to")
        names.add(name)
        clean.append({"name": name, "label_zh": c["label_zh"], "label_en": c["label_en"], "ranges": ranges})
    return json.dumps(clean, ensure_ascii=False, separators=(",", ":"))


def set_sensitive_categories(db: Database, actor: Actor, categories: Any, effective_from: dt.date) -> int:
    """A new list of sensitive categories from ``effective_from`` (today or later; a later version of the same
    date replaces an earlier one); returns its version."""
    actor.require(Permission.POLICY_ADMIN)
    text = check_categories(categories)
    if effective_from < clock.local_date():
        raise PolicyBackdated(f"effective_from {effective_from.isoformat()} is before today")
    with db.unit_of_work() as session:
        latest = session.execute(select(HealthSensitivePolicy.version)
                                 .where(HealthSensitivePolicy.effective_from == effective_from)
                                 .order_by(HealthSensitivePolicy.version.desc()).limit(1)).scalar_one_or_none()
        version = (latest or 0) + 1
        session.add(HealthSensitivePolicy(effective_from=effective_from, version=version, categories=text,
                                          created_by=actor.username))
        audit.record(session, actor, "health.sensitive.set", "health_sensitive_policy",
                     f"{effective_from.isoformat()}/{version}", None, {"categories": json.loads(text)})
        return version
