"""The provincial hub (省级异地就医结算平台) as shipped with sscard: ``sscard hub serve``.

- **Registry** of centres (``hub_centres``): 统筹区 code, name, base URL, the bank account the clearing pays
  into; each centre and the hub share the hop key ``city:440000<code>`` (``sscard.kms.partners``).
- **Routing**: ``POST /hub/v1/messages`` takes a centre's signed message for another centre, journals it
  (``hub_messages``, one row per origin and message id), re-signs it for the destination, forwards it and
  journals the answer, which it re-signs for the origin. The same message again is answered from the journal
  once answered, and forwarded again (same id: the destination is idempotent) while it is not.
- **Clearing** (清算, ``clear``): per month, each centre's statement (its own journal, asked by a signed
  ``statement`` message) is compared line by line with the hub's journal; a line on which the three do not
  agree goes to the reconciliation queue (``hub_recon_items``) and holds the clearing of that pair of centres
  until resolved; the agreed amounts of a pair are netted, and each centre is sent its positions (``clearing``)
  and books them. Across the province the net positions sum to zero (checked before anything is sent).

The hub's tables are its own database (``SSCARD_HUB_DATABASE_URL``) with their own metadata, created with
``create_all`` when the hub starts: it is a separate deployable with five tables and no schema history yet,
and it must not share the centres' Alembic chain (a centre's database never holds them).
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from anyio import to_thread
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import BigInteger, Boolean, DateTime, String, Text, UniqueConstraint, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from starlette.routing import Route

from sscard import clock
from sscard.config import get_settings
from sscard.db import Database, utcnow
from sscard.errors import DomainError
from sscard.kms.partners import PartnerKeys, default_keys
from sscard.remote import faults, messages
from sscard.remote.client import CENTRE_PATH, Sender, http_send
from sscard.remote.config import DEMO_ADMIN_TOKEN, REGION_RE, HubSettings
from sscard.remote.errors import (
    ClearingDifference,
    HubAdminUnauthorised,
    RemoteCentreUnavailable,
    RemoteMessageConflict,
    RemoteMessageMalformed,
    RemoteRegionUnknown,
)

_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")


class HubBase(DeclarativeBase):
    pass


class HubCentre(HubBase):
    __tablename__ = "hub_centres"

    region: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    url: Mapped[str] = mapped_column(String(200))
    bank_code: Mapped[str] = mapped_column(String(10), default="ICBC")
    account_no: Mapped[str] = mapped_column(String(32), default="")
    account_name: Mapped[str] = mapped_column(String(50), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class HubMessage(HubBase):
    __tablename__ = "hub_messages"
    __table_args__ = (UniqueConstraint("origin", "msg_id", name="uq_hub_messages_origin_msg"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    origin: Mapped[str] = mapped_column(String(6))
    destination: Mapped[str] = mapped_column(String(6))
    msg_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    digest: Mapped[str] = mapped_column(String(64))
    request: Mapped[str] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="forwarding")  # forwarding / answered
    outcome: Mapped[str] = mapped_column(String(12), default="")  # settle: settled / refused / reversed / cancelled
    amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # settle: what the home owes the treating city
    month: Mapped[str] = mapped_column(String(7), default="")
    ref: Mapped[str] = mapped_column(String(64), default="")  # reverse/cancel: the settle message they undo
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    answered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class HubClearing(HubBase):
    __tablename__ = "hub_clearings"
    __table_args__ = (UniqueConstraint("month", "debtor", "creditor", name="uq_hub_clearings_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(String(40))
    month: Mapped[str] = mapped_column(String(7))
    debtor: Mapped[str] = mapped_column(String(6))  # pays the net amount
    creditor: Mapped[str] = mapped_column(String(6))
    gross_debtor_fen: Mapped[int] = mapped_column(BigInteger)  # what the debtor's insured cost the creditor
    gross_creditor_fen: Mapped[int] = mapped_column(BigInteger)
    net_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default="sent")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class HubReconItem(HubBase):
    __tablename__ = "hub_recon_items"
    __table_args__ = (UniqueConstraint("month", "origin", "msg_id", name="uq_hub_recon_items_msg"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))
    origin: Mapped[str] = mapped_column(String(6))  # the treating centre
    destination: Mapped[str] = mapped_column(String(6))  # the home centre
    msg_id: Mapped[str] = mapped_column(String(64))
    hub_fen: Mapped[int | None] = mapped_column(BigInteger)
    treating_fen: Mapped[int | None] = mapped_column(BigInteger)
    home_fen: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open / excluded / accepted
    resolution: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


_HUB_MESSAGES = HubMessage.metadata.tables[HubMessage.__tablename__]
_JOURNAL = {name: dialect_insert(_HUB_MESSAGES).on_conflict_do_nothing(
    index_elements=[_HUB_MESSAGES.c.origin, _HUB_MESSAGES.c.msg_id]).returning(_HUB_MESSAGES.c.id)
    for name, dialect_insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))}
_JOURNALLED = select(_HUB_MESSAGES.c.id, _HUB_MESSAGES.c.digest, _HUB_MESSAGES.c.answer).where(
    _HUB_MESSAGES.c.origin == bindparam("origin"), _HUB_MESSAGES.c.msg_id == bindparam("msg_id"))
# the first answer is kept (a twin's later answer to the same message is the same answer)
_ANSWER_SETTLE = update(_HUB_MESSAGES).where(
    _HUB_MESSAGES.c.id == bindparam("b_id"), _HUB_MESSAGES.c.answer.is_(None)).values(
    answer=bindparam("b_answer"), status="answered", answered_at=bindparam("b_at"), month=bindparam("b_month"),
    outcome=bindparam("b_outcome"), amount_fen=bindparam("b_amount"))


def create_schema(db: Database) -> None:
    HubBase.metadata.create_all(db.engine)


class Hub:
    """The hub's database, settings, key ring and how it forwards (HTTP by default)."""

    def __init__(self, db: Database, settings: HubSettings | None = None, ring: PartnerKeys | None = None,
                 send: Sender | None = None) -> None:
        self.db = db
        self.settings = settings or HubSettings()
        self.ring = ring or default_keys()
        self.send: Sender = send or http_send
        self._centres: dict[str, HubCentre] | None = None
        self._lock = threading.Lock()

    @property
    def region(self) -> str:
        return self.settings.region

    # -- registry --------------------------------------------------------------------------------------
    def register(self, region: str, name: str, url: str, bank_code: str = "ICBC", account_no: str = "",
                 account_name: str = "") -> None:
        if not REGION_RE.fullmatch(region) or region == self.region or not url.startswith(("http://", "https://")):
            raise RemoteRegionUnknown(f"{region[:10]!r}: a six-digit 统筹区 code and an http(s) URL", region=region)
        with self.db.unit_of_work() as session:
            row = session.get(HubCentre, region)
            if row is None:
                session.add(HubCentre(region=region, name=name, url=url, bank_code=bank_code,
                                      account_no=account_no or f"SIF{region}", account_name=account_name or name))
            else:
                row.name, row.url, row.active = name, url, True
                row.bank_code, row.account_no = bank_code, account_no or row.account_no
                row.account_name = account_name or row.account_name
        self._centres = None

    def centres(self) -> dict[str, HubCentre]:
        with self._lock:
            if self._centres is None:
                with self.db.unit_of_work() as session:
                    rows = list(session.execute(select(HubCentre).where(HubCentre.active.is_(True))).scalars())
                    session.expunge_all()
                self._centres = {r.region: r for r in rows}
            return self._centres

    # -- routing ---------------------------------------------------------------------------------------
    def relay(self, raw: bytes) -> bytes:
        centres = self.centres()
        env = messages.parse(raw, self.ring, receiver=self.region, senders=frozenset(centres))
        if env.origin != env.sender:
            raise RemoteMessageMalformed("a centre sends its own messages only")
        if env.kind == "answer" or env.kind in ("statement", "clearing"):
            raise RemoteMessageMalformed(f"the hub does not relay {env.kind} messages from a centre")
        dest = centres.get(env.destination)
        if dest is None or env.destination == env.origin:
            raise RemoteRegionUnknown(f"{env.destination} is not a registered centre", region=env.destination)
        row_id, stored = self._journal(env, raw)
        if stored is not None:
            return self._to_origin(env, stored.encode("utf-8"))
        forwarded = messages.reseal(self.ring, env, self.region, env.destination)
        answer_raw = self.send(dest.url.rstrip("/") + CENTRE_PATH, forwarded.raw, self.settings.forward_seconds)
        answer = messages.parse(answer_raw, self.ring, receiver=self.region, senders={env.destination})
        if answer.kind != "answer" or answer.body.get("in_reply_to") != env.msg_id \
                or answer.origin != env.destination or answer.destination != env.origin:
            raise RemoteMessageMalformed(f"the answer to {env.msg_id} is not its answer")
        self._answered(row_id, env, answer)
        if faults.enabled() and faults.drop("hub_answer"):
            raise RemoteCentreUnavailable("test: the hub's answer to the origin was dropped")
        return messages.reseal(self.ring, answer, self.region, env.origin).raw  # checked above: not parsed again

    def _to_origin(self, env: messages.Envelope, answer_raw: bytes) -> bytes:
        stored = messages.parse(answer_raw, self.ring, receiver=self.region)
        return messages.reseal(self.ring, stored, self.region, env.origin).raw

    def _journal(self, env: messages.Envelope, raw: bytes) -> tuple[int, str | None]:
        """The message's journal row (id, stored answer): inserted now, or the one already there (the same
        message again; another message under its id is MESSAGE_CONFLICT). One Core statement on the way in:
        every relayed message passes here (bench/remote.py)."""
        ref = env.body.get("settle_msg_id")
        with self._single_statements() as conn:
            found = conn.execute(_JOURNAL[conn.dialect.name], {
                "origin": env.origin, "destination": env.destination, "msg_id": env.msg_id, "kind": env.kind,
                "digest": env.digest, "request": raw.decode("utf-8"), "ref": ref if isinstance(ref, str) else "",
                "answer": None, "status": "forwarding", "outcome": "", "amount_fen": 0, "month": "",
                "created_at": utcnow(), "answered_at": None}).first()
            if found is not None:
                return int(found[0]), None
            row_id, digest, answer = conn.execute(_JOURNALLED, {"origin": env.origin, "msg_id": env.msg_id}).one()
        if digest != env.digest:
            raise RemoteMessageConflict(f"message {env.msg_id} was another message", msg_id=env.msg_id)
        return int(row_id), answer

    @contextmanager
    def _single_statements(self) -> Iterator[Connection]:
        """A connection for the relay's journal statements, each a transaction by itself (one statement, atomic
        alone): on PostgreSQL in autocommit, so a statement costs one round trip rather than three (BEGIN,
        the statement, COMMIT) — the hub journals twice per relayed message. On SQLite an ordinary
        transaction (the engine's BEGIN IMMEDIATE serialises writers; autocommit would bypass it)."""
        if self.db.dialect == "postgresql":
            with self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                yield conn
        else:
            with self.db.engine.begin() as conn:
                yield conn

    def _answered(self, row_id: int, env: messages.Envelope, answer: messages.Envelope) -> None:
        body = answer.body
        if env.kind == "settle":  # the hot case: one Core UPDATE
            split = body.get("split") or {}
            with self._single_statements() as conn:
                conn.execute(_ANSWER_SETTLE, {
                    "b_id": row_id, "b_answer": answer.raw.decode("utf-8"), "b_at": utcnow(),
                    "b_month": f"{clock.local_date():%Y-%m}", "b_outcome": "settled" if body.get("ok") else "refused",
                    "b_amount": int(split.get("fund_paid_fen", 0)) + int(split.get("account_paid_fen", 0))
                    if body.get("ok") else 0})
            return
        with self.db.unit_of_work() as session:
            row = session.get(HubMessage, row_id, with_for_update=True)
            assert row is not None
            if row.answer is not None:
                return
            row.answer, row.status, row.answered_at = answer.raw.decode("utf-8"), "answered", utcnow()
            row.month = f"{clock.local_date():%Y-%m}"
            if env.kind == "settle":
                if body.get("ok"):
                    split = body.get("split") or {}
                    row.outcome = "settled"
                    row.amount_fen = int(split.get("fund_paid_fen", 0)) + int(split.get("account_paid_fen", 0))
                else:
                    row.outcome = "refused"
            elif env.kind in ("reverse", "cancel") and body.get("ok") and row.ref:
                row.outcome = "done"
                settled = session.execute(select(HubMessage).where(
                    HubMessage.origin == env.origin, HubMessage.msg_id == row.ref).with_for_update()
                    ).scalar_one_or_none()
                if settled is not None and settled.outcome == "settled":
                    settled.outcome = "reversed" if env.kind == "reverse" else "cancelled"
                elif settled is not None and env.kind == "cancel" and body.get("outcome") == "voided_unknown":
                    settled.outcome = "cancelled"

    def message(self, origin: str, msg_id: str) -> dict[str, Any]:
        with self.db.unit_of_work() as session:
            row = session.execute(select(HubMessage).where(HubMessage.origin == origin,
                                                           HubMessage.msg_id == msg_id)).scalar_one_or_none()
            if row is None:
                row = session.execute(select(HubMessage).where(HubMessage.msg_id == msg_id)).scalars().first()
            if row is None:
                raise RemoteRegionUnknown(f"no message {msg_id[:64]}", msg_id=msg_id[:64])
            return {"origin": row.origin, "destination": row.destination, "msg_id": row.msg_id, "kind": row.kind,
                    "status": row.status, "outcome": row.outcome, "amount_fen": row.amount_fen,
                    "month": row.month, "ref": row.ref}

    # -- clearing --------------------------------------------------------------------------------------
    def _ask(self, region: str, kind: str, msg_id: str, body: dict[str, Any]) -> dict[str, Any]:
        centre = self.centres()[region]
        env = messages.seal(self.ring, kind, msg_id, self.region, region, self.region, region, body)
        raw = self.send(centre.url.rstrip("/") + CENTRE_PATH, env.raw, max(self.settings.forward_seconds, 10.0))
        answer = messages.parse(raw, self.ring, receiver=self.region, senders={region})
        if answer.kind != "answer" or answer.body.get("in_reply_to") != msg_id:
            raise RemoteMessageMalformed(f"{region}'s answer is not the answer to {msg_id}")
        if not answer.body.get("ok"):
            raise ClearingDifference(f"{region} refused {kind}: {answer.body.get('code')}", region=region)
        return answer.body

    def clear(self, month: str) -> dict[str, Any]:
        """The month's clearing (see the module's description). Returns the positions sent, the items queued
        and the province's sum of net positions (always 0)."""
        run_id = f"CL{month.replace('-', '')}{secrets.token_hex(3).upper()}"
        centres = sorted(self.centres())
        sides: dict[str, dict[tuple[str, str], int]] = {"treating": {}, "home": {}}
        for region in centres:
            body = self._ask(region, "statement", f"ST{run_id}{region}", {"month": month})
            for line in body.get("lines", []):
                role, peer = str(line["role"]), str(line["peer"])
                treating = region if role == "treating" else peer
                sides[role][(treating, str(line["msg_id"]))] = int(line["amount_fen"])
        with self.db.unit_of_work() as session:
            hub_lines = {(r.origin, r.msg_id): (r.destination, r.amount_fen) for r in session.execute(
                select(HubMessage).where(HubMessage.kind == "settle", HubMessage.month == month,
                                         HubMessage.outcome == "settled")).scalars()}
            done = {(c.debtor, c.creditor) for c in session.execute(
                select(HubClearing).where(HubClearing.month == month)).scalars()}
            resolved = {(r.origin, r.msg_id): r for r in session.execute(
                select(HubReconItem).where(HubReconItem.month == month)).scalars()}
            owed: dict[tuple[str, str], int] = {}  # (home, treating) → agreed amount
            held: set[frozenset[str]] = set()
            keys = set(hub_lines) | set(sides["treating"]) | set(sides["home"])
            for key in sorted(keys):
                treating, msg_id = key
                dest_amount = hub_lines.get(key)
                home = dest_amount[0] if dest_amount else self._home_of(session, key)
                hub_fen = dest_amount[1] if dest_amount else None
                t_fen, h_fen = sides["treating"].get(key), sides["home"].get(key)
                item = resolved.get(key)
                if hub_fen is not None and hub_fen == t_fen == h_fen and (item is None or item.status != "excluded"):
                    owed[(home, treating)] = owed.get((home, treating), 0) + hub_fen
                    continue
                if item is None:
                    item = HubReconItem(month=month, origin=treating, destination=home, msg_id=msg_id,
                                        hub_fen=hub_fen, treating_fen=t_fen, home_fen=h_fen, status="open",
                                        resolution="")
                    session.add(item)
                    resolved[key] = item
                if item.status == "accepted":
                    amount = int(item.resolution.split("=", 1)[1]) if "=" in item.resolution else 0
                    owed[(home, treating)] = owed.get((home, treating), 0) + amount
                elif item.status == "open":
                    held.add(frozenset((home, treating)))
            positions: list[dict[str, Any]] = []
            pairs = {frozenset(p) for p in owed} | held
            for pair in sorted(pairs, key=sorted):
                if len(pair) != 2:
                    continue
                a, b = sorted(pair)
                if pair in held or (a, b) in done or (b, a) in done:
                    continue
                a_owes, b_owes = owed.get((a, b), 0), owed.get((b, a), 0)
                debtor, creditor = (a, b) if a_owes >= b_owes else (b, a)
                gross_d, gross_c = max(a_owes, b_owes), min(a_owes, b_owes)
                positions.append({"debtor": debtor, "creditor": creditor, "gross_debtor_fen": gross_d,
                                  "gross_creditor_fen": gross_c, "net_fen": gross_d - gross_c,
                                  "a": a, "b": b, "a_owes": a_owes, "b_owes": b_owes})
            net = {r: 0 for r in centres}
            for p in positions:
                net[p["creditor"]] += p["net_fen"]
                net[p["debtor"]] -= p["net_fen"]
            if sum(net.values()) != 0:  # pragma: no cover - every position is booked on both sides
                raise AssertionError("the province's clearing does not sum to zero")
            queued = [{"origin": i.origin, "destination": i.destination, "msg_id": i.msg_id, "hub_fen": i.hub_fen,
                       "treating_fen": i.treating_fen, "home_fen": i.home_fen, "status": i.status}
                      for i in resolved.values() if i.status == "open"]
        for region in centres:
            mine = []
            for p in positions:
                if region not in (p["a"], p["b"]):
                    continue
                peer = p["b"] if region == p["a"] else p["a"]
                i_owe = p["a_owes"] if region == p["a"] else p["b_owes"]
                peer_owes = p["b_owes"] if region == p["a"] else p["a_owes"]
                centre = self.centres()[peer]
                mine.append({"peer": peer, "receivable_fen": peer_owes, "payable_fen": i_owe,
                             "peer_bank": centre.bank_code, "peer_account_no": centre.account_no,
                             "peer_account_name": centre.account_name})
            if mine:
                self._ask(region, "clearing", f"CP{run_id}{region}", {"month": month, "run_id": run_id,
                                                                       "positions": mine})
        with self.db.unit_of_work() as session:
            for p in positions:
                session.add(HubClearing(run_id=run_id, month=month, debtor=p["debtor"], creditor=p["creditor"],
                                        gross_debtor_fen=p["gross_debtor_fen"],
                                        gross_creditor_fen=p["gross_creditor_fen"], net_fen=p["net_fen"]))
        return {"run_id": run_id, "month": month, "positions": [
            {k: p[k] for k in ("debtor", "creditor", "gross_debtor_fen", "gross_creditor_fen", "net_fen")}
            for p in positions], "queued": queued, "province_net_fen": sum(net.values()),
            "net_by_region": net}

    def _home_of(self, session: Session, key: tuple[str, str]) -> str:
        row = session.execute(select(HubMessage.destination).where(HubMessage.origin == key[0],
                                                                   HubMessage.msg_id == key[1])).first()
        return str(row[0]) if row else "000000"

    def resolve(self, month: str, origin: str, msg_id: str, decision: str, amount_fen: int | None = None) -> None:
        """A queued difference decided: ``exclude`` (left out of this month's clearing) or ``accept`` with the
        amount both centres agreed on after checking."""
        if decision not in ("exclude", "accept") or (decision == "accept" and (amount_fen is None or amount_fen < 0)):
            raise RemoteMessageMalformed("decision: exclude, or accept with an amount")
        with self.db.unit_of_work() as session:
            item = session.execute(select(HubReconItem).where(HubReconItem.month == month,
                                                              HubReconItem.origin == origin,
                                                              HubReconItem.msg_id == msg_id)).scalar_one_or_none()
            if item is None:
                raise RemoteRegionUnknown(f"no queued difference {msg_id[:64]}", msg_id=msg_id[:64])
            item.status = "excluded" if decision == "exclude" else "accepted"
            item.resolution = decision if decision == "exclude" else f"accept={amount_fen}"

    def queue(self, month: str | None = None) -> list[dict[str, Any]]:
        with self.db.unit_of_work() as session:
            query = select(HubReconItem)
            if month:
                query = query.where(HubReconItem.month == month)
            return [{"month": i.month, "origin": i.origin, "destination": i.destination, "msg_id": i.msg_id,
                     "hub_fen": i.hub_fen, "treating_fen": i.treating_fen, "home_fen": i.home_fen,
                     "status": i.status, "resolution": i.resolution}
                    for i in session.execute(query.order_by(HubReconItem.id)).scalars()]

    def totals(self) -> dict[str, Any]:
        with self.db.unit_of_work() as session:
            rows = session.execute(select(HubMessage.kind, HubMessage.outcome, func.count(),
                                          func.coalesce(func.sum(HubMessage.amount_fen), 0))
                                   .group_by(HubMessage.kind, HubMessage.outcome)).all()
        return {"messages": [{"kind": k, "outcome": o, "count": int(n), "amount_fen": int(a)}
                             for k, o, n, a in rows]}


