"""Cross-region medical settlement (异地就医直接结算), both sides of it, through the provincial hub
(docs/cross-region.md).

Treating city (就医地): a hospital's 2207 names another 统筹区 (``insuplc_admdvs``, the card's issuing region);
``settle`` classifies the bill with this city's catalogue and price caps, stores the ``settle`` message (its id
derived from the hospital's institution and message id, so the hospital's retry is the same message) and sends
it through the hub, asking again with the same id until ``deadline_seconds``; on the home city's answer it pays
the hospital (``institution:<code>:payable``) and books the receivable on the home city
(``region:<home>:receivable``) in one transaction. Nothing is booked here before the answer; an unreachable hub
or home city is ``REMOTE_CENTRE_UNAVAILABLE``. ``reverse`` (2208) crosses the same way.

Home city (参保地): ``receive`` takes the hub's relayed message; ``settle`` identifies the card's holder, finds
the 备案 for the treating city on the bill's date, applies this city's policy (the remote-care rule the
registration kind names, dated ``remote.care.*``), accumulators and personal account in one transaction
(``medical.service.settle_for_region``), books what it owes the treating city (``region:<treating>:payable``)
and answers. A message id is answered once (``remote_messages``): the same message again gets the stored answer.

``close_pending`` (the nightly job) cancels any settlement message still unanswered here: the home city
reverses it if it had settled, or refuses it for good if it had not.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Date, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard import bulksql, clock
from sscard.access import Actor, Permission, Role
from sscard.audit import service as audit
from sscard.banks.gateway import BankGateway, gateway_for
from sscard.cards.records import valid_card_of
from sscard.db import Database, utcnow
from sscard.errors import DomainError
from sscard.kms.partners import PartnerKeys, default_keys
from sscard.ledger import chart
from sscard.ledger import service as ledger
from sscard.ledger.errors import LedgerAccountNotFound
from sscard.ledger.schemas import TransferIn
from sscard.medical import config as medical_config
from sscard.medical import service as medical
from sscard.medical.catalogue import Catalogue, CatalogueItem
from sscard.medical.engine_schemas import Bill, Split
from sscard.medical.errors import BillDateInvalid, BillInvalid
from sscard.medical.identify import identify
from sscard.medical.institutions import InstitutionPrincipal, check_key, check_terminal
from sscard.medical.policy import Policy
from sscard.medical.schemas import AccumulatorsOut, ReversalOut, ReverseIn, SettleIn, SettlementOut
from sscard.medical.terms import CatalogueClass, RemoteCare
from sscard.policy import service as policy
from sscard.policy.errors import PolicyMissing
from sscard.registry import idnumber
from sscard.registry import service as registry
from sscard.registry.errors import PersonNotFound
from sscard.remote import faults, messages
from sscard.remote.client import HUB_PATH, Sender, http_send
from sscard.remote.config import RemoteSettings
from sscard.remote.errors import (
    ClearingDifference,
    RegistrationInvalid,
    RegistrationNotFound,
    RemoteCentreUnavailable,
    RemoteMessageConflict,
    RemoteMessageMalformed,
    RemoteNotRegistered,
    RemoteRefused,
    RemoteRegionUnknown,
    RemoteSettlementCancelled,
    RemoteSettlementNotFound,
)
from sscard.remote.models import KIND_NAMES, RemoteClearing, RemoteMessage, RemoteRegistration, RemoteSettlement
from sscard.remote.schemas import (
    ClearingBody,
    Figures,
    InstitutionRef,
    RegistrationBody,
    RegistrationIn,
    RegistrationOut,
    RemoteBill,
    RemoteSettlementOut,
    ReverseBody,
    SettleBody,
    StatementBody,
    StatementLine,
)

CARE_CODES = {1: RemoteCare.LONG_TERM, 2: RemoteCare.REFERRED, 3: RemoteCare.UNREFERRED}
UNREGISTERED = "unregistered"

# The journal's hot statements, prebuilt Core (sscard.bulksql) rather than ORM units of work: every remote
# settlement writes a message row at each centre, and the ORM's flush machinery was a measurable share of a
# centre's CPU per message (bench/remote.py, py-spy). ``_CLAIM``: the message row inserted unless its id is
# there already (a concurrent twin waits on the unique index and then inserts nothing).
_MSG = RemoteMessage.metadata.tables[RemoteMessage.__tablename__]
_SETTLEMENTS = RemoteSettlement.metadata.tables[RemoteSettlement.__tablename__]
_INSERT_SETTLEMENT = insert(_SETTLEMENTS).inline()
_CLAIM = {name: dialect_insert(_MSG).on_conflict_do_nothing(
    index_elements=[_MSG.c.direction, _MSG.c.peer, _MSG.c.msg_id]).returning(_MSG.c.id)
    for name, dialect_insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))}
_SEEN = select(_MSG.c.status, _MSG.c.digest, _MSG.c.answer, _MSG.c.local_answer, _MSG.c.ref).where(
    _MSG.c.direction == bindparam("direction"), _MSG.c.peer == bindparam("peer"),
    _MSG.c.msg_id == bindparam("msg_id"))
_ANSWERED = update(_MSG).where(_MSG.c.id == bindparam("b_id")).values(
    answer=bindparam("b_answer"), status=bindparam("b_status"), answered_at=bindparam("b_at"),
    ref=bindparam("b_ref"))


class Exchange:
    """This centre's settings, its partner key ring and how messages travel (HTTP to the hub by default)."""

    def __init__(self, settings: RemoteSettings | None = None, ring: PartnerKeys | None = None,
                 send: Sender | None = None, gateway: Any = None) -> None:
        self.settings = settings or RemoteSettings()
        self.ring = ring or default_keys()
        self.send: Sender = send or http_send
        self._gateway = gateway

    @property
    def region(self) -> str:
        return self.settings.region

    @property
    def hub(self) -> str:
        return self.settings.hub_region

    def gateway(self, db: Database) -> BankGateway:
        found: BankGateway = self._gateway(self.settings.bank_code) if self._gateway else \
            gateway_for(self.settings.bank_code, db=db)
        return found

    def seal(self, kind: str, msg_id: str, destination: str, body: dict[str, Any]) -> messages.Envelope:
        return messages.seal(self.ring, kind, msg_id, self.region, destination, self.region, self.hub, body)

    def answer(self, env: messages.Envelope, body: dict[str, Any]) -> messages.Envelope:
        return messages.seal(self.ring, "answer", f"A{env.msg_id}"[:64], self.region, env.origin, self.region,
                             self.hub, {"in_reply_to": env.msg_id, **body})

    def exchange(self, raw: bytes, deadline: float) -> messages.Envelope:
        """Send ``raw`` to the hub, again (same bytes) while the deadline allows; the hub's answer, parsed."""
        if not self.settings.hub_url:
            raise RemoteCentreUnavailable("no hub configured (SSCARD_REMOTE_HUB_URL)")
        url = self.settings.hub_url.rstrip("/") + HUB_PATH
        last: DomainError | None = None
        while True:
            left = deadline - time.monotonic()
            if left <= 0.05:
                break
            try:
                answer = self.send(url, raw, min(self.settings.attempt_seconds, left))
                return messages.parse(answer, self.ring, receiver=self.region, senders={self.hub})
            except RemoteCentreUnavailable as exc:
                last = exc
                time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        raise RemoteCentreUnavailable(last.detail if last else "no time left")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def remote_msg_id(prefix: str, region: str, institution: str, msg_id: str) -> str:
    """The cross-region message id of a hospital's message: the same hospital message, the same id end to end."""
    return prefix + hashlib.sha256(f"{region}|{institution}|{msg_id}".encode()).hexdigest()[:40]


