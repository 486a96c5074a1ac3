"""The health index end to end on both databases: hospital A publishes; hospital B without a grant gets nothing,
with the holder's card + PIN through the terminal gets the index; sensitive entries stay hidden until the holder
opts in; break-the-glass is audited and flagged; every read is audited and shown to the holder."""

from __future__ import annotations

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.consent import Consent
from fhir.resources.R4B.documentreference import DocumentReference
from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.operationoutcome import OperationOutcome
from sqlalchemy import func, select

from health.index_world import (
    OPERATOR,
    document_body,
    encounter_body,
    grant,
    grant_response,
    outcome_code,
    post,
    publish,
    search,
)
from medical.world import Hospital, NewId, insured_person
from sscard.access import Actor, Role
from sscard.audit.models import AuditRecord
from sscard.cards.models import Card
from sscard.health import consent
from sscard.health.models import HealthGrant, HealthRead
from support.city import City


def holder(who_person_id: int) -> Actor:
    return Actor(operator_id=None, username="holder", role=Role.CARDHOLDER, person_id=who_person_id)


def _codes(bundle: dict[str, object]) -> list[str]:
    return [e["resource"]["reasonCode"][0]["coding"][0]["code"] for e in bundle.get("entry", [])]  # type: ignore[attr-defined,index]


def test_a_publishes_b_without_a_grant_gets_nothing_with_card_and_pin_gets_the_index(
        city: City, hospital_a: Hospital, hospital_b: Hospital, new_id: NewId) -> None:
    who = insured_person(city, new_id)
    encounter = publish(hospital_a, encounter_body(who))
    Encounter.model_validate(encounter)
    assert encounter["subject"]["reference"].startswith("Patient/")
    assert who.card_no not in str(encounter) and who.id_number not in str(encounter)  # the index names nobody
    document = publish(hospital_a, document_body(encounter["id"]))
    DocumentReference.model_validate(document)
    patient = encounter["subject"]["reference"].removeprefix("Patient/")

    refused = search(hospital_b, "Encounter", patient, None)
    assert refused.status_code == 403 and outcome_code(refused) == "HEALTH_GRANT_REQUIRED"
    OperationOutcome.model_validate(refused.json())
    assert "entry" not in refused.text

    granted = grant_response(hospital_b, who)
    assert granted.status_code == 201, granted.text
    Consent.model_validate(granted.json())
    grant_id = granted.json()["id"]
    assert granted.json()["patient"]["reference"] == f"Patient/{patient}"

    found = search(hospital_b, "Encounter", patient, grant_id)
    assert found.status_code == 200 and found.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate(found.json())
    assert bundle.type == "searchset" and bundle.total == 1
    assert found.json()["entry"][0]["resource"] == encounter
    docs = search(hospital_b, "DocumentReference", f"Patient/{patient}", grant_id).json()
    assert docs["total"] == 1 and docs["entry"][0]["resource"]["content"][0]["attachment"]["url"] == \
        "https://emr.hospital-a.example/documents/4711"

    # Every read is audited (institution, operator, grant, purpose) and logged for the holder.
    with city.db.unit_of_work() as s:
        reads = s.execute(select(HealthRead).join(HealthGrant, HealthGrant.id == HealthRead.grant_id)
                          .where(HealthGrant.grant_id == grant_id)).scalars().all()
        assert [(r.institution_code, r.operator, r.purpose, r.resource_type, r.entries) for r in reads] == [
            (hospital_b.code, OPERATOR, "TREAT", "Encounter", 1), (hospital_b.code, OPERATOR, "TREAT",
                                                                   "DocumentReference", 1)]
        audited = s.execute(select(AuditRecord.after).where(AuditRecord.action == "health.index.read",
                                                            AuditRecord.entity_id == patient)).scalars().all()
        assert len(audited) == 2 and all(grant_id in a and hospital_b.code in a and OPERATOR in a for a in audited)
    overview = consent.holder_overview(city.db, holder(who.person_id), who.person_id)
    assert [(r.institution_code, r.resource_type) for r in overview.reads] == [
        (hospital_b.code, "DocumentReference"), (hospital_b.code, "Encounter")]
    assert [g.state(g.granted_at) for g in overview.grants] == ["active"]