def admin_allowed(configured: str, mode: str, authorization: str | None) -> bool:
    """Whether ``Authorization`` carries the hub's admin token: the configured one (constant-time compare), or
    with none configured the public demo token outside production mode; in production with none, nothing."""
    token = configured or (DEMO_ADMIN_TOKEN if mode != "production" else "")
    scheme, _, presented = (authorization or "").partition(" ")
    if not token or scheme.lower() != "bearer" or not presented:
        return False
    return hmac.compare_digest(presented.strip().encode("utf-8"), token.encode("utf-8"))


def _error(exc: DomainError) -> JSONResponse:
    return JSONResponse({"error": exc.to_dict()}, status_code=exc.http_status)


def create_hub_app(hub: Hub) -> FastAPI:
    """The hub's HTTP interface (loopback in the tests; behind the province's network in production)."""
    app = FastAPI(title="sscard provincial hub", version="1")
    app.state.hub = hub

    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        return _error(exc)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok", "region": hub.region}

    @app.post("/hub/v1/messages", response_class=Response)
    async def relay_raw(request: Request) -> Response:
        raw = await request.body()
        if len(raw) > messages.MAX_BYTES:
            return _error(RemoteMessageMalformed("too large"))
        answer = await to_thread.run_sync(hub.relay, raw)
        return Response(answer, media_type="application/json")

    # Every relayed message is this route: a plain Starlette route first in the routes (FastAPI's endpoint
    # machinery — dependency solving, response handling — does nothing for it); the FastAPI route above stays
    # for the OpenAPI document and is shadowed by this one (same path, method and answer).
    app.router.routes.insert(0, Route("/hub/v1/messages", relay_raw, methods=["POST"]))

    @app.get("/hub/v1/centres")
    def centres() -> list[dict[str, Any]]:
        return [{"region": c.region, "name": c.name, "url": c.url, "bank_code": c.bank_code}
                for c in hub.centres().values()]

    @app.get("/hub/v1/messages/{msg_id}")
    def message(msg_id: str, origin: str = "") -> dict[str, Any]:
        return hub.message(origin, msg_id)

    @app.get("/hub/v1/totals")
    def totals() -> dict[str, Any]:
        return hub.totals()

    def admin(request: Request) -> None:
        if not admin_allowed(hub.settings.admin_token, get_settings().mode, request.headers.get("authorization")):
            raise HubAdminUnauthorised()

    @app.post("/hub/v1/clearing/{month}")
    def clear(month: str, request: Request) -> dict[str, Any]:
        admin(request)
        if not _MONTH.fullmatch(month):
            raise RemoteMessageMalformed("month: YYYY-MM")
        return hub.clear(month)

    @app.get("/hub/v1/reconciliation")
    def queue(request: Request, month: str | None = None) -> list[dict[str, Any]]:
        admin(request)
        return hub.queue(month)

    @app.post("/hub/v1/reconciliation/{month}/{origin}/{msg_id}")
    def resolve(month: str, origin: str, msg_id: str, body: dict[str, Any], request: Request) -> dict[str, str]:
        admin(request)
        amount = body.get("amount_fen")
        hub.resolve(month, origin, msg_id, str(body.get("decision", "")),
                    amount if isinstance(amount, int) and not isinstance(amount, bool) else None)
        return {"status": "resolved"}

    @app.post("/hub/v1/test/faults")
    def set_faults(body: dict[str, Any]) -> Response:
        if not faults.enabled():
            return Response(status_code=404)
        drops = {k: int(v) for k, v in body.items() if k in faults.HOPS and isinstance(v, int)}
        return JSONResponse(faults.set_faults(drops, int(body.get("home_delay_ms", 0) or 0)))

    return app

