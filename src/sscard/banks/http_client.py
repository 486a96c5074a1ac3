"""``BankGateway`` over HTTP: the client of the loopback simulated bank service (``sscard.banks.http_service``).

A domain error the service answers with (its stable ``code``) is raised here as the same error class, so the
caller cannot tell the embedded bank from the remote one; a connection failure or a 5xx is ``BANK_UNAVAILABLE``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from sscard.banks import errors as bank_errors
from sscard.banks.files import Reason
from sscard.banks.protocol import AccountState, AccountStatus, CallResult
from sscard.banks.schemas import AuthOut, PurchaseIn, PurchaseLine, RefundIn, RefundOut
from sscard.errors import DomainError

_BY_CODE: dict[str, type[DomainError]] = {
    cls.code: cls for cls in vars(bank_errors).values()
    if isinstance(cls, type) and issubclass(cls, DomainError) and cls.__module__ == bank_errors.__name__
}


class HttpGateway:
    def __init__(self, bank_code: str, base_url: str, timeout: float = 300.0) -> None:
        self.bank_code = bank_code
        self._client = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, trust_env=False)

    def close(self) -> None:
        self._client.close()

    def submit(self, batch_file: bytes) -> str:
        answer = self._request("POST", f"/banks/{self.bank_code}/batches", content=batch_file,
                               headers={"Content-Type": "application/octet-stream"})
        return str(answer.json()["handle"])

    def fetch_return(self, handle: str) -> bytes | None:
        answer = self._request("GET", f"/banks/{self.bank_code}/returns", params={"handle": handle})
        return None if answer.status_code == 202 else answer.content

    def account_status(self, account_no: str) -> AccountStatus:
        body = self._request("GET", f"/banks/{self.bank_code}/accounts/{account_no}").json()
        return AccountStatus(body["bank_code"], body["account_no"], body["exists"],
                             AccountState(body["state"]) if body["state"] else None, body["financial_activated"],
                             body["holder_name"])

    def debit(self, account_no: str, name: str, amount: int, ref: str) -> CallResult:
        return self._call("debit", account_no, name, amount, ref)

    def credit(self, account_no: str, name: str, amount: int, ref: str) -> CallResult:
        return self._call("credit", account_no, name, amount, ref)

    def receive_transfer(self, amount: int, ref: str) -> CallResult:
        """Simulation only (not part of ``BankGateway``): tell the loopback bank that a third party's transfer
        (an employer's contributions) arrived in the bureau's account."""
        body = self._request("POST", f"/banks/{self.bank_code}/incoming-transfers",
                             json={"amount": amount, "ref": ref}).json()
        return CallResult(body["ok"], body["ref"], None, body["replayed"])

    def authorise_purchase(self, req: PurchaseIn) -> AuthOut:
        """The card's issuing bank answers a PBOC purchase (``sscard.banks.cardauth``)."""
        answer = self._request("POST", f"/banks/{self.bank_code}/card-authorisations",
                               content=req.model_dump_json(), headers={"Content-Type": "application/json"})
        return AuthOut.model_validate_json(answer.content)

    def refund_purchase(self, req: RefundIn) -> RefundOut:
        """The card's issuing bank refunds the whole of an approved purchase (``CardIssuer.refund``)."""
        answer = self._request("POST", f"/banks/{self.bank_code}/card-refunds",
                               content=req.model_dump_json(), headers={"Content-Type": "application/json"})
        return RefundOut.model_validate_json(answer.content)

    def card_purchases(self, merchant: str, day: dt.date) -> list[PurchaseLine]:
        """The bank's statement of approved card purchases of ``merchant`` on ``day``."""
        answer = self._request("GET", f"/banks/{self.bank_code}/card-purchases",
                               params={"merchant": merchant, "date": day.isoformat()})
        return [PurchaseLine.model_validate(line) for line in answer.json()]

    def _call(self, kind: str, account_no: str, name: str, amount: int, ref: str) -> CallResult:
        body = self._request("POST", f"/banks/{self.bank_code}/{kind}",
                             json={"account_no": account_no, "name": name, "amount": amount, "ref": ref}).json()
        return CallResult(body["ok"], body["ref"], Reason(body["reason"]) if body["reason"] else None,
                          body["replayed"])

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            answer = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise bank_errors.BankUnavailable(f"{self.bank_code}: {type(exc).__name__}",
                                              bank=self.bank_code) from exc
        if answer.status_code < 400:
            return answer
        try:
            error = answer.json()["error"]
            code, detail = error["code"], error.get("detail")
        except (ValueError, KeyError, TypeError):
            code, detail = None, None
        if answer.status_code >= 500 or code is None:
            raise bank_errors.BankUnavailable(f"{self.bank_code}: HTTP {answer.status_code}", bank=self.bank_code)
        cls = _BY_CODE.get(code)
        if cls is None:
            raise bank_errors.BankUnavailable(f"{self.bank_code}: {code}", bank=self.bank_code, code=code)
        raise cls(detail)