def _answer_ok(env: messages.Envelope, expected: str) -> dict[str, Any]:
    if env.kind != "answer" or env.body.get("in_reply_to") != expected:
        raise RemoteMessageMalformed(f"the answer is not the answer to {expected}")
    return env.body


def _refusal(body: dict[str, Any]) -> DomainError:
    code = str(body.get("code", ""))[:40]
    detail = str(body.get("detail", ""))[:200] or None
    if code == RemoteNotRegistered.code:
        return RemoteNotRegistered(detail)
    if code == RemoteSettlementCancelled.code:
        return RemoteSettlementCancelled(detail)
    return RemoteRefused(detail, code=code)


# ------------------------------------------------------------------------------------------------ treating city


def _classify(session: Session, bill: Bill) -> list[CatalogueItem]:
    codes = sorted({line.code for line in bill.lines if not line.out_of_catalogue})
    local_policy, catalogue = medical_config.rules_on(session, bill.date, codes)
    return classify(local_policy, catalogue, bill)


def classify(local_policy: Policy, catalogue: Catalogue, bill: Bill) -> list[CatalogueItem]:
    """The bill's catalogue rows in the treating city (就医地目录: class, price cap), with this city's 乙类 rate
    resolved into each row and dated the bill's day: what the home city splits with. A code not in this
    catalogue is left out (the home engine refuses its line, CATALOGUE_ITEM_UNKNOWN, as a local one would)."""
    items = []
    for code in sorted({line.code for line in bill.lines if not line.out_of_catalogue}):
        item = catalogue.item(code, bill.date)
        if item is None:
            continue
        rate = item.yi_self_pay_bp
        if item.catalogue_class is CatalogueClass.YI and rate is None:
            rate = local_policy.yi_self_pay_bp_by_item_type.get(item.item_type, local_policy.yi_self_pay_bp)
        items.append(item.model_copy(update={"yi_self_pay_bp": rate, "effective_from": bill.date,
                                             "effective_to": bill.date}))
    return items


def _out_row(session: Session, peer: str, msg_id: str, lock: bool = False) -> RemoteMessage | None:
    query = select(RemoteMessage).where(RemoteMessage.direction == "out", RemoteMessage.peer == peer,
                                        RemoteMessage.msg_id == msg_id)
    if lock:
        query = query.with_for_update()
    return session.execute(query.execution_options(populate_existing=True)).scalar_one_or_none()


@dataclass(frozen=True, slots=True)
class _Staged:
    """An outgoing message row as the sending side needs it."""

    msg_id: str
    status: str
    request: str
    local_answer: str | None


def _stage(db: Database, ex: Exchange, peer: str, msg_id: str, kind: str, ref: str,
           build: Any, check: InstitutionPrincipal | None = None) -> _Staged:
    """The outgoing message row: the stored one (a retry), or ``build(session)``'s body sealed and stored
    (``check``: the institution's key is checked first, in the same transaction). Core statements (the
    treating centre's hot path, see ``_CLAIM``)."""
    with db.unit_of_work() as session:
        if check is not None:
            check_key(session, check)
        # built and claimed first (the usual case: a new message); a retry builds again and finds the first
        env = ex.seal(kind, msg_id, peer, build(session))
        request = env.raw.decode("utf-8")
        if _claim(session, {"direction": "out", "peer": peer, "msg_id": msg_id, "kind": kind, "ref": ref,
                            "digest": env.digest, "request": request, "status": "pending"}) is not None:
            return _Staged(msg_id, "pending", request, None)
        seen = _seen(session, "out", peer, msg_id)  # a retry, or a twin of this request stored it first
        assert seen is not None
        status, _digest, _answer, local_answer, _ref = seen
        request = str(session.execute(select(RemoteMessage.request).where(
            RemoteMessage.direction == "out", RemoteMessage.peer == peer, RemoteMessage.msg_id == msg_id)
            ).scalar_one()) if status == "pending" else ""
        return _Staged(msg_id, status, request, local_answer)


def _stage_retrying(db: Database, ex: Exchange, peer: str, msg_id: str, kind: str, ref: str,
                    build: Any, check: InstitutionPrincipal | None = None) -> _Staged:
    try:
        return _stage(db, ex, peer, msg_id, kind, ref, build, check)
    except IntegrityError:  # pragma: no cover - the claim inserts nothing for a twin; kept for other uniques
        return _stage(db, ex, peer, msg_id, kind, ref, build, check)


def _replay(row: RemoteMessage | _Staged, model: type[Any]) -> Any:
    if row.status == "cancelled":
        raise RemoteSettlementCancelled(msg_id=row.msg_id)
    assert row.local_answer is not None
    stored = json.loads(row.local_answer)
    if "error" in stored:
        raise _refusal(stored["error"])
    return model.model_validate(stored).model_copy(update={"replayed": True})


