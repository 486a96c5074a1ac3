"""Family members (consent by the member's own query password, at most ``ecard.family_max``, recorded and
audited; the holder may then show the member's code), the kiosk's login by a scanned code (one login per code)
and the counter's search by a scanned code — through the services and the pages, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from ecard.ecard_world import EcardHolder, ecard_holder, process_keys
from sscard.access import PermissionDenied
from sscard.ecard import payload
from sscard.ecard import service as ecard
from sscard.ecard.errors import EcardCodeUsed, EcardFamilyInvalid, EcardFamilyLimit, EcardNotFound
from sscard.ecard.models import EcardFamilyMember
from sscard.kms.signing import SigningKeys
from sscard.policy import service as policy
from sscard.portal import ecards
from sscard.portal import service as portal
from sscard.portal.errors import PortalLoginFailed
from sscard.web.security import PORTAL_COOKIE, session_value
from support.city import City
from web.helpers import csrf_of, web_client
from web.portal_helpers import QUERY_PASSWORD, portal_client


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> SigningKeys:
    return process_keys(monkeypatch, tmp_path)


def _with_password(city: City, holder: EcardHolder) -> EcardHolder:
    portal.set_query_password(city.db, city.counter, holder.card_no, QUERY_PASSWORD)
    return holder


def test_a_family_member_is_added_with_their_consent_and_their_code_shown(city: City, keys: SigningKeys) -> None:
    holder, parent = ecard_holder(city), _with_password(city, ecard_holder(city))
    with pytest.raises(PortalLoginFailed):  # no consent: the member's password is wrong (counted as a failure)
        ecards.add_family_member(city.db, holder.actor, parent.card_no, "000000", "parent")
    with pytest.raises(PermissionDenied):  # not yet a family member: no code of theirs
        ecard.issue_code(city.db, holder.actor, parent.person_id)
    seq = ecards.add_family_member(city.db, holder.actor, parent.card_no, QUERY_PASSWORD, "parent")
    assert seq > 0
    [member] = ecard.family_of(city.db, holder.actor)
    assert (member.person_id, member.relation, member.status.value) == (parent.person_id, "parent", "active")
    assert member.name_masked.startswith("测") and "*" in member.name_masked
    with city.db.unit_of_work() as s:
        row = s.execute(select(EcardFamilyMember).where(EcardFamilyMember.holder_person_id == holder.person_id)
                        ).scalar_one()
        assert row.consent == "member query password"
    code = payload.parse(ecard.issue_code(city.db, holder.actor, parent.person_id).text)
    payload.check(code, keys.public_keys(), code.issued_at, skew=5)
    with pytest.raises(EcardFamilyInvalid):
        ecards.add_family_member(city.db, holder.actor, parent.card_no, QUERY_PASSWORD, "parent")
    with pytest.raises(EcardFamilyInvalid):
        ecards.add_family_member(city.db, holder.actor, _with_password(city, holder).card_no, QUERY_PASSWORD,
                                 "child")


def test_at_most_the_policy_number_of_family_members(fresh_city: City, keys: SigningKeys) -> None:
    city = fresh_city
    with city.db.unit_of_work() as s:
        limit = policy.get_int(s, ecard.FAMILY_MAX, ecard._today())
    assert limit == 3
    holder = ecard_holder(city)
    for _ in range(limit):
        ecards.add_family_member(city.db, holder.actor, _with_password(city, ecard_holder(city)).card_no,
                                 QUERY_PASSWORD, "child")
    with pytest.raises(EcardFamilyLimit):
        ecards.add_family_member(city.db, holder.actor, _with_password(city, ecard_holder(city)).card_no,
                                 QUERY_PASSWORD, "child")
    assert len(ecard.family_of(city.db, holder.actor)) == limit


def test_a_member_without_an_e_card_cannot_be_added(city: City, keys: SigningKeys) -> None:
    holder, other = ecard_holder(city), _with_password(city, ecard_holder(city, activate=False))
    with pytest.raises(EcardNotFound):
        ecards.add_family_member(city.db, holder.actor, other.card_no, QUERY_PASSWORD, "spouse")


def test_the_kiosk_logs_in_with_a_code_once(city: City, keys: SigningKeys) -> None:
    holder = ecard_holder(city)
    text = ecard.issue_code(city.db, holder.actor, holder.person_id).text
    issued = portal.login_by_ecard_code(city.db, text)
    assert issued.kiosk and issued.actor.person_id == holder.person_id
    with pytest.raises(EcardCodeUsed):
        portal.login_by_ecard_code(city.db, text)
    client = web_client(city)
    page = client.http.get("/kiosk")
    fresh = ecard.issue_code(city.db, holder.actor, holder.person_id).text
    r = client.http.post("/kiosk/ecard", data={"csrf_token": csrf_of(page.text), "code": fresh})
    assert r.status_code == 200 and str(r.url).endswith("/kiosk/home"), r.text
    bad = client.http.post("/kiosk/ecard", data={"csrf_token": csrf_of(client.http.get("/kiosk").text),
                                                 "code": "ESSC1.nope"})
    assert bad.status_code == 422 and "kiosk-error" in bad.text


def test_the_counter_finds_the_person_by_a_scanned_code(city: City, keys: SigningKeys) -> None:
    holder = ecard_holder(city)
    counter = web_client(city, "t-counter")
    text = ecard.issue_code(city.db, holder.actor, holder.person_id).text
    found = counter.post("/counter/search", {"q": text})
    assert found.status_code == 200 and "/counter/person" in str(found.url)
    assert holder.card_no in found.text
    refused = counter.post("/counter/search", {"q": text[:-2]})
    assert refused.status_code == 422 and text[:-2] not in refused.text  # the code is not echoed


def test_the_phone_page_adds_a_family_member_and_refuses_a_wrong_consent(city: City, keys: SigningKeys) -> None:
    holder = _with_password(city, ecard_holder(city))
    parent = _with_password(city, ecard_holder(city))
    http, csrf = portal_client(city, holder.card_no)
    page = http.get("/portal/ecard")
    assert page.status_code == 200 and 'id="ecard-qr-image"' in page.text and "family-none" in page.text
    wrong = http.post("/portal/ecard/family", data={"csrf_token": csrf, "member": parent.card_no,
                                                     "member_password": "000000", "relation": "parent"})
    assert wrong.status_code == 422 and "member-password-error" in wrong.text
    added = http.post("/portal/ecard/family", data={"csrf_token": csrf, "member": parent.card_no,
                                                     "member_password": QUERY_PASSWORD, "relation": "parent"})
    assert added.status_code == 200 and "family-list" in added.text and "audit-seq" in added.text
    code = http.get(f"/portal/ecard/code?for={parent.person_id}")
    assert code.status_code == 200 and code.json()["image"].startswith("data:image/svg+xml")
    stranger = ecard_holder(city)
    assert http.get(f"/portal/ecard/code?for={stranger.person_id}").status_code == 403


def test_the_kiosk_activates_the_e_card_of_the_card_in_the_reader(city: City, keys: SigningKeys) -> None:
    holder = _with_password(city, ecard_holder(city, activate=False))
    issued = portal.login(city.db, holder.card_no, QUERY_PASSWORD, kiosk=True)  # card read + password typed
    client = web_client(city)
    client.http.cookies.set(PORTAL_COOKIE, session_value(issued.token, issued.expires_at.timestamp()))
    home = client.http.get("/kiosk/home")
    assert home.status_code == 200 and "kiosk-ecard-activate" in home.text
    r = client.http.post("/kiosk/ecard/activate", data={"csrf_token": csrf_of(home.text)})
    assert r.status_code == 200 and "done=ecard" in str(r.url), r.text
    status = ecard.status_of(city.db, holder.actor, holder.person_id)
    assert status is not None and (status.status.value, status.activated_via) == ("active", "kiosk")
