"""Concurrent publications and reads on PostgreSQL: a person's first publications at once, from several threads,
make one pseudonymous patient; every entry and every read is in the audit chain, which stays linear and
verifies."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from health.index_world import encounter_body, post, publish, search
from medical.world import insured_person, new_hospital
from sscard.api.app import create_app
from sscard.audit import service as audit
from sscard.audit.models import AuditRecord
from sscard.health import consent
from sscard.health.models import HealthEncounter, HealthPatient, HealthRead
from sscard.medical import institutions
from support.city import City, postgres_only


def _at_once(threads: int, work: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    """``work(n)`` on ``threads`` threads released together by a barrier; the answers in thread order."""
    barrier = threading.Barrier(threads)
    answers: list[httpx.Response | None] = [None] * threads

    def run(n: int) -> None:
        barrier.wait()
        answers[n] = work(n)

    pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=60)
    assert all(a is not None for a in answers)
    return [a for a in answers if a is not None]


@postgres_only  # row locks and the unique person_id racing are PostgreSQL's to prove; SQLite serialises writers
def test_first_publications_at_once_make_one_patient_and_a_linear_chain(fresh_city: City,
                                                                         new_id: Callable[..., str]) -> None:
    client = TestClient(create_app(fresh_city.db), raise_server_exceptions=False)
    hospital = new_hospital(fresh_city, client)
    who = insured_person(fresh_city, new_id)
    bodies = [encounter_body(who, ident=f"RACE-{n}") for n in range(6)]

    first = _at_once(2, lambda n: post(hospital, "Encounter", bodies[n]))  # the person's first two, at once
    assert [r.status_code for r in first] == [201, 201], [r.text for r in first]
    assert first[0].json()["subject"] == first[1].json()["subject"]
    more = _at_once(4, lambda n: post(hospital, "Encounter", bodies[2 + n]))
    assert [r.status_code for r in more] == [201] * 4, [r.text for r in more]
    repeat = _at_once(2, lambda n: post(hospital, "Encounter", bodies[0]))  # the same entry twice more, at once
    assert [r.status_code for r in repeat] == [200, 200] and all(r.json() == first[0].json() for r in repeat)

    with fresh_city.db.unit_of_work() as s:
        patients = s.execute(select(HealthPatient).where(HealthPatient.person_id == who.person_id)).scalars().all()
        assert len(patients) == 1
        assert s.execute(select(func.count()).select_from(HealthEncounter)
                         .where(HealthEncounter.patient_id == patients[0].id)).scalar_one() == 6
        published = s.execute(select(func.count()).select_from(AuditRecord)
                              .where(AuditRecord.action == "health.encounter.publish")).scalar_one()
        assert published == 6  # one record per entry, none for the repeats
    pseudonym = patients[0].pseudonym
    assert all(r.json()["subject"]["reference"] == f"Patient/{pseudonym}" for r in first + more)

    # Reads at once under one grant, beside a publication: each logged and audited once, the chain linear.
    principal = institutions.authenticate_cached(fresh_city.db, hospital.key)
    grant_id = consent.grant_emergency(fresh_city.db, principal, who.card_no, "dr.li-02",
                                       "unconscious on arrival, no relative present")["id"]
    mixed = _at_once(5, lambda n: search(hospital, "Encounter", pseudonym, grant_id) if n else
                     post(hospital, "Encounter", encounter_body(who, ident="RACE-late")))
    assert [r.status_code for r in mixed] == [201, 200, 200, 200, 200], [r.text for r in mixed]
    assert all(r.json()["total"] in (6, 7) for r in mixed[1:])
    with fresh_city.db.unit_of_work() as s:
        assert s.execute(select(func.count()).select_from(HealthRead)).scalar_one() == 4
        assert s.execute(select(func.count()).select_from(AuditRecord)
                         .where(AuditRecord.action == "health.index.read")).scalar_one() == 4
    result = audit.verify(fresh_city.db, fresh_city.supervisor)
    assert result.ok, result.reason
    publish(hospital, encounter_body(who))  # and the chain goes on from its head
    assert audit.verify(fresh_city.db, fresh_city.supervisor).ok