def settle(db: Database, principal: InstitutionPrincipal, req: SettleIn,
           exchange: Exchange | None = None) -> SettlementOut:
    """2207 for a card of another 统筹区 (``req.insuplc_admdvs``). See the module's description."""
    ex = exchange or Exchange()
    principal.require_service(req.bill.visit_type.value)
    home = req.insuplc_admdvs
    if home is None or home == ex.region:
        raise RemoteRegionUnknown("not another 统筹区's card", region=str(home))
    if req.card_no is None or req.id_number is not None or req.ecard_code is not None or req.legacy_card_no:
        raise RemoteMessageMalformed("a remote settlement is by the card (card_no) only")
    if req.bill.date > clock.local_date():
        raise BillDateInvalid(req.bill.date.isoformat(), date=req.bill.date.isoformat())
    deadline = time.monotonic() + ex.settings.deadline_seconds
    msg_id = remote_msg_id("S", ex.region, principal.code, req.msg_id)
    def build(session: Session) -> dict[str, Any]:
        check_terminal(session, principal, req.terminal_no)
        try:
            bill = Bill.model_validate({**req.bill.model_dump(exclude={"remote", "total_fen"}),
                                        "hospital_level": principal.level})
        except ValidationError as exc:
            raise BillInvalid("; ".join(str(e["msg"]) for e in exc.errors()[:3])) from None
        body = SettleBody(treating_region=ex.region,
                          institution=InstitutionRef(code=principal.code, kind=principal.kind,
                                                     level=principal.level),
                          hospital_msg_id=req.msg_id, card_no=req.card_no.strip().upper() if req.card_no else "",
                          use_account=req.use_account,
                          bill=RemoteBill(bill_no=bill.bill_no, date=bill.date, visit_type=bill.visit_type,
                                          admission_no_in_year=bill.admission_no_in_year,
                                          fund_exclusion=bill.fund_exclusion, lines=bill.lines),
                          items=_classify(session, bill))
        return body.model_dump(mode="json")

    # a principal from the cache: its key is checked again, in the staging transaction (retry or not)
    row = _stage_retrying(db, ex, home, msg_id, "settle", req.msg_id, build,
                          check=principal if principal.key_sha256 is not None else None)
    if row.status != "pending":
        return _replay(row, SettlementOut)  # type: ignore[no-any-return]
    answer = _answer_ok(ex.exchange(row.request.encode("utf-8"), deadline), msg_id)
    return _book_settlement(db, principal, req, home, msg_id, answer, ex.region)


_FINISH = update(_MSG).where(
    _MSG.c.direction == "out", _MSG.c.peer == bindparam("b_peer"), _MSG.c.msg_id == bindparam("b_msg_id"),
    _MSG.c.status == "pending").values(
    answer=bindparam("b_answer"), answered_at=bindparam("b_at"), status=bindparam("b_status"),
    local_answer=bindparam("b_local"), ref=bindparam("b_ref")).returning(_MSG.c.id)


def _finish(session: Session, peer: str, msg_id: str, answer: dict[str, Any], status: str, local: str,
            ref: str) -> bool:
    """The pending outgoing message marked answered (or refused) with what this centre answers its caller,
    in one statement that also claims it (its row lock until COMMIT): False if it was not pending any more
    (a twin or the nightly close finished it first)."""
    return bool(bulksql.execute(session, _FINISH, {
        "b_peer": peer, "b_msg_id": msg_id, "b_answer": json.dumps(answer, ensure_ascii=False), "b_at": utcnow(),
        "b_status": status, "b_local": local, "b_ref": ref}))


def _replay_finished(db: Database, home: str, msg_id: str) -> SettlementOut:
    with db.unit_of_work() as session:
        row = _out_row(session, home, msg_id)
        assert row is not None
        return _replay(row, SettlementOut)  # type: ignore[no-any-return]


def _book_settlement(db: Database, principal: InstitutionPrincipal, req: SettleIn, home: str, msg_id: str,
                     answer: dict[str, Any], region: str) -> SettlementOut:
    """The home city's answer booked here: the message finished, the settlement row, the hospital's payment
    and the receivable on the home city, in one transaction (Core statements: the treating centre's hot path)."""
    if not answer.get("ok"):
        with db.unit_of_work() as session:
            finished = _finish(session, home, msg_id, answer, "refused",
                               json.dumps({"error": answer}, ensure_ascii=False), req.msg_id)
        if not finished:
            return _replay_finished(db, home, msg_id)
        raise _refusal(answer)
    split = Split.model_validate(answer["split"])
    today = clock.local_date()
    setl_id = f"R{region}{today:%Y%m%d}{secrets.token_hex(4).upper()}"
    out = SettlementOut(
        msg_id=req.msg_id, setl_id=setl_id, institution=principal.code, identified_by="card",
        card_no=req.card_no, settled_on=today, split=split,
        accumulators_after=AccumulatorsOut.model_validate(answer["accumulators_after"]),
        account_balance_after_fen=int(answer["account_balance_after_fen"]))
    with db.unit_of_work() as session:
        if not _finish(session, home, msg_id, answer, "answered", out.model_dump_json(), setl_id):
            session.expunge_all()  # nothing was written: the unit of work ends without a change
            replay = True
        else:
            replay = False
            _book_treating(session, principal, req, home, msg_id, answer, split, setl_id, today)
    return _replay_finished(db, home, msg_id) if replay else out


def _book_treating(session: Session, principal: InstitutionPrincipal, req: SettleIn, home: str, msg_id: str,
                   answer: dict[str, Any], split: Split, setl_id: str, today: dt.date) -> None:
    owed = split.fund_paid_fen + split.account_paid_fen
    receivable, payable = chart.RegionReceivable(home), chart.InstitutionPayable(principal.code)
    chart.open_missing(session, [receivable, payable])
    # the journal and settlement rows first; the transfer (it locks the hospital's payable and the
    # receivable, busy rows every remote settlement touches) is the last statement before COMMIT
    bulksql.execute(session, _INSERT_SETTLEMENT, dict(
        setl_id=setl_id, role="treating", peer=home, msg_id=msg_id, institution_code=principal.code,
        hospital_msg_id=req.msg_id, person_id=None, card_no=req.card_no,
        registration=answer.get("registration"), remote_care=str(answer.get("remote_care", "")),
        bill_no=split.bill_no, bill_date=split.date, settled_on=today, month=f"{today:%Y-%m}",
        total_fen=split.total_fen, fund_paid_fen=split.fund_paid_fen,
        account_paid_fen=split.account_paid_fen, cash_fen=split.cash_fen, split=json.dumps(answer["split"]),
        status="settled", created_at=utcnow()))
    if owed:
        ledger.transfer(session, TransferIn(id=f"rmt:{setl_id}:pay", debit_account=receivable.code,
                                            credit_account=payable.code, amount=owed,
                                            code="remote.settlement", reference=setl_id))


def ex_region(row: RemoteMessage) -> str:
    """This centre's region, read back from the message it sent (the settlement id starts with it)."""
    return str(json.loads(row.request)["origin"])


