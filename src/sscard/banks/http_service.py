"""The simulated bank as its own small HTTP service on loopback (``sscard bank serve``), for the demo and for
testing the HTTP gateway: the same ``SimulatedBank`` (same ``simbank_*`` tables) behind a FastAPI app.

Routes (bank = bank code; files travel as raw bytes, ``application/octet-stream``)::

    POST /banks/{bank}/batches                 batch file → {"handle"}
    GET  /banks/{bank}/returns?handle=…        the return file (200), 202 while not ready
    GET  /banks/{bank}/accounts/{account_no}   account status
    POST /banks/{bank}/debit | /credit         {"account_no", "name", "amount", "ref"}
                                               → {"ok", "ref", "reason", "replayed"}
    POST /banks/{bank}/accounts                open an account (demo)
    POST /banks/{bank}/accounts/{no}/state     {"state"} · /deposit {"amount"}
    POST /sync-from-cards                      open accounts for every card with a bank account (demo)
    POST /banks/{bank}/card-authorisations     a PBOC purchase (``PurchaseIn``) → ``AuthOut`` (the issuer's
                                               answer: ARC, ARPC, reason; ``sscard.banks.cardauth``)
    GET  /banks/{bank}/card-purchases?merchant=…&date=YYYY-MM-DD   approved purchases (the bank's statement)
    POST /banks/{bank}/cards                   {"pan", "account_no", "region_code", "pan_sequence"}: issue the
                                               card's debit application on an account
    GET  /banks/{bank}/merchants/{merchant}    the merchant account's balance

Errors are ``{"error": {"code", "message_zh", "message_en", …}}`` with the domain error's HTTP status.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Body, FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sscard.banks.cardauth import CardIssuer, keystore_keys
from sscard.banks.errors import CardAuthInvalid
from sscard.banks.files import Kind
from sscard.banks.gateway import AccountState
from sscard.banks.schemas import AuthOut, PurchaseIn, PurchaseLine, RefundIn, RefundOut
from sscard.banks.simulated import SimulatedBank, receive_transfer
from sscard.db import Database
from sscard.errors import DomainError

MAX_FILE_BYTES = 512 * 1024 * 1024  # a million lines are ~90 MB


class CallIn(BaseModel):
    account_no: str = Field(max_length=32)
    name: str = Field(max_length=50)
    amount: int
    ref: str = Field(min_length=1, max_length=64)


class OpenIn(BaseModel):
    account_no: str = Field(min_length=1, max_length=32)
    holder_name: str = Field(min_length=1, max_length=50)
    id_number: str = Field(default="", max_length=18)
    state: AccountState = AccountState.NORMAL
    financial_activated: bool = True
    balance: int = 0


class StateIn(BaseModel):
    state: AccountState


class DepositIn(BaseModel):
    amount: int


class IncomingIn(BaseModel):
    amount: int
    ref: str = Field(min_length=1, max_length=64)


class CardLinkIn(BaseModel):
    pan: str = Field(pattern=r"^[0-9]{12,19}$")
    account_no: str = Field(min_length=1, max_length=32)
    region_code: str = Field(pattern=r"^[0-9]{6}$")
    pan_sequence: int = Field(default=1, ge=0, le=99)


def create_bank_app(db: Database, issuer: CardIssuer | None = None) -> FastAPI:
    """The bank's app; ``issuer`` answers card purchases (default: keys from ``$SSCARD_BANK_KEYSTORE`` or
    var/keystore.json, opened on first use)."""
    bank = SimulatedBank(db)
    card_host = issuer or CardIssuer(db, keystore_keys())
    app = FastAPI(title="sscard simulated bank", version="1", docs_url="/docs")

    @app.exception_handler(DomainError)
    async def _domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"error": exc.to_dict("en")}, status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        error = CardAuthInvalid(_first_error(exc)) if "/card" in request.url.path else None
        if error is None:
            return JSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)
        return JSONResponse({"error": error.to_dict("en")}, status_code=error.http_status)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/banks/{bank_code}/batches")
    def submit(bank_code: str, body: Annotated[bytes, Body(media_type="application/octet-stream")]) -> Response:
        # a plain (threadpool) endpoint: answering a big file must not block the event loop
        if len(body) > MAX_FILE_BYTES:
            return JSONResponse({"error": {"code": "BANK_FILE_TOO_LARGE"}}, status_code=413)
        return JSONResponse({"handle": bank.submit(bank_code, body)})

    @app.get("/banks/{bank_code}/returns")
    def fetch_return(bank_code: str, handle: str) -> Response:
        data = bank.fetch_return(handle)
        if data is None:
            return Response(status_code=202)
        return Response(content=data, media_type="application/octet-stream")

    @app.get("/banks/{bank_code}/accounts/{account_no}")
    def account_status(bank_code: str, account_no: str) -> dict[str, Any]:
        s = bank.account_status(bank_code, account_no)
        return {"bank_code": s.bank_code, "account_no": s.account_no, "exists": s.exists,
                "state": s.state.value if s.state else None, "financial_activated": s.financial_activated,
                "holder_name": s.holder_name}

    def _call(bank_code: str, kind: Kind, body: CallIn) -> dict[str, Any]:
        r = bank.call(bank_code, kind, body.account_no, body.name, body.amount, body.ref)
        return {"ok": r.ok, "ref": r.ref, "reason": r.reason.value if r.reason else None, "replayed": r.replayed}

    @app.post("/banks/{bank_code}/debit")
    def debit(bank_code: str, body: CallIn) -> dict[str, Any]:
        return _call(bank_code, Kind.DEBIT, body)

    @app.post("/banks/{bank_code}/credit")
    def credit(bank_code: str, body: CallIn) -> dict[str, Any]:
        return _call(bank_code, Kind.CREDIT, body)

    @app.post("/banks/{bank_code}/accounts", status_code=201)
    def open_account(bank_code: str, body: OpenIn) -> dict[str, str]:
        bank.open_account(bank_code, body.account_no, body.holder_name, body.id_number, state=body.state,
                          financial_activated=body.financial_activated, balance=body.balance)
        return {"account_no": body.account_no}

    @app.post("/banks/{bank_code}/accounts/{account_no}/state")
    def set_state(bank_code: str, account_no: str, body: StateIn) -> dict[str, str]:
        bank.set_state(bank_code, account_no, body.state)
        return {"state": body.state.value}

    @app.post("/banks/{bank_code}/accounts/{account_no}/deposit")
    def deposit(bank_code: str, account_no: str, body: DepositIn) -> dict[str, int]:
        return {"balance": bank.deposit(bank_code, account_no, body.amount)}

    @app.post("/banks/{bank_code}/incoming-transfers")
    def incoming_transfer(bank_code: str, body: IncomingIn) -> dict[str, Any]:
        result = receive_transfer(db, bank_code, body.amount, body.ref)
        return {"ok": result.ok, "ref": result.ref, "replayed": result.replayed}

    @app.post("/banks/{bank_code}/card-authorisations", response_model=AuthOut)
    def card_authorisation(bank_code: str, body: PurchaseIn) -> Response:
        # serialised once here (FastAPI would validate the model again against response_model on the hot path)
        return Response(card_host.authorise(bank_code, body).model_dump_json(), media_type="application/json")

    @app.post("/banks/{bank_code}/card-refunds")
    def card_refund(bank_code: str, body: RefundIn) -> RefundOut:
        return card_host.refund(bank_code, body)

    @app.get("/banks/{bank_code}/card-purchases")
    def card_purchases(bank_code: str, merchant: str, date: dt.date) -> list[PurchaseLine]:
        return card_host.purchases(bank_code, merchant, date)

    @app.post("/banks/{bank_code}/cards", status_code=201)
    def link_card(bank_code: str, body: CardLinkIn) -> dict[str, str]:
        card_host.link_card(bank_code, body.pan, body.account_no, body.region_code, body.pan_sequence)
        return {"account_no": body.account_no}

    @app.get("/banks/{bank_code}/merchants/{merchant}")
    def merchant(bank_code: str, merchant: str) -> dict[str, int]:
        return {"balance": card_host.merchant_balance(bank_code, merchant)}

    @app.post("/sync-from-cards")
    def sync_from_cards() -> dict[str, int]:
        return {"opened": bank.sync_from_cards()}

    return app


def _first_error(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    return f"{'.'.join(str(p) for p in first.get('loc', ()))}: {first.get('msg', '')}"[:200]