def test_a_sensitive_entry_stays_hidden_until_the_holder_opts_in(
        city: City, hospital_a: Hospital, hospital_b: Hospital, new_id: NewId) -> None:
    who = insured_person(city, new_id)
    publish(hospital_a, encounter_body(who, code="J18.9"))
    hidden = publish(hospital_a, encounter_body(who, code="F32.0"))  # mental health: sensitive by the policy list
    publish(hospital_a, document_body(hidden["id"]))
    grant_id, patient = grant(hospital_b, who)
    assert _codes(search(hospital_b, "Encounter", patient, grant_id).json()) == ["J18.9"]
    assert search(hospital_b, "DocumentReference", patient, grant_id).json()["total"] == 0

    consent.set_opt_in(city.db, holder(who.person_id), who.person_id, "mental_health", True)
    assert sorted(_codes(search(hospital_b, "Encounter", patient, grant_id).json())) == ["F32.0", "J18.9"]
    assert search(hospital_b, "DocumentReference", patient, grant_id).json()["total"] == 1

    consent.set_opt_in(city.db, holder(who.person_id), who.person_id, "mental_health", False)
    assert _codes(search(hospital_b, "Encounter", patient, grant_id).json()) == ["J18.9"]


def test_break_the_glass_needs_a_reason_is_audited_and_flagged_for_review(
        city: City, hospital_a: Hospital, hospital_b: Hospital, new_id: NewId) -> None:
    who = insured_person(city, new_id)
    publish(hospital_a, encounter_body(who, kind="emergency", klass="EMER"))
    headers = {"X-Health-Operator": OPERATOR}
    short = post(hospital_b, "$break-glass", {"card_no": who.card_no, "reason": "urgent"}, headers)
    assert short.status_code == 422 and outcome_code(short) == "HEALTH_EMERGENCY_REASON_REQUIRED"
    reason = "unconscious after a road accident, allergies unknown"
    opened = post(hospital_b, "$break-glass", {"card_no": who.card_no, "reason": reason}, headers)
    assert opened.status_code == 201, opened.text
    Consent.model_validate(opened.json())
    grant_id = opened.json()["id"]
    patient = opened.json()["patient"]["reference"].removeprefix("Patient/")
    assert opened.json()["provision"]["purpose"][0]["code"] == "ETREAT"
    assert search(hospital_b, "Encounter", patient, grant_id).json()["total"] == 1
    with city.db.unit_of_work() as s:
        opened_audit = s.execute(select(AuditRecord.after).where(AuditRecord.action == "health.grant.emergency",
                                                                 AuditRecord.entity_id == patient)).scalar_one()
        assert reason in opened_audit and hospital_b.code in opened_audit
        read_audit = s.execute(select(AuditRecord.after).where(AuditRecord.action == "health.index.read",
                                                               AuditRecord.entity_id == patient)).scalar_one()
        assert '"purpose":"ETREAT"' in read_audit.replace(" ", "") and '"method":"emergency"' in \
            read_audit.replace(" ", "")
    pending = {g.grant_id: g for g in consent.emergency_grants(city.db, city.admin)}
    assert pending[grant_id].needs_review and pending[grant_id].reason == reason
    assert not consent.review_emergency(city.db, city.admin, grant_id).needs_review
    assert grant_id not in {g.grant_id for g in consent.emergency_grants(city.db, city.admin)}
    overview = consent.holder_overview(city.db, holder(who.person_id), who.person_id)
    assert [(g.method, g.reason) for g in overview.grants] == [("emergency", reason)]