def reverse(db: Database, principal: InstitutionPrincipal, req: ReverseIn,
            exchange: Exchange | None = None) -> ReversalOut:
    """2208 of a remote settlement (``setl_id`` R…): the home city reverses first, then the hospital's payment
    and the receivable are reversed here."""
    ex = exchange or Exchange()
    principal.actor.require(Permission.MEDICAL_SETTLE)
    deadline = time.monotonic() + ex.settings.deadline_seconds
    with db.unit_of_work() as session:
        check_terminal(session, principal, req.terminal_no)
        setl = session.execute(select(RemoteSettlement).where(RemoteSettlement.setl_id == req.setl_id,
                                                              RemoteSettlement.role == "treating")
                               ).scalar_one_or_none()
        if setl is None or setl.institution_code != principal.code:
            raise RemoteSettlementNotFound(req.setl_id, setl_id=req.setl_id)
        home, settle_msg = setl.peer, setl.msg_id
    msg_id = remote_msg_id("V", ex.region, principal.code, req.msg_id)
    row = _stage_retrying(db, ex, home, msg_id, "reverse", req.setl_id,
                          lambda session: ReverseBody(settle_msg_id=settle_msg).model_dump())
    if row.status != "pending":
        return _replay(row, ReversalOut)  # type: ignore[no-any-return]
    answer = _answer_ok(ex.exchange(row.request.encode("utf-8"), deadline), msg_id)
    with db.unit_of_work() as session:
        row2 = _out_row(session, home, msg_id, lock=True)
        assert row2 is not None
        if row2.status != "pending":
            return _replay(row2, ReversalOut)  # type: ignore[no-any-return]
        row2.answer, row2.answered_at = json.dumps(answer, ensure_ascii=False), utcnow()
        if not answer.get("ok"):
            row2.status = "refused"
            row2.local_answer = json.dumps({"error": answer}, ensure_ascii=False)
            error = _refusal(answer)
        else:
            setl = session.execute(select(RemoteSettlement).where(RemoteSettlement.setl_id == req.setl_id)
                                   .with_for_update()).scalar_one()
            _reverse_treating(session, setl, req.msg_id, principal.code)
            out = ReversalOut(msg_id=req.msg_id, setl_id=setl.setl_id, status="reversed",
                              reversal_msg_id=req.msg_id, reversed_at=clock.now(),
                              fund_returned_fen=setl.fund_paid_fen, account_returned_fen=setl.account_paid_fen,
                              accumulators_after=AccumulatorsOut.model_validate(answer["accumulators_after"]))
            row2.status, row2.local_answer = "answered", out.model_dump_json()
            return out
    raise error


def _reverse_treating(session: Session, setl: RemoteSettlement, by: str, institution: str) -> None:
    if setl.status == "reversed":
        return
    owed = setl.fund_paid_fen + setl.account_paid_fen
    if owed:
        ledger.transfer(session, TransferIn(
            id=f"rmt:{setl.setl_id}:pay:rev", debit_account=chart.InstitutionPayable(institution).code,
            credit_account=chart.RegionReceivable(setl.peer).code, amount=owed, code="remote.reversal",
            reference=setl.setl_id))
    setl.status, setl.reversal_msg_id, setl.reversed_on = "reversed", by[:64], clock.local_date()


# ------------------------------------------------------------------------------------------------ home city


_DAY = bindparam("day", type_=Date)
# prebuilt (sscard.bulksql): read for every remote settlement at the home centre
_REGISTRATION_ON = select(RemoteRegistration.kind, RemoteRegistration.reg_no).where(
    RemoteRegistration.role == "home", RemoteRegistration.person_id == bindparam("person_id"),
    RemoteRegistration.treating_region == bindparam("treating"), RemoteRegistration.status == "active",
    RemoteRegistration.starts_on <= _DAY,
    (RemoteRegistration.ends_on.is_(None)) | (RemoteRegistration.ends_on >= _DAY)).order_by(
    RemoteRegistration.id.desc()).limit(1)


def _care(session: Session, person_id: int, treating: str, day: dt.date) -> tuple[RemoteCare, str | None]:
    """The remote-care rule of this visit: the 备案 for ``treating`` covering ``day`` names a kind, the dated
    policy ``remote.care.<kind>`` the rule; without one ``remote.care.unregistered`` (0: refused)."""
    rows = bulksql.execute(session, _REGISTRATION_ON, {"person_id": person_id, "treating": treating, "day": day})
    kind, reg_no = (str(rows[0][0]), str(rows[0][1])) if rows else (UNREGISTERED, None)
    try:
        code = policy.get_int(session, f"remote.care.{kind}", day)
    except PolicyMissing:
        code = 0
    if code not in CARE_CODES:
        raise RemoteNotRegistered(f"remote.care.{kind} = {code} on {day.isoformat()}")
    return CARE_CODES[code], reg_no


def _on_settle(session: Session, ex: Exchange, env: messages.Envelope) -> dict[str, Any]:
    body = _body(SettleBody, env)
    if body.treating_region != env.origin:
        raise RemoteMessageMalformed("treating_region is not the message's origin")
    subject = identify(session, body.card_no, None)
    care, reg_no = _care(session, subject.person.id, env.origin, body.bill.date)
    try:
        bill = Bill(bill_no=body.bill.bill_no, date=body.bill.date, visit_type=body.bill.visit_type,
                    hospital_level=body.institution.level, remote=care,
                    admission_no_in_year=body.bill.admission_no_in_year, fund_exclusion=body.bill.fund_exclusion,
                    lines=body.bill.lines)
    except ValidationError as exc:
        raise BillInvalid("; ".join(str(e["msg"]) for e in exc.errors()[:3])) from None
    today = clock.local_date()
    setl_id = f"H{ex.region}{today:%Y%m%d}{secrets.token_hex(4).upper()}"
    payable = chart.RegionPayable(env.origin).code
    after: list[AccumulatorsOut] = []

    def record(split: Split, position: AccumulatorsOut) -> list[bulksql.Write]:
        # written before the ledger transfers (they lock the busy fund pool and payable rows, and go last), in
        # the accumulators' round trip: a prebuilt Core insert (this is the home centre's hot path)
        after.append(position)
        return [(_INSERT_SETTLEMENT, dict(
            setl_id=setl_id, role="home", peer=env.origin, msg_id=env.msg_id,
            institution_code=body.institution.code, hospital_msg_id=body.hospital_msg_id,
            person_id=subject.person.id, card_no=body.card_no, registration=reg_no, remote_care=care.value,
            bill_no=split.bill_no, bill_date=split.date, settled_on=today, month=f"{today:%Y-%m}",
            total_fen=split.total_fen, fund_paid_fen=split.fund_paid_fen, account_paid_fen=split.account_paid_fen,
            cash_fen=split.cash_fen, split=split.model_dump_json(), status="settled", created_at=utcnow()))]

    assert subject.insured is not None  # identify refuses a person who is not insured
    split = medical.settle_for_region(session, subject.person.id, bill, Catalogue(body.items), payable, setl_id,
                                      body.use_account, before_posting=record,
                                      enrolment=(subject.insured.scheme, subject.insured.person_type))
    position = after[0]
    return {"ok": True, "home_setl_id": setl_id, "registration": reg_no, "remote_care": care.value,
            "name_masked": registry.mask_name(subject.person.name),
            "split": split.model_dump(mode="json"), "accumulators_after": position.model_dump(mode="json"),
            "account_balance_after_fen": subject.balance - split.account_paid_fen if body.use_account
            else subject.balance}


