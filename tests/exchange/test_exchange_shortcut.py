"""The departments' verification is served through its own copy of the middleware stack (``api.fast.shortcut``):
its answers carry the same security headers, pass the same body limit and credentials check, and are counted and
labelled by the same metrics as every other route's; other methods on its path still go through the router."""

from __future__ import annotations

from exchange_world import VERIFY, holder, new_department, post
from fastapi.testclient import TestClient

from support.city import City


def _security_headers(headers: dict[str, str]) -> dict[str, str]:
    names = ("x-content-type-options", "x-frame-options", "content-security-policy", "referrer-policy")
    return {n: headers[n] for n in names if n in headers}


def test_the_verification_answer_carries_what_the_middleware_gives_every_route(city: City,
                                                                               client: TestClient) -> None:
    dept = new_department(city, {"card_status": ["verification"]})
    who = holder(city)
    answer = post(client, dept, VERIFY, {"item": "card_status", "id_number": who.id_number, "name": who.name})
    assert answer.status_code == 200 and answer.json()["reason"] == "CARD_NORMAL", answer.text
    stack = client.app.middleware_stack  # type: ignore[attr-defined]
    assert ("POST", VERIFY) in stack.routes  # served by the shortcut, not the router
    other = client.get("/api/v1/exchange/catalogue")  # through the router: 401 without a token
    assert _security_headers(dict(answer.headers)) == _security_headers(dict(other.headers))
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    refused = post(client, dept, VERIFY, {"item": "card_status", "id_number": who.id_number, "name": who.name},
                   timestamp=1)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "EXCHANGE_CLOCK_SKEW"
    assert _security_headers(dict(refused.headers)) == _security_headers(dict(answer.headers))
    metrics = client.get("/metrics").text
    assert 'sscard_http_requests_total{method="POST",route="/api/v1/exchange/verify",status="200"} 1.0' in metrics
    assert 'route="/api/v1/exchange/verify",status="401"} 1.0' in metrics


def test_the_verification_path_keeps_the_body_limit_and_the_router_answers_other_methods(
        city: City, client: TestClient) -> None:
    too_large = client.post(VERIFY, content=b" " * (2 << 20), headers={"X-Dept-Key": "dk_some_key_0001",
                                                                       "Content-Type": "application/json"})
    assert too_large.status_code == 413 and too_large.json()["error"]["code"] == "REQUEST_TOO_LARGE"
    assert too_large.headers["x-frame-options"] == "DENY"
    unsigned = client.post(VERIFY, content=b"{}", headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401 and unsigned.json()["error"]["code"] == "AUTH_FAILED"
    assert client.get(VERIFY).status_code == 405
