"""2207 authenticates from a per-process cache of API keys: a key revoked (or an institution suspended) by any
process — simulated here by changing the rows directly, as another uvicorn worker would — is refused from the
next settlement on, nothing is written, and a replay of an earlier message id is refused too."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select, update

from medical.world import Hospital, insured_person, position, settle_body
from sscard.medical import institutions
from sscard.medical.models import Institution, InstitutionKey, Message
from support.city import City

NewId = Callable[..., str]


def _messages(city: City, hospital: Hospital) -> int:
    with city.db.unit_of_work() as s:
        inst_id = s.execute(select(Institution.id).where(Institution.code == hospital.code)).scalar_one()
        return int(s.execute(select(func.count()).select_from(Message)
                             .where(Message.institution_id == inst_id)).scalar_one())


def test_a_key_revoked_elsewhere_is_refused_at_the_next_settlement(city: City, hospital: Hospital,
                                                                   new_id: NewId) -> None:
    who = insured_person(city, new_id, balance_fen=50_000)
    first = settle_body(who)
    hospital.settle(first)  # the key is now in this process's cache
    assert institutions.cached_principal(city.db, hospital.key) is not None
    before, messages = position(city.db, who, hospital.code), _messages(city, hospital)
    with city.db.unit_of_work() as s:  # another worker revokes it: this process's cache is not told
        s.execute(update(InstitutionKey).where(InstitutionKey.prefix == hospital.key[:12]).values(revoked=True))
    for body in (settle_body(who), first):  # a new message, and a replay of the settled one
        r = hospital.post("settlements", body)
        assert (r.status_code, r.json()["error"]["code"]) == (401, "INSTITUTION_AUTH_FAILED"), r.text
    assert position(city.db, who, hospital.code) == before
    assert _messages(city, hospital) == messages
    assert institutions.cached_principal(city.db, hospital.key) is None  # dropped on refusal


def test_a_suspended_institution_is_refused_and_settles_again_once_reactivated(city: City, hospital: Hospital,
                                                                              new_id: NewId) -> None:
    who = insured_person(city, new_id, balance_fen=50_000)
    hospital.settle(settle_body(who))
    with city.db.unit_of_work() as s:
        s.execute(update(Institution).where(Institution.code == hospital.code).values(active=False))
    r = hospital.post("settlements", settle_body(who))
    assert (r.status_code, r.json()["error"]["code"]) == (401, "INSTITUTION_AUTH_FAILED")
    institutions.set_active(city.db, city.admin, hospital.code, True)
    assert hospital.settle(settle_body(who))["replayed"] is False


def test_rotating_keys_in_this_process_empties_the_cache_and_the_new_key_works(city: City, hospital: Hospital,
                                                                               new_id: NewId) -> None:
    who = insured_person(city, new_id, balance_fen=50_000)
    hospital.settle(settle_body(who))
    issued = institutions.issue_key(city.db, city.admin, hospital.code, revoke_others=True)
    assert institutions.cached_principal(city.db, hospital.key) is None
    r = hospital.post("settlements", settle_body(who))
    assert (r.status_code, r.json()["error"]["code"]) == (401, "INSTITUTION_AUTH_FAILED")
    rotated = Hospital(hospital.code, issued.api_key, hospital.client)
    assert rotated.settle(settle_body(who))["institution"] == hospital.code