def _home_settlement(session: Session, peer: str, settle_msg_id: str) -> RemoteSettlement | None:
    return session.execute(select(RemoteSettlement).where(
        RemoteSettlement.role == "home", RemoteSettlement.peer == peer, RemoteSettlement.msg_id == settle_msg_id)
        .with_for_update()).scalar_one_or_none()


def _undo_home(session: Session, setl: RemoteSettlement, by: str) -> None:
    if setl.status == "reversed":
        return
    assert setl.person_id is not None
    medical.reverse_for_region(session, setl.person_id, Split.model_validate_json(setl.split),
                               chart.RegionPayable(setl.peer).code, setl.setl_id)
    setl.status, setl.reversal_msg_id, setl.reversed_on = "reversed", by[:64], clock.local_date()


def _on_reverse(session: Session, ex: Exchange, env: messages.Envelope) -> dict[str, Any]:
    body = _body(ReverseBody, env)
    setl = _home_settlement(session, env.origin, body.settle_msg_id)
    if setl is None:
        raise RemoteSettlementNotFound(body.settle_msg_id, msg_id=body.settle_msg_id)
    _undo_home(session, setl, env.msg_id)
    assert setl.person_id is not None
    position = medical.accumulators_of(session, setl.person_id, setl.bill_date.year)
    return {"ok": True, "home_setl_id": setl.setl_id, "fund_returned_fen": setl.fund_paid_fen,
            "account_returned_fen": setl.account_paid_fen, "accumulators_after": position.model_dump(mode="json")}


def _on_cancel(session: Session, ex: Exchange, env: messages.Envelope) -> dict[str, Any]:
    """The treating city gave up on a settle message: reversed here if it was settled, else its id refused
    from now on (a tombstone in the journal)."""
    body = _body(ReverseBody, env)
    setl = _home_settlement(session, env.origin, body.settle_msg_id)
    if setl is not None:
        _undo_home(session, setl, env.msg_id)
        return {"ok": True, "outcome": "reversed", "home_setl_id": setl.setl_id}
    seen = _in_row(session, env.origin, body.settle_msg_id)
    if seen is None:
        session.add(RemoteMessage(direction="in", peer=env.origin, msg_id=body.settle_msg_id, kind="tombstone",
                                  digest="0" * 64, request="", status="cancelled", answered_at=utcnow()))
    elif seen.status != "cancelled":
        seen.status = "cancelled"
    return {"ok": True, "outcome": "voided_unknown"}


def _on_registration(session: Session, ex: Exchange, env: messages.Envelope) -> dict[str, Any]:
    body = _body(RegistrationBody, env)
    if body.home_region != env.origin or body.treating_region != ex.region:
        raise RemoteMessageMalformed("the registration's regions are not the message's")
    row = session.execute(select(RemoteRegistration).where(RemoteRegistration.reg_no == body.reg_no)
                          ).scalar_one_or_none()
    if row is None:
        session.add(RemoteRegistration(
            reg_no=body.reg_no, role="treating", person_id=None, card_no=body.card_no,
            name_masked=body.name_masked, home_region=body.home_region, treating_region=body.treating_region,
            kind=body.kind, starts_on=body.starts_on, ends_on=body.ends_on, status=body.status, distributed=True,
            created_by=f"region:{env.origin}"))
    else:
        row.status, row.ends_on = body.status, body.ends_on
    return {"ok": True, "reg_no": body.reg_no}


def _on_statement(session: Session, ex: Exchange, env: messages.Envelope) -> dict[str, Any]:
    body = _body(StatementBody, env)
    return {"ok": True, "month": body.month, "region": ex.region,
            "lines": [line.model_dump() for line in statement_lines(session, body.month)]}


def statement_lines(session: Session, month: str) -> list[StatementLine]:
    """This centre's settled (not reversed) remote settlements of ``month``: what it is owed and owes."""
    rows = session.execute(select(RemoteSettlement).where(RemoteSettlement.month == month,
                                                          RemoteSettlement.status == "settled")
                           .order_by(RemoteSettlement.id)).scalars()
    return [StatementLine(msg_id=r.msg_id, role=r.role, peer=r.peer, amount_fen=r.fund_paid_fen + r.account_paid_fen)
            for r in rows]


def _on_clearing(session: Session, ex: Exchange, env: messages.Envelope) -> dict[str, Any]:
    """The hub's agreed, netted positions of a month: booked here (receivable/payable → the bank's clearing
    account), one balanced transfer set per peer; the net payment goes through the bank gateway (``pay_clearing``)."""
    body = _body(ClearingBody, env)
    booked = []
    bank = chart.BankClearing(ex.settings.bank_code)
    for pos in body.positions:
        if session.execute(select(RemoteClearing.id).where(RemoteClearing.month == body.month,
                                                           RemoteClearing.peer == pos.peer)).first():
            continue
        receivable, payable = chart.RegionReceivable(pos.peer), chart.RegionPayable(pos.peer)
        chart.open_missing(session, [receivable, payable, bank])
        held_r = _debit_balance(session, receivable.code)
        held_p = -_debit_balance(session, payable.code)
        if pos.receivable_fen > held_r or pos.payable_fen > held_p:
            raise ClearingDifference(f"{pos.peer}: the hub's positions exceed this ledger's", peer=pos.peer)
        ref = f"{body.run_id}-{pos.peer}"[:40]
        legs = []
        if pos.receivable_fen:
            legs.append(TransferIn(id=f"rclr:{ref}:recv", debit_account=bank.code, credit_account=receivable.code,
                                   amount=pos.receivable_fen, code="remote.clearing", reference=ref))
        if pos.payable_fen:
            legs.append(TransferIn(id=f"rclr:{ref}:pay", debit_account=payable.code, credit_account=bank.code,
                                   amount=pos.payable_fen, code="remote.clearing", reference=ref))
        if legs:
            ledger.transfers(session, legs)
        net = pos.receivable_fen - pos.payable_fen
        if net < 0:  # this city pays the difference into the peer's fund account (the bank replays a ref)
            paid = ex.gateway(db_of(session)).credit(pos.peer_account_no, pos.peer_account_name, -net, ref)
            if not paid.ok:
                raise ClearingDifference(f"the bank refused the clearing payment: {paid.reason}", peer=pos.peer)
        session.add(RemoteClearing(month=body.month, peer=pos.peer, receivable_fen=pos.receivable_fen,
                                   payable_fen=pos.payable_fen, net_fen=pos.receivable_fen - pos.payable_fen,
                                   bank_ref=ref))
        booked.append({"peer": pos.peer, "net_fen": pos.receivable_fen - pos.payable_fen})
    return {"ok": True, "month": body.month, "booked": booked}


