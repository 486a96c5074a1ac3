"""Who may do what in /api/v1/remote (the role table of this domain; tests/api/test_authorisation.py sweeps
every route without credentials): counter staff file and read 异地就医备案 and settlements, the nightly close
and the clearing need an administrator (``remote.clear``), the dashboard figures ``stats.read``."""

from __future__ import annotations

from fastapi.testclient import TestClient

from sscard import clock
from sscard.api.app import create_app
from support.api import bearer
from support.city import City
from web.portal_helpers import insured_holder


def test_roles_of_the_remote_api(city: City) -> None:
    client = TestClient(create_app(city.db), raise_server_exceptions=False)
    counter, admin, supervisor = (bearer(client, u) for u in ("t-counter", "t-admin", "t-super"))
    who = insured_holder(city, settle=False)
    assert who.person_id is not None
    body = {"person_id": who.person_id, "kind": "long_term_resident", "treating_region": "440200",
            "starts_on": clock.local_date().isoformat()}
    filed = client.post("/api/v1/remote/registrations", json=body, headers=counter)
    assert filed.status_code == 201 and filed.json()["distributed"] is False  # no hub configured here
    listed = client.get(f"/api/v1/remote/registrations?person_id={who.person_id}", headers=counter)
    assert [r["reg_no"] for r in listed.json()] == [filed.json()["reg_no"]]
    assert client.post("/api/v1/remote/close-pending", json={}, headers=counter).status_code == 403
    assert client.post("/api/v1/remote/close-pending", json={}, headers=supervisor).status_code == 403
    closed = client.post("/api/v1/remote/close-pending", json={}, headers=admin)
    assert closed.status_code == 200 and closed.json()["registrations_sent"] == 0
    assert client.get("/api/v1/remote/figures", headers=counter).status_code == 403
    assert client.get("/api/v1/remote/figures", headers=supervisor).status_code == 200
    assert client.post("/api/v1/remote/registrations", json=body).status_code == 401
