"""Unhandled errors in /metrics and the request log, by route template; no raw path, no SQL parameters, no
unmasked ID number or card number in any log line (the logs of a realistic slice of requests, errors included,
read back from this run's log file)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from sscard.api.app import create_app
from sscard.api.logs import mask_text
from support.city import PASSWORD, City
from support.logscan import SESSION_LOG, scan, unmasked


def _boom_routes(app: FastAPI) -> None:
    """Two failures no handler maps: a plain exception whose message holds the ID number from the path, and a
    database error raised by a statement whose parameters are personal data."""

    @app.get("/api/v1/test-boom/{id_number}")
    def boom(id_number: str) -> None:
        raise RuntimeError(f"could not process {id_number}")

    @app.get("/api/v1/test-sql/{id_number}")
    def sql(id_number: str, request: Request) -> None:
        with request.app.state.db.unit_of_work() as s:
            s.execute(sa.text("SELECT no_such_column FROM persons WHERE id_number = :id AND name = :name"),
                      {"id": id_number, "name": "欧阳参数"})


def _log_since(offset: int) -> str:
    path = SESSION_LOG[0]
    with path.open(encoding="utf-8") as f:
        f.seek(offset)
        return f.read()


def test_a_realistic_slice_of_requests_leaves_no_identifier_in_the_logs(city: City,
                                                                        new_id: Callable[..., str]) -> None:
    app = create_app(city.db)
    _boom_routes(app)
    client = TestClient(app, raise_server_exceptions=False)
    offset = SESSION_LOG[0].stat().st_size
    token = client.post("/api/v1/auth/token", json={"username": "t-counter", "password": PASSWORD}).json()
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    id_no, missing = new_id(region="441802"), new_id(region="441802")
    assert client.post("/api/v1/persons", headers=auth, json={"id_number": id_no, "name": "日志测试",
                                                              "region_code": "441802"}).status_code == 201
    assert client.post("/api/v1/persons", headers=auth, json={"id_number": id_no, "name": "日志测试",
                                                              "region_code": "441802"}).status_code == 409
    assert client.post("/api/v1/persons/lookup", headers=auth, json={"id_number": id_no}).status_code == 200
    assert client.post("/api/v1/persons/lookup", headers=auth, json={"id_number": missing}).status_code == 404
    # A client that still puts an ID number in a path (paths take internal ids): refused, and not logged raw.
    assert client.get(f"/api/v1/persons/{id_no}", headers=auth).status_code == 422
    assert client.get(f"/api/v1/persons/{id_no[:6] + id_no[8:17]}", headers=auth).status_code < 500  # 15-digit form
    applied = client.post("/api/v1/applications", headers=auth, json={"id_number": id_no})
    assert applied.status_code in (200, 201), applied.text
    card_no = applied.json().get("card_no") or applied.json()["card"]["card_no"]
    assert client.get(f"/api/v1/cards/{card_no}", headers=auth).status_code == 200
    assert client.get(f"/api/v1/persons/{id_no}", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get(f"/api/v1/test-boom/{id_no}").status_code == 500
    sql_failure = client.get(f"/api/v1/test-sql/{id_no}")
    assert sql_failure.status_code == 500 and sql_failure.json()["error"]["code"] == "INTERNAL_ERROR"
    logging.getLogger("sscard.test").warning("a library logs %s and card %s", id_no, card_no)

    log = _log_since(offset)
    assert log.count('"event": "request"') >= 11
    assert scan(log) == [], "unmasked identifiers in the log"
    assert id_no not in log and card_no not in log
    assert mask_text(id_no) in log  # the messages are kept, the number masked
    # Unhandled errors: logged with the route template and the exception type, the SQL parameters hidden.
    assert '"route": "/api/v1/test-boom/{id_number}", "status": 500' in log
    assert '"event": "unhandled_error"' in log and '"error": "RuntimeError"' in log
    assert "SQL parameters hidden" in log and "欧阳参数" not in log
    server_lines = "\n".join(line for line in log.splitlines() if line.startswith("{"))  # not the test client's
    assert f"/persons/{mask_text(id_no)}" not in server_lines  # never the raw path, even masked

    metrics = client.get("/metrics").text
    assert ('sscard_http_unhandled_errors_total{error="RuntimeError",method="GET",'
            'route="/api/v1/test-boom/{id_number}"} 1.0') in metrics
    assert 'sscard_http_requests_total{method="GET",route="/api/v1/test-sql/{id_number}",status="500"} 1.0' in metrics


def test_the_mask_covers_every_form_and_leaves_other_numbers() -> None:
    line = ('{"q": "441802199001011234", "old": "441802900101123", "x": "44180219900101123X", '
            '"card": "A00001233", "new": "AR3XNR6Q7", "word": "TRACEBACK", "ms": 12.5, "seq": 1234567, '
            '"ts": "2026-12-02T06:00:00Z"}')
    masked = mask_text(line)
    assert unmasked(masked) == [] and unmasked(line) != []
    assert "4418**********1234" in masked and "4418*******1123" in masked and "A0*****33" in masked
    assert "AR*****Q7" in masked  # a random serial (letters and digits) is a card number too
    assert '"word": "TRACEBACK"' in masked  # an upper-case word whose check character fails is kept
    assert '"seq": 1234567' in masked and "2026-12-02T06:00:00Z" in masked


def test_jobs_run_takes_no_client_clock_outside_dev_mode(city: City) -> None:
    """POST /jobs/run with a chosen `now` (e.g. far in the future, to lapse every temporary loss at once)."""
    from sscard.config import Mode, Settings

    for mode in (Mode.PRODUCTION, Mode.DEMO):
        settings = Settings(mode=mode, **_real_secrets())
        client = TestClient(create_app(city.db, settings=settings), raise_server_exceptions=False)
        token = client.post("/api/v1/auth/token", json={"username": "t-admin", "password": PASSWORD}).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        refused = client.post("/api/v1/jobs/run", headers=auth, json={"now": "2099-01-01T00:00:00+00:00"})
        assert refused.status_code == 422 and refused.json()["error"]["code"] == "JOBS_CLOCK_REFUSED"
        assert client.post("/api/v1/jobs/run", headers=auth, json={}).status_code == 200


def _real_secrets() -> dict[str, str]:
    import secrets

    return {"kms_kek_hex": secrets.token_hex(32), "pin_pepper_hex": secrets.token_hex(32),
            "web_secret_hex": secrets.token_hex(32), "audit_key_hex": secrets.token_hex(32)}


def test_the_openapi_document_lists_the_error_answers(city: City) -> None:
    schema = TestClient(create_app(city.db)).get("/openapi.json").json()
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert len(operations) > 50
    fhir = [(path, op) for path, item in schema["paths"].items() if path.startswith("/api/v1/fhir/")
            for op in item.values()]
    assert fhir, "the FHIR routes are documented"
    for op in operations:
        for status in ("401", "403", "404", "409", "413", "422"):
            assert status in op["responses"], (op["operationId"], status)
        conflict = op["responses"]["409"]["content"]
        if "application/fhir+json" in conflict:  # the FHIR interface answers its errors as an OperationOutcome
            assert "application/json" not in conflict, op["operationId"]
            continue
        assert conflict["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorOut"}
    for _path, op in fhir:
        assert "application/fhir+json" in op["responses"]["409"]["content"], op["operationId"]