def db_of(session: Session) -> Database:
    """The database a session works on (the bank gateway's embedded mode needs it)."""
    return Database(str(session.get_bind().engine.url.render_as_string(hide_password=False)))


def _debit_balance(session: Session, code: str) -> int:
    try:
        bal = ledger.balance(session, code)
    except LedgerAccountNotFound:
        return 0
    return -bal.credit_balance


HANDLERS = {"settle": _on_settle, "reverse": _on_reverse, "cancel": _on_cancel,
            "registration": _on_registration, "statement": _on_statement, "clearing": _on_clearing}


def _body(model: type[Any], env: messages.Envelope) -> Any:
    try:
        return model.model_validate(env.body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))[:60]
        raise RemoteMessageMalformed(f"{env.kind}: {where}: {first.get('msg', '')[:80]}") from None


def _in_row(session: Session, peer: str, msg_id: str) -> RemoteMessage | None:
    return session.execute(select(RemoteMessage).where(
        RemoteMessage.direction == "in", RemoteMessage.peer == peer, RemoteMessage.msg_id == msg_id)
        .execution_options(populate_existing=True)).scalar_one_or_none()


def _stored(status: str, digest: str, answer: str | None, env: messages.Envelope, ex: Exchange) -> bytes:
    if status == "cancelled":
        return ex.answer(env, {"ok": False, "code": RemoteSettlementCancelled.code,
                               "detail": "cancelled by the treating city"}).raw
    if digest != env.digest or answer is None:
        raise RemoteMessageConflict(f"message {env.msg_id} was another message", msg_id=env.msg_id)
    return answer.encode("utf-8")


def _claim(session: Session, row: dict[str, Any]) -> int | None:
    """Insert the message row ``row`` (all its columns); its id, or None if the message id was there."""
    found = bulksql.execute(session, _CLAIM[session.get_bind().dialect.name],
                            {"ref": "", "answer": None, "local_answer": None, "answered_at": None,
                             "created_at": utcnow(), **row})
    return int(found[0][0]) if found else None


def _seen(session: Session, direction: str, peer: str, msg_id: str) -> tuple[Any, ...] | None:
    rows = bulksql.execute(session, _SEEN, {"direction": direction, "peer": peer, "msg_id": msg_id})
    return tuple(rows[0]) if rows else None


class _Refused(Exception):
    """A handler's business refusal, carried out of its unit of work so that its writes are rolled back."""

    def __init__(self, error: DomainError) -> None:
        super().__init__(error.code)
        self.error = error


def receive(db: Database, raw: bytes, exchange: Exchange | None = None) -> bytes:
    """A message the hub relays here: checked, handled and answered in one transaction; the answer (signed for
    the hub) is stored with it, so the same message again gets the same answer and changes nothing. A business
    refusal is an answer too (``ok`` false with the stable code), stored the same way: the handler's writes
    are rolled back and the message row is written with the refusal in a transaction of its own."""
    ex = exchange or Exchange()
    env = messages.parse(raw, ex.ring, receiver=ex.region, senders={ex.hub})
    if env.destination != ex.region:
        raise RemoteRegionUnknown(f"for {env.destination}, this is {ex.region}", region=env.destination)
    handler = HANDLERS.get(env.kind)
    if handler is None:
        raise RemoteMessageMalformed(f"a centre does not take {env.kind} messages")
    if faults.enabled() and faults.delay_seconds():
        time.sleep(faults.delay_seconds())
    row = {"direction": "in", "peer": env.origin, "msg_id": env.msg_id, "kind": env.kind, "digest": env.digest,
           "request": raw.decode("utf-8")}
    for attempt in range(2):
        try:
            try:
                with db.unit_of_work() as session:
                    row_id = _claim(session, {**row, "status": "pending"})  # a concurrent twin waits here
                    if row_id is None:
                        seen = _seen(session, "in", env.origin, env.msg_id)
                        assert seen is not None
                        return _stored(seen[0], seen[1], seen[2], env, ex)
                    try:
                        body = handler(session, ex, env)
                    except DomainError as exc:
                        raise _Refused(exc) from None
                    answer = ex.answer(env, body)
                    # the answer and COMMIT in one round trip (pipeline on PostgreSQL): the transfers' locks
                    # on the busy pool and payable rows are released at once
                    bulksql.write_all(session, [(_ANSWERED, {
                        "b_id": row_id, "b_answer": answer.raw.decode("utf-8"), "b_status": "answered",
                        "b_at": utcnow(), "b_ref": str(body.get("home_setl_id") or body.get("reg_no") or "")[:64]})],
                        commit=True)
                    return answer.raw
            except _Refused as refused:
                error = refused.error
                body = {"ok": False, "code": error.code, "detail": (error.detail or "")[:200]}
                answer = ex.answer(env, body)
                with db.unit_of_work() as session:
                    if _claim(session, {**row, "status": "answered", "answer": answer.raw.decode("utf-8"),
                                        "answered_at": utcnow()}) is None:
                        seen = _seen(session, "in", env.origin, env.msg_id)
                        assert seen is not None
                        return _stored(seen[0], seen[1], seen[2], env, ex)
                return answer.raw
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


# ------------------------------------------------------------------------------------------------ registrations


def _reg_out(row: RemoteRegistration, seq: int | None = None) -> RegistrationOut:
    return RegistrationOut(reg_no=row.reg_no, role=row.role, home_region=row.home_region,
                           treating_region=row.treating_region, kind=row.kind, kind_name=KIND_NAMES[row.kind],
                           name_masked=row.name_masked, starts_on=row.starts_on, ends_on=row.ends_on,
                           status=row.status, distributed=row.distributed, documents=json.loads(row.documents),
                           audit_seq=seq)


