"""Registrations: 求职登记 and 失业登记 open and close with a reason and a date; one open registration of each
kind per person, kept by the database too; retries with a key answer the first result; a cardholder registers
only themself; every change is audited with masked identifiers; the state machine decides what is allowed."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from sscard import clock
from sscard.access import Actor, PermissionDenied, Role
from sscard.audit.models import AuditRecord
from sscard.employment import service
from sscard.employment.errors import (
    AlreadyRegistered,
    IdempotencyMismatch,
    RegistrationInvalid,
    RegistrationState,
)
from sscard.employment.models import Registration
from sscard.employment.schemas import CloseIn, RegistrationIn
from sscard.employment.states import (
    REGISTRATION_OPS,
    CloseReason,
    RegistrationKind,
    RegistrationOp,
    RegistrationStatus,
    registration_allows,
)
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.city import City
from support.factories import next_id_number


def _person(city: City, name: str = "王就业") -> tuple[int, str]:
    number = next_id_number()
    person = registry.register(city.db, city.admin, PersonIn(id_number=number, name=name, region_code="441802"))
    return person.id, number


def _holder(person_id: int) -> Actor:
    return Actor(operator_id=None, username=f"card:{person_id}", role=Role.CARDHOLDER, person_id=person_id)


def test_the_state_table_is_as_written() -> None:
    assert {
        RegistrationStatus.OPEN: {RegistrationOp.CLOSE, RegistrationOp.OPEN_BENEFIT},
        RegistrationStatus.CLOSED: {RegistrationOp.PROPOSE_SUBSIDY},
    } == REGISTRATION_OPS
    assert not registration_allows("closed", RegistrationOp.CLOSE)
    assert not registration_allows("open", RegistrationOp.PROPOSE_SUBSIDY)


def test_one_open_unemployment_registration_per_person_and_a_job_seeker_one_beside_it(city: City) -> None:
    _, number = _person(city)
    first = service.register(city.db, city.counter, RegistrationIn(id_number=number, kind="unemployment"))
    assert (first.status, first.registered_on, first.channel) == ("open", clock.local_date(), "counter")
    assert first.id_number_masked == number[:4] + "*" * 10 + number[-4:]
    with pytest.raises(AlreadyRegistered):
        service.register(city.db, city.other_counter, RegistrationIn(id_number=number, kind="unemployment"))
    seeker = service.register(city.db, city.counter, RegistrationIn(id_number=number, kind="job_seeker"))
    assert seeker.kind == "job_seeker"
    closed = service.close_registration(city.db, city.counter, first.id, CloseIn(reason=CloseReason.REEMPLOYED))
    assert (closed.status, closed.closed_on, closed.close_reason) == ("closed", clock.local_date(), "reemployed")
    again = service.register(city.db, city.counter, RegistrationIn(id_number=number, kind="unemployment"))
    assert again.id != first.id and again.status == "open"


def test_the_database_refuses_a_second_open_registration_of_a_kind(city: City) -> None:
    person_id, number = _person(city)
    service.register(city.db, city.counter, RegistrationIn(id_number=number, kind="unemployment"))
    with pytest.raises(IntegrityError), city.db.unit_of_work() as s:
        s.add(Registration(person_id=person_id, kind="unemployment", status="open", registered_on=clock.local_date(),
                           channel="counter", created_by="sql"))
        s.flush()
    with pytest.raises(IntegrityError), city.db.unit_of_work() as s:  # closed needs its date and reason
        s.execute(update(Registration).where(Registration.person_id == person_id).values(status="closed"))


def test_dates_are_never_in_the_future_and_a_close_is_not_before_the_registration(city: City) -> None:
    _, number = _person(city)
    tomorrow = clock.local_date() + dt.timedelta(days=1)
    with pytest.raises(RegistrationInvalid):
        service.register(city.db, city.counter, RegistrationIn(id_number=number, kind="job_seeker",
                                                               registered_on=tomorrow))
    three_days_ago = clock.local_date() - dt.timedelta(days=3)
    reg = service.register(city.db, city.counter, RegistrationIn(id_number=number, kind="job_seeker",
                                                                 registered_on=three_days_ago))
    with pytest.raises(RegistrationInvalid):
        service.close_registration(city.db, city.counter, reg.id, CloseIn(
            reason="studying", closed_on=clock.local_date() - dt.timedelta(days=4)))
    service.close_registration(city.db, city.counter, reg.id, CloseIn(reason="studying"))
    with pytest.raises(RegistrationState):
        service.close_registration(city.db, city.counter, reg.id, CloseIn(reason="studying"))


def test_a_retry_with_the_same_key_answers_the_first_registration(city: City) -> None:
    _, number = _person(city)
    data = RegistrationIn(id_number=number, kind="unemployment")
    first = service.register(city.db, city.counter, data, idempotency_key="reg-retry-1")
    assert service.register(city.db, city.counter, data, idempotency_key="reg-retry-1") == first
    with pytest.raises(IdempotencyMismatch):
        service.register(city.db, city.counter, RegistrationIn(id_number=number, kind="job_seeker"),
                         idempotency_key="reg-retry-1")


def test_a_cardholder_registers_only_themself_at_the_kiosk_and_reads_only_their_own(city: City) -> None:
    person_id, number = _person(city)
    other_id, _ = _person(city, "李他人")
    me = _holder(person_id)
    reg = service.register_own(city.db, me, RegistrationKind.UNEMPLOYMENT, channel="kiosk")
    assert (reg.person_id, reg.channel) == (person_id, "kiosk")
    with pytest.raises(PermissionDenied):
        service.register(city.db, me, RegistrationIn(id_number=number, kind="job_seeker"))
    with pytest.raises(PermissionDenied):
        service.registrations_of(city.db, me, other_id)
    with pytest.raises(PermissionDenied):  # closing (and its benefit) is the counter's
        service.close_registration(city.db, me, reg.id, CloseIn(reason="reemployed"))
    assert [r.id for r in service.registrations_of(city.db, me, person_id)] == [reg.id]


def test_every_change_and_read_is_audited_with_masked_identifiers(city: City) -> None:
    _, number = _person(city)
    reg = service.register(city.db, city.counter, RegistrationIn(id_number=number, kind="unemployment"))
    service.close_registration(city.db, city.counter, reg.id, CloseIn(reason="enlisted"))
    service.registrations_by_id_number(city.db, city.supervisor, number)
    with city.db.unit_of_work() as s:
        rows = list(s.execute(select(AuditRecord).where(AuditRecord.entity_type == "employment_registration",
                                                        AuditRecord.entity_id == str(reg.id))
                              .order_by(AuditRecord.seq)).scalars())
        reads = list(s.execute(select(AuditRecord.action).where(
            AuditRecord.action == "employment.registrations_read", AuditRecord.entity_id == str(reg.person_id))))
    assert [r.action for r in rows] == ["employment.register", "employment.close"]
    assert json.loads(rows[1].before)["status"] == "open"
    assert json.loads(rows[1].after)["close_reason"] == "enlisted"
    assert len(reads) == 1
    assert all(number not in (r.before or "") + (r.after or "") for r in rows)


def test_a_counter_clerk_registers_but_does_not_open_benefits(city: City) -> None:
    _, number = _person(city)
    reg = service.register(city.db, city.counter, RegistrationIn(id_number=number, kind="unemployment"))
    with pytest.raises(PermissionDenied):
        service.open_unemployment_benefit(city.db, city.counter, reg.id)
