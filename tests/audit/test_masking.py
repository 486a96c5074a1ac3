"""No audit payload carries a whole identifier: bank account, ID, card and phone numbers are masked where the
audit log writes them (``sscard.audit.masking``), whatever the caller passed."""

from __future__ import annotations

import re
from collections.abc import Callable

import sqlalchemy as sa
from fastapi.testclient import TestClient

from sscard.api.app import create_app
from sscard.audit import service as audit
from sscard.audit.masking import masked
from sscard.funds.contributions import service as contrib
from sscard.funds.contributions.terms import ContribScheme
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.api import bearer
from support.city import City

FIRST, SECOND = "6222020200112233445", "6228480088776655443"
LONG_DIGITS = re.compile(r"(?<![0-9A-Za-z])\d{15,}")  # standing alone (a receipt number R2026… is no identifier)


def test_a_replaced_withholding_authorisation_leaves_no_account_number_in_the_audit(
        city: City, new_id: Callable[..., str]) -> None:
    number = new_id()
    person = registry.register(city.db, city.admin, PersonIn(id_number=number, name="代扣审计", region_code="441802"))
    contrib.enrol(city.db, city.admin, number, ContribScheme.FLEX_PENSION, "2014-01", base_ratio_bp=10_000)
    client = TestClient(create_app(city.db), raise_server_exceptions=False)
    supervisor = bearer(client, "t-super")
    for account, form in ((FIRST, "FORM-A"), (SECOND, "FORM-B")):  # the second replaces the first
        r = client.post("/api/v1/funds/contributions/authorisations", headers=supervisor, json={
            "id_number": number, "signed_on": "2013-12-20", "signature_ref": form, "bank_code": "ICBC",
            "account_no": account, "holder_name": "代扣审计"})
        assert r.status_code == 201, r.text
    r = client.get(f"/api/v1/audit/person/{person.id}", headers=supervisor)
    assert r.status_code == 200, r.text
    [replaced] = [row for row in r.json() if row["action"] == "contrib.authorise" and row["before"]]
    assert "6222***********3445" in replaced["before"] and "6228***********5443" in replaced["after"]
    text = r.text
    assert FIRST not in text and SECOND not in text and number not in text
    assert not LONG_DIGITS.search(text)


def test_masking_is_central_and_catches_identifiers_under_any_key(fresh_city: City) -> None:
    payload = {"account_no": "6222020200112233445",
               "nested": {"card_no": "441800000123", "list": ["441802199001011234"]}, "id_number": "44180219900101123X",
               "phone": "13800138000", "note": "reference 123456789012345678",
               "amount_fen": 123456789012345678, "period": "2014-07", "short": "12345678"}
    assert masked(payload) == {
        "account_no": "6222***********3445", "nested": {"card_no": "4418****0123", "list": ["4418**********1234"]},
        "id_number": "4418**********123X", "phone": "1380***8000", "note": "reference 1234**********5678",
        "amount_fen": 123456789012345678, "period": "2014-07", "short": "12345678"}
    with fresh_city.db.unit_of_work() as s:  # both writers mask
        audit.record(s, fresh_city.admin, "test.mask", "thing", "1", {"account_no": FIRST}, {"x": SECOND})
        audit.record_many(s, fresh_city.admin, [audit.Entry("test.mask", "thing", "2", {"bank_account": FIRST},
                                                            {"id_no": SECOND})])
    with fresh_city.db.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT before, after FROM audit_records WHERE action = 'test.mask'")).all()
    assert len(stored) == 2
    assert not any(LONG_DIGITS.search(f"{b}{a}") for b, a in stored)
    assert audit.verify(fresh_city.db, fresh_city.supervisor).ok


def test_no_audit_payload_of_a_busy_city_carries_a_long_number(city: City) -> None:
    """Whatever the other tests of this session wrote through the real use cases: nothing of 15+ digits."""
    with city.db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT seq, action, before, after FROM audit_records")).all()
    leaks = [(r.seq, r.action) for r in rows if LONG_DIGITS.search(f"{r.before or ''}{r.after or ''}")]
    assert leaks == []