def register(db: Database, actor: Actor, req: RegistrationIn, exchange: Exchange | None = None) -> RegistrationOut:
    """异地就医备案 for one of this city's insured: recorded here and distributed through the hub to the treating
    city (if the hub cannot be reached now it stays undistributed and ``distribute`` sends it again). A
    cardholder files their own (portal), staff anyone's (counter, API)."""
    ex = exchange or Exchange()
    actor.require_own_or(Permission.REMOTE_REGISTER, req.person_id)
    if req.treating_region == ex.region:
        raise RegistrationInvalid("the treating city is this city", region=req.treating_region)
    if req.ends_on is not None and req.ends_on < req.starts_on:
        raise RegistrationInvalid("the period ends before it starts")
    if req.starts_on < clock.local_date() - dt.timedelta(days=90):
        raise RegistrationInvalid("a registration starts at most 90 days back")
    if req.kind == "temporary" and req.ends_on is None:
        raise RegistrationInvalid("临时外出就医 is registered for a period with an end")
    with db.unit_of_work() as session:
        try:
            person = registry.find_by_person_id(session, req.person_id)
        except PersonNotFound:
            raise RegistrationInvalid("no such person", person_id=req.person_id) from None
        card = medical_card_no(session, person.id)
        row = RemoteRegistration(reg_no=f"pending-{secrets.token_hex(8)}", role="home", person_id=person.id,
                                 card_no=card, name_masked=registry.mask_name(person.name), home_region=ex.region,
                                 treating_region=req.treating_region, kind=req.kind, starts_on=req.starts_on,
                                 ends_on=req.ends_on, documents=json.dumps(req.documents, ensure_ascii=False),
                                 created_by=actor.username)
        session.add(row)
        session.flush()
        row.reg_no = f"B{ex.region}{clock.local_date():%Y%m%d}{row.id:06d}"
        body = RegistrationBody(reg_no=row.reg_no, home_region=ex.region, treating_region=req.treating_region,
                                card_no=card, name_masked=row.name_masked, kind=req.kind, starts_on=req.starts_on,
                                ends_on=req.ends_on)
        env = ex.seal("registration", f"G{row.reg_no}", req.treating_region, body.model_dump(mode="json"))
        session.add(RemoteMessage(direction="out", peer=req.treating_region, msg_id=env.msg_id, kind="registration",
                                  ref=row.reg_no, digest=env.digest, request=env.raw.decode("utf-8")))
        audited = audit.record(session, actor, "remote.register", "person", person.id, None,
                               {"reg_no": row.reg_no, "kind": row.kind, "treating_region": row.treating_region,
                                "starts_on": row.starts_on.isoformat(),
                                "ends_on": row.ends_on.isoformat() if row.ends_on else None})
        reg_no, seq = row.reg_no, audited.seq
    distribute(db, SYSTEM_REMOTE, ex)
    with db.unit_of_work() as session:
        found = session.execute(select(RemoteRegistration).where(RemoteRegistration.reg_no == reg_no)).scalar_one()
        return _reg_out(found, seq)


SYSTEM_REMOTE = Actor(operator_id=None, username="remote", role=Role.SYSTEM)


def medical_card_no(session: Session, person_id: int) -> str | None:
    card = valid_card_of(session, person_id)
    return card.card_no if card is not None else None


def distribute(db: Database, actor: Actor, exchange: Exchange | None = None) -> int:
    """Send the registrations not yet distributed (same message ids); returns how many the treating cities
    acknowledged now. An unreachable hub leaves them for the next run."""
    ex = exchange or Exchange()
    with db.unit_of_work() as session:
        pending = list(session.execute(select(RemoteMessage).where(
            RemoteMessage.direction == "out", RemoteMessage.kind == "registration",
            RemoteMessage.status == "pending").order_by(RemoteMessage.id)).scalars())
        session.expunge_all()
    done = 0
    for msg in pending:
        try:
            answer = _answer_ok(ex.exchange(msg.request.encode("utf-8"),
                                            time.monotonic() + ex.settings.deadline_seconds), msg.msg_id)
        except RemoteCentreUnavailable:
            continue
        with db.unit_of_work() as session:
            row = session.get(RemoteMessage, msg.id, with_for_update=True)
            assert row is not None
            if row.status != "pending":
                continue
            row.answer, row.answered_at = json.dumps(answer, ensure_ascii=False), utcnow()
            row.status = "answered" if answer.get("ok") else "refused"
            reg = session.execute(select(RemoteRegistration).where(RemoteRegistration.reg_no == row.ref)
                                  ).scalar_one()
            reg.distributed = bool(answer.get("ok"))
            done += 1
    return done


def cancel_registration(db: Database, actor: Actor, reg_no: str, exchange: Exchange | None = None
                        ) -> RegistrationOut:
    ex = exchange or Exchange()
    with db.unit_of_work() as session:
        row = session.execute(select(RemoteRegistration).where(RemoteRegistration.reg_no == reg_no,
                                                               RemoteRegistration.role == "home")
                              .with_for_update()).scalar_one_or_none()
        if row is None or row.person_id is None:
            raise RegistrationNotFound(reg_no[:32], reg_no=reg_no[:32])
        actor.require_own_or(Permission.REMOTE_REGISTER, row.person_id)
        if row.status == "active":
            row.status, row.distributed = "cancelled", False
            body = RegistrationBody(reg_no=row.reg_no, home_region=row.home_region,
                                    treating_region=row.treating_region, card_no=row.card_no,
                                    name_masked=row.name_masked, kind=row.kind,
                                    starts_on=row.starts_on, ends_on=row.ends_on, status="cancelled")
            env = ex.seal("registration", f"GX{row.reg_no}", row.treating_region, body.model_dump(mode="json"))
            session.add(RemoteMessage(direction="out", peer=row.treating_region, msg_id=env.msg_id,
                                      kind="registration", ref=row.reg_no, digest=env.digest,
                                      request=env.raw.decode("utf-8")))
            audit.record(session, actor, "remote.registration_cancel", "person", row.person_id,
                         {"reg_no": reg_no, "status": "active"}, {"reg_no": reg_no, "status": "cancelled"})
    distribute(db, SYSTEM_REMOTE, ex)
    with db.unit_of_work() as session:
        return _reg_out(session.execute(select(RemoteRegistration).where(RemoteRegistration.reg_no == reg_no)
                                        ).scalar_one())


def list_registrations(db: Database, actor: Actor, person_id: int | None = None,
                       role: str | None = None) -> list[RegistrationOut]:
    """Registrations, newest first: a cardholder's own, or (staff) a person's, or all received/made."""
    if person_id is not None:
        actor.require_own_or(Permission.REMOTE_REGISTER, person_id)
    else:
        actor.require(Permission.REMOTE_REGISTER)
    with db.unit_of_work() as session:
        query = select(RemoteRegistration)
        if person_id is not None:
            query = query.where(RemoteRegistration.person_id == person_id)
        if role is not None:
            query = query.where(RemoteRegistration.role == role)
        rows = [_reg_out(r) for r in session.execute(query.order_by(RemoteRegistration.id.desc()).limit(500))
                .scalars()]
        audit.record_read(session, actor, "remote.registrations.read", "person" if person_id else "registration",
                          person_id or "all", "remote-care registrations", rows=len(rows))
        return rows


def person_of_registration(db: Database, actor: Actor, reg_no: str) -> int:
    """Whose registration (made here) ``reg_no`` is: the counter's way from a listed registration back to the
    person, to show their registrations again after a cancellation."""
    with db.unit_of_work() as session:
        person_id = session.execute(select(RemoteRegistration.person_id).where(
            RemoteRegistration.reg_no == reg_no, RemoteRegistration.role == "home")).scalar_one_or_none()
        if person_id is None:
            raise RegistrationNotFound(reg_no[:32], reg_no=reg_no[:32])
        actor.require_own_or(Permission.REMOTE_REGISTER, person_id)
        return person_id


