"""The contributions API (/api/v1/funds/contributions/…): enrol, authorise, the month's batches and failures,
paying arrears, employer files and a person's history — thin routes over the real services, errors as stable
codes; every state-changing route refuses a caller without a token or the permission and changes nothing."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from contrib_world import AVG, MEDICAL, MONTH, PENSION, UNEMPLOYMENT, new_person
from fastapi.testclient import TestClient
from test_contrib_employer import lines_for, make_file

from sscard.api.app import create_app
from sscard.banks.simulated import SimulatedBank
from sscard.funds.contributions.withholding import run_withholding_month
from sscard.ledger import service as ledger
from support.api import bearer
from support.city import City

BASE = "/api/v1/funds/contributions"


def _counts(city: City) -> dict[str, int]:
    with city.db.engine.connect() as conn:
        tables = sorted(t for t in sa.inspect(conn).get_table_names() if t != "alembic_version")
        return {t: conn.execute(sa.text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one() for t in tables}


def _enrol_flex(client: TestClient, headers: dict[str, str], number: str) -> None:
    for scheme in ("flex_pension", "employee_medical", "unemployment"):
        r = client.post(f"{BASE}/enrolments", headers=headers, json={
            "id_number": number, "scheme": scheme, "start_period": "2014-01", "base_ratio_bp": 10_000})
        assert r.status_code == 201, r.text


def test_enrol_authorise_withhold_inspect_and_pay_arrears_through_the_api(month_city: City) -> None:
    city, bank = month_city, SimulatedBank(month_city.db)
    client = TestClient(create_app(city.db), raise_server_exceptions=False)
    supervisor, counter = bearer(client, "t-super"), bearer(client, "t-counter")
    person_id, number = new_person(city, "接口缴费")
    _enrol_flex(client, supervisor, number)
    bank.open_account("ICBC", "6222000000000001", "接口缴费", number, balance=0)

    r = client.post(f"{BASE}/enrolments", headers=supervisor, json={
        "id_number": number, "scheme": "flex_pension", "start_period": "2014-02", "base_ratio_bp": 10_000})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "CONTRIB_ALREADY_ENROLLED")
    r = client.post(f"{BASE}/enrolments", headers=supervisor, json={
        "id_number": number, "scheme": "no_such_scheme", "start_period": "2014-01"})
    assert (r.status_code, r.json()["error"]["code"]) == (422, "VALIDATION_ERROR")
    r = client.post(f"{BASE}/authorisations", headers=supervisor, json={
        "id_number": number, "signed_on": "2013-12-20", "signature_ref": "FORM-1", "bank_code": "ICBC"})
    assert r.json()["error"]["code"] == "CONTRIB_AUTHORISATION_INVALID"  # an account number without a bank
    r = client.post(f"{BASE}/authorisations", headers=supervisor, json={
        "id_number": number, "signed_on": "2013-12-20", "signature_ref": "FORM-1", "bank_code": "ICBC",
        "account_no": "6222000000000001", "holder_name": "接口缴费"})
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["account_no"]) == ("active", "6222000000000001")

    run_withholding_month(city.db, city.admin, "2014-01")  # the account is empty: every line is refused
    [batch] = client.get(f"{BASE}/months/2014-01/batches", headers=supervisor).json()
    assert (batch["batch_no"], batch["ok_count"], batch["failed_count"], batch["failed_fen"]) == (
        "WH-2014-01-ICBC", 0, 3, MONTH)
    failures = client.get(f"{BASE}/months/2014-01/failures", headers=supervisor).json()
    assert sorted(f["amount_fen"] for f in failures) == sorted((PENSION, MEDICAL, UNEMPLOYMENT))
    assert {(f["person_id"], f["reason"]) for f in failures} == {(person_id, "INSUFFICIENT_BALANCE")}
    assert client.get(f"{BASE}/months/2014-13/batches", headers=supervisor).status_code == 422

    r = client.post(f"{BASE}/arrears-payments", headers=counter, json={"id_number": number})
    assert (r.status_code, r.json()["error"]["code"]) == (403, "PERMISSION_DENIED")
    bank.deposit("ICBC", "6222000000000001", MONTH)
    r = client.post(f"{BASE}/arrears-payments", headers=supervisor, json={"id_number": number})
    assert r.status_code == 200, r.text
    assert (r.json()["paid_count"], r.json()["paid_fen"], r.json()["still_owed_count"]) == (3, MONTH, 0)
    r = client.post(f"{BASE}/arrears-payments", headers=supervisor, json={"id_number": number})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "CONTRIB_NO_ARREARS")

    records = client.get(f"{BASE}/persons/{person_id}/history", headers=supervisor).json()
    assert [(x["period"], x["status"], x["attempts"]) for x in records] == [("2014-01", "paid", 2)] * 3
    assert bank.bureau_balance("ICBC") == MONTH
    with city.db.unit_of_work() as session:
        assert ledger.balance(session, "bank:ICBC:clearing").debit_balance == MONTH
        assert ledger.check_zero_sum(session).ok


def test_an_employer_file_is_uploaded_once_and_refused_whole_when_tampered(month_city: City) -> None:
    city = month_city
    client = TestClient(create_app(city.db), raise_server_exceptions=False)
    admin = bearer(client, "t-admin")
    people = [new_person(city, f"上传职工{i}") for i in range(2)]
    data = make_file(lines_for([(number, f"上传职工{i}") for i, (_, number) in enumerate(people)]))

    def upload(body: bytes) -> Any:
        return client.post(f"{BASE}/employer-files", headers=admin,
                           files={"file": ("employer.txt", body, "text/plain")})

    before = _counts(city)
    refused = upload(data.replace(str(AVG).encode(), str(AVG + 1).encode(), 1))
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "EMPLOYER_FILE_MAC")
    assert _counts(city) == before
    r = upload(data)
    assert r.status_code == 201, r.text
    assert (r.json()["lines"], r.json()["transfers"], r.json()["replayed"]) == (6, 10, False)
    again = upload(data)
    assert (again.status_code, again.json()["replayed"], again.json()["file_id"]) == (201, True, r.json()["file_id"])
    records = client.get(f"{BASE}/persons/{people[0][0]}/history", headers=admin).json()
    assert {(x["source"], x["insurance_type"]) for x in records} == {
        ("employer", "pension"), ("employer", "medical"), ("employer", "unemployment")}


def test_every_contributions_route_refuses_without_a_token_or_the_permission(month_city: City) -> None:
    """As tests/api/test_authorisation.py does for the foundation (/api/v1/funds is a later domain there):
    every state-changing route here is listed, refused without a token and for a role without the
    permission, and the refusal changes nothing."""
    city = month_city
    client = TestClient(create_app(city.db), raise_server_exceptions=False)
    supervisor, counter = bearer(client, "t-super"), bearer(client, "t-counter")
    spec = client.get("/openapi.json").json()["paths"]
    mine = {(m, p) for p, ops in spec.items() if p.startswith(BASE) for m in ops if m in {"post", "put", "patch",
                                                                                           "delete"}}
    _, number = new_person(city, "拒绝")
    data = make_file(lines_for([(number, "拒绝")]))
    enrol = {"id_number": number, "scheme": "flex_pension", "start_period": "2014-01", "base_ratio_bp": 10_000}
    authorise = {"id_number": number, "signed_on": "2013-12-20", "signature_ref": "F", "bank_code": "ICBC",
                 "account_no": "6222000000000009"}
    # route → (kwargs of the request, a role without the permission)
    requests: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
        f"{BASE}/enrolments": ({"json": enrol}, counter),
        f"{BASE}/authorisations": ({"json": authorise}, counter),
        f"{BASE}/arrears-payments": ({"json": {"id_number": number}}, counter),
        f"{BASE}/employer-files": ({"files": {"file": ("f.txt", data, "text/plain")}}, supervisor),
    }
    assert mine == {("post", path) for path in requests}
    before = _counts(city)
    for path, (kwargs, refused_role) in requests.items():
        for headers, status in (({}, 401), ({"Authorization": "Bearer forged"}, 401), (refused_role, 403)):
            r = client.post(path, headers=headers, **kwargs)
            assert r.status_code == status, (path, r.text)
    assert _counts(city) == before
    # The control: the permitted role succeeds with the same requests.
    assert client.post(f"{BASE}/enrolments", headers=supervisor, json=enrol).status_code == 201
    assert client.post(f"{BASE}/employer-files", headers=bearer(client, "t-admin"),
                       files={"file": ("f.txt", data, "text/plain")}).status_code == 201
    for path in (f"{BASE}/months/2014-01/batches", f"{BASE}/months/2014-01/failures", f"{BASE}/persons/1/history"):
        assert client.get(path, headers=counter).status_code == 403
        assert client.get(path).status_code == 401