def test_a_grant_is_for_one_institution_and_ends_when_revoked(
        city: City, hospital_a: Hospital, hospital_b: Hospital, new_id: NewId) -> None:
    who = insured_person(city, new_id)
    publish(hospital_a, encounter_body(who))
    grant_id, patient = grant(hospital_b, who)
    other = search(hospital_a, "Encounter", patient, grant_id)
    assert other.status_code == 403 and outcome_code(other) == "HEALTH_GRANT_OTHER_INSTITUTION"
    someone_else = insured_person(city, new_id)
    their_grant, their_patient = grant(hospital_b, someone_else)
    crossed = search(hospital_b, "Encounter", patient, their_grant)
    assert outcome_code(crossed) == "HEALTH_GRANT_OTHER_PATIENT"
    unknown = search(hospital_b, "Encounter", patient, "0" * 32)
    assert outcome_code(unknown) == "HEALTH_GRANT_UNKNOWN"

    consent.revoke(city.db, holder(who.person_id), who.person_id, grant_id)
    revoked = search(hospital_b, "Encounter", patient, grant_id)
    assert revoked.status_code == 403 and outcome_code(revoked) == "HEALTH_GRANT_REVOKED"
    assert search(hospital_b, "Encounter", their_patient, their_grant).status_code == 200


def test_an_expired_grant_reads_nothing(city: City, hospital_a: Hospital, hospital_b: Hospital,
                                        new_id: NewId) -> None:
    import time_machine

    who = insured_person(city, new_id)
    publish(hospital_a, encounter_body(who))
    grant_id, patient = grant(hospital_b, who)
    with city.db.unit_of_work() as s:
        expires = s.execute(select(HealthGrant.expires_at).where(HealthGrant.grant_id == grant_id)).scalar_one()
    with time_machine.travel(expires, tick=False):
        expired = search(hospital_b, "Encounter", patient, grant_id)
    assert expired.status_code == 403 and outcome_code(expired) == "HEALTH_GRANT_EXPIRED"


def test_a_wrong_pin_gives_no_grant_and_counts_a_card_without_its_cryptogram_gives_none(
        city: City, hospital_b: Hospital, new_id: NewId) -> None:
    who = insured_person(city, new_id)
    wrong = grant_response(hospital_b, who, pin="000000")
    assert wrong.status_code == 403 and outcome_code(wrong) == "HEALTH_PIN_WRONG"
    no_card = grant_response(hospital_b, who, card=False)
    assert outcome_code(no_card) == "CARD_PRESENCE_REQUIRED"
    with city.db.unit_of_work() as s:
        assert s.execute(select(Card.pin_failures).where(Card.card_no == who.card_no)).scalar_one() == 1
        assert s.execute(select(func.count()).select_from(HealthGrant)
                         .where(HealthGrant.card_no == who.card_no)).scalar_one() == 0


def test_a_card_cryptogram_grants_once(city: City, hospital_b: Hospital, new_id: NewId) -> None:
    from medical import world
    from sscard import clock
    from sscard.medical import presence

    who = insured_person(city, new_id)
    assert who.card_no is not None
    body = b'{"card_no":"%s","nonce":"once"}' % who.card_no.encode()
    headers = {"X-Health-Operator": OPERATOR, "X-Card-Pin": world.PIN,
               presence.HEADER: world.presence_header(who.card_no, body, clock.local_date())}
    assert post(hospital_b, "$grant", body, headers).status_code == 201
    again = post(hospital_b, "$grant", body, headers)
    assert again.status_code == 409 and outcome_code(again) == "HEALTH_CARD_PROOF_REPLAYED"
    other = b'{"card_no":"%s","nonce":"other"}' % who.card_no.encode()
    moved = post(hospital_b, "$grant", other, headers)  # the cryptogram covers the body it was made for
    assert moved.status_code == 422 and outcome_code(moved) == "CARD_PRESENCE_INVALID"


def test_a_pharmacy_neither_publishes_nor_reads(city: City, client: object, new_id: NewId) -> None:
    from medical.world import new_hospital

    pharmacy = new_hospital(city, client, level=None, kind="pharmacy", services=("pharmacy",))  # type: ignore[arg-type]
    who = insured_person(city, new_id)
    refused = post(pharmacy, "Encounter", encounter_body(who))
    assert refused.status_code == 403 and outcome_code(refused) == "HEALTH_INSTITUTION_NOT_HOSPITAL"