# ------------------------------------------------------------------------------------------------ reads, jobs


def settlement_by_msg(db: Database, actor: Actor, msg_id: str) -> RemoteSettlementOut:
    """The settlement a cross-region message id made, as this city holds it (both cities and the hub show
    the same message id)."""
    actor.require(Permission.REMOTE_REGISTER)
    with db.unit_of_work() as session:
        row = session.execute(select(RemoteSettlement).where(RemoteSettlement.msg_id == msg_id)
                              ).scalar_one_or_none()
        if row is None:
            raise RemoteSettlementNotFound(msg_id[:64], msg_id=msg_id[:64])
        audit.record_read(session, actor, "remote.settlement.read", "remote_settlement", row.setl_id,
                          "cross-region settlement lookup")
        return RemoteSettlementOut.model_validate(row)


def list_settlements(db: Database, actor: Actor, month: str | None = None) -> list[RemoteSettlementOut]:
    actor.require(Permission.REMOTE_REGISTER)
    with db.unit_of_work() as session:
        query = select(RemoteSettlement)
        if month:
            query = query.where(RemoteSettlement.month == month)
        rows = [RemoteSettlementOut.model_validate(r)
                for r in session.execute(query.order_by(RemoteSettlement.id.desc()).limit(1000)).scalars()]
        audit.record_read(session, actor, "remote.settlements.read", "remote_settlement", month or "all",
                          "cross-region settlements", rows=len(rows))
        return rows


def figures(db: Database, actor: Actor, exchange: Exchange | None = None) -> Figures:
    """The dashboard's figures (no personal data)."""
    actor.require(Permission.STATS_READ)
    ex = exchange or Exchange()
    with db.unit_of_work() as session:
        def count(role: str) -> tuple[int, int]:
            n, fen = session.execute(select(func.count(), func.coalesce(func.sum(
                RemoteSettlement.fund_paid_fen + RemoteSettlement.account_paid_fen), 0)).where(
                RemoteSettlement.role == role, RemoteSettlement.status == "settled")).one()
            return int(n), int(fen)

        here, away = count("treating"), count("home")
        receivable = payable = 0
        peers = {p for (p,) in session.execute(select(RemoteSettlement.peer).distinct())}
        for peer in sorted(peers):
            receivable += _debit_balance(session, chart.RegionReceivable(peer).code)
            payable += -_debit_balance(session, chart.RegionPayable(peer).code)
        clearings = [{"month": c.month, "peer": c.peer, "receivable_fen": c.receivable_fen,
                      "payable_fen": c.payable_fen, "net_fen": c.net_fen}
                     for c in session.execute(select(RemoteClearing).order_by(RemoteClearing.id.desc())
                                              .limit(50)).scalars()]
    return Figures(region=ex.region, treated_here_count=here[0], treated_here_fen=here[1],
                   treated_elsewhere_count=away[0], treated_elsewhere_fen=away[1], receivable_fen=receivable,
                   payable_fen=payable, clearings=clearings)


def close_pending(db: Database, actor: Actor, older_than: dt.timedelta = dt.timedelta(minutes=10),
                  exchange: Exchange | None = None) -> dict[str, int]:
    """The nightly job: every settle message still unanswered here after ``older_than`` is first asked again
    (the same message: if the home city settled it, its stored answer comes back and the hospital's retry is
    then answered from the journal), else cancelled at the home city (reversed there if it had settled, its
    id refused from then on) and marked cancelled here. Registrations not yet distributed are sent again."""
    actor.require(Permission.REMOTE_CLEAR)
    ex = exchange or Exchange()
    cutoff = utcnow() - older_than
    with db.unit_of_work() as session:
        pending = list(session.execute(select(RemoteMessage).where(
            RemoteMessage.direction == "out", RemoteMessage.kind == "settle", RemoteMessage.status == "pending",
            RemoteMessage.created_at <= cutoff).order_by(RemoteMessage.id)).scalars())
        session.expunge_all()
    counts = {"cancelled_reversed": 0, "cancelled_unknown": 0, "unreachable": 0}
    for msg in pending:
        cancel_id = f"C{msg.msg_id[1:]}"[:64]
        with db.unit_of_work() as session:
            if _out_row(session, msg.peer, cancel_id) is None:
                env = ex.seal("cancel", cancel_id, msg.peer, ReverseBody(settle_msg_id=msg.msg_id,
                                                                        reason="nightly").model_dump())
                session.add(RemoteMessage(direction="out", peer=msg.peer, msg_id=cancel_id, kind="cancel",
                                          ref=msg.msg_id, digest=env.digest, request=env.raw.decode("utf-8")))
        with db.unit_of_work() as session:
            row = _out_row(session, msg.peer, cancel_id)
            assert row is not None
            raw = row.request.encode("utf-8")
        try:
            answer = _answer_ok(ex.exchange(raw, time.monotonic() + ex.settings.deadline_seconds), cancel_id)
        except RemoteCentreUnavailable:
            counts["unreachable"] += 1
            continue
        if not answer.get("ok"):
            counts["unreachable"] += 1
            continue
        with db.unit_of_work() as session:
            cancel = _out_row(session, msg.peer, cancel_id, lock=True)
            original = _out_row(session, msg.peer, msg.msg_id, lock=True)
            assert cancel is not None and original is not None
            cancel.status, cancel.answer, cancel.answered_at = "answered", json.dumps(answer), utcnow()
            if original.status == "pending":
                original.status = "cancelled"
                original.local_answer = json.dumps({"error": {"code": RemoteSettlementCancelled.code}})
            key = "cancelled_reversed" if answer.get("outcome") == "reversed" else "cancelled_unknown"
            counts[key] += 1
            audit.record(session, actor, "remote.message_cancelled", "remote_message", msg.msg_id,
                         {"status": "pending"}, {"status": "cancelled", "home": answer.get("outcome")})
    counts["registrations_sent"] = distribute(db, actor, ex)
    return counts


def require_masked(number: str) -> str:
    return idnumber.mask(number)


def person_by_id_number(db: Database, actor: Actor, id_number: str) -> int:
    """The counter's search: the person id behind an ID number (staff only; the read is audited)."""
    actor.require(Permission.REMOTE_REGISTER)
    with db.unit_of_work() as session:
        try:
            person = registry.find_by_id_number(session, id_number)
        except PersonNotFound:
            raise RegistrationInvalid("no person with this ID number", id_number=idnumber.mask(id_number)) from None
        audit.record_read(session, actor, "remote.person_lookup", "person", person.id, "remote-care registration")
        return person.id
