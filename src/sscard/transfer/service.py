"""The transfer of the insurance relationship between cities (社会保险关系转移接续), both sides of it.

Sending city (转出地, case direction ``out``): ``issue_voucher`` → the signed 参保缴费凭证 the holder carries;
the receiving city's contact letter arrives (``receive``: status ``applied``); ``confirm_out`` reserves the
amounts in the ledger, pays them through the bank gateway into the receiving city's collection account, posts
them and sends the transfer notice; the receiving city's receipt completes the case.

Receiving city (转入地, direction ``in``): ``apply_in`` checks the voucher and sends the contact letter; the
notice arrives (``receive``): the amounts are checked against the voucher, credited to the person's accounts
from the bank's clearing account, and the months carried into the contribution record — one transaction.

Every message is stored before it is sent and sent again with the same id until answered (``deliver``); a
received message id answers its first answer again (``transfer_messages``). Money moves only as balanced ledger
transfers with ids derived from the voucher number, and the bank call carries a reference derived from it, so a
retry at any step pays once. docs/transfer.md.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor, Permission, Role
from sscard.audit import service as audit
from sscard.banks.gateway import BankGateway, gateway_for
from sscard.db import Database, utcnow
from sscard.errors import DomainError
from sscard.funds.contributions import carried
from sscard.kms.partners import PartnerKeys, default_keys
from sscard.ledger import chart
from sscard.ledger import service as ledger
from sscard.ledger.errors import LedgerAccountNotFound
from sscard.ledger.schemas import TransferIn
from sscard.policy import service as policy
from sscard.registry import idnumber
from sscard.registry import service as registry
from sscard.registry.errors import PersonNotFound
from sscard.registry.models import Person
from sscard.transfer import messages
from sscard.transfer.client import Sender, http_send
from sscard.transfer.config import TransferSettings
from sscard.transfer.errors import (
    TransferAmountMismatch,
    TransferBankRefused,
    TransferCityUnknown,
    TransferDuplicate,
    TransferMessageConflict,
    TransferMessageMalformed,
    TransferNotFound,
    TransferNothingToTransfer,
    TransferPartnerRefused,
    TransferPersonNotFound,
    TransferStateInvalid,
    TransferVoucherStale,
)
from sscard.transfer.models import OPEN_STATUSES, TransferCase, TransferMessage
from sscard.transfer.schemas import (
    AckBody,
    CaseOut,
    ContactLetterBody,
    MedicalPart,
    Month,
    NoticeBody,
    PayTo,
    PensionPart,
    PersonRef,
    ReceiptBody,
    ReconReport,
    ReconRow,
    VoucherBody,
)

POOL_FROM = "1998-01"  # the pooled share counts the months from 1998 on (国办发〔2009〕66号)
INTEREST = "transfer.pension.interest_bp"
POOL_SHARE = "transfer.pension.pool_share_bp"
PENSION_FUND = chart.Fund("pension")
CODE = "transfer"  # ledger reason prefix

GatewayFor = Callable[[str], BankGateway]


class Exchange:
    """What a use case needs beyond the database: this centre's settings, the partner key ring, how messages
    travel (HTTP by default) and the bank gateway."""

    def __init__(self, settings: TransferSettings | None = None, ring: PartnerKeys | None = None,
                 send: Sender | None = None, gateway: GatewayFor | None = None) -> None:
        self.settings = settings or TransferSettings()
        self.ring = ring or default_keys()
        self.send: Sender = send or (lambda city, url, raw: http_send(city, url, raw,
                                                                      self.settings.timeout_seconds))
        self._gateway = gateway

    @property
    def city(self) -> str:
        return self.settings.city

    def partner_url(self, city: str) -> str:
        url = self.settings.partners.get(city)
        if url is None:
            raise TransferCityUnknown(f"{city} is not a partner city", city=city)
        return url

    def gateway(self, db: Database, bank_code: str) -> BankGateway:
        return self._gateway(bank_code) if self._gateway else gateway_for(bank_code, db=db)


def _case_out(case: TransferCase, seq: int | None = None) -> CaseOut:
    return CaseOut.model_validate(case).model_copy(update={"audit_seq": seq})


def _snapshot(case: TransferCase) -> dict[str, Any]:
    return {"voucher_no": case.voucher_no, "direction": case.direction, "partner_city": case.partner_city,
            "status": case.status, "total_fen": case.total_fen, "bank_ref": case.bank_ref,
            "last_reason": case.last_reason}


def _locked(session: Session, direction: str, voucher_no: str) -> TransferCase:
    case = session.execute(select(TransferCase).where(TransferCase.direction == direction,
                                                      TransferCase.voucher_no == voucher_no)
                           .with_for_update()).scalar_one_or_none()
    if case is None:
        raise TransferNotFound(voucher_no[:40], voucher_no=voucher_no[:40])
    return case


def _credit_balance(session: Session, account: chart.ChartAccount) -> int:
    try:
        return ledger.balance(session, account.code).available_credit_balance
    except LedgerAccountNotFound:
        return 0


def _open_case(session: Session, person_id: int, direction: str) -> TransferCase | None:
    return session.execute(select(TransferCase).where(
        TransferCase.person_id == person_id, TransferCase.direction == direction,
        TransferCase.status.in_(OPEN_STATUSES))).scalar_one_or_none()


def _months(rows: list[carried.CarriedMonth]) -> list[Month]:
    return [Month(period=m.period, base_fen=m.base_fen, amount_fen=m.amount_fen, personal_fen=m.personal_fen)
            for m in rows]


def record_of(session: Session, person: Person, day: dt.date) -> tuple[PensionPart, MedicalPart]:
    """What the person's record here would transfer on ``day``: the pension (months, personal account, this
    year's interest to the month of ``day``, the pooled share) and the medical record (months, personal
    account). Interest: balance × rate × (completed months of the year) / 12, half up; pooled share:
    share × Σ bases of the months from 1998, half up."""
    pension = carried.record_months(session, person.id, "pension")
    medical = carried.record_months(session, person.id, "medical")
    interest_bp = policy.get_int(session, INTEREST, day)
    share_bp = policy.get_int(session, POOL_SHARE, day)
    balance = _credit_balance(session, chart.PersonalPension(person.id))
    interest = (balance * interest_bp * (day.month - 1) + 60_000) // 120_000
    bases = sum(m.base_fen for m in pension if m.period >= POOL_FROM)
    pool = (bases * share_bp + 5_000) // 10_000
    return (PensionPart(months=len(pension), personal_fen=balance, interest_fen=interest, pool_fen=pool,
                        interest_bp=interest_bp, pool_share_bp=share_bp, history=_months(pension)),
            MedicalPart(months=len(medical), personal_fen=_credit_balance(session, chart.PersonalMedical(person.id)),
                        history=_months(medical)))


# ------------------------------------------------------------------------------------------------ sending city


def issue_voucher(db: Database, actor: Actor, person_id: int, to_city: str,
                  exchange: Exchange | None = None) -> tuple[CaseOut, bytes]:
    """开具参保缴费凭证 for a person moving to ``to_city``: the signed voucher (JSON, docs/transfer.md) and the
    case (status ``issued``). One transfer out in progress per person (``TRANSFER_DUPLICATE``)."""
    actor.require(Permission.TRANSFER_HANDLE)
    ex = exchange or Exchange()
    ex.partner_url(to_city)
    with db.unit_of_work() as session:
        try:
            person = registry.find_by_person_id(session, person_id)
        except PersonNotFound:
            raise TransferPersonNotFound(str(person_id), person_id=person_id) from None
        if _open_case(session, person.id, "out") is not None:
            raise TransferDuplicate("a transfer out is in progress for this person", person_id=person.id)
        day = clock.local_date()
        pension, medical = record_of(session, person, day)
        if not pension.months and not medical.months and not pension.total_fen and not medical.personal_fen:
            raise TransferNothingToTransfer(person_id=person.id)
        case = TransferCase(voucher_no=f"pending-{uuid.uuid4().hex[:24]}", direction="out", person_id=person.id,
                            partner_city=to_city, status="issued", voucher="", voucher_digest="",
                            pension_months=pension.months, pension_personal_fen=pension.personal_fen,
                            pension_interest_fen=pension.interest_fen, pension_pool_fen=pension.pool_fen,
                            medical_months=medical.months, medical_personal_fen=medical.personal_fen,
                            total_fen=pension.total_fen + medical.personal_fen, created_by=actor.username)
        session.add(case)
        session.flush()
        case.voucher_no = f"V{ex.city}{day:%Y%m%d}{case.id:06d}"
        body = VoucherBody(voucher_no=case.voucher_no, issued_on=day.isoformat(),
                           person=PersonRef(id_number=person.id_number, name=person.name), pension=pension,
                           medical=medical, total_fen=case.total_fen)
        envelope = messages.seal(ex.ring, "voucher", case.voucher_no, ex.city, to_city, body.model_dump())
        case.voucher, case.voucher_digest = envelope.raw.decode("utf-8"), envelope.digest
        session.flush()
        row = audit.record(session, actor, "transfer.voucher_issue", "transfer_case", case.voucher_no, None,
                           _snapshot(case))
        return _case_out(case, row.seq), envelope.raw


def _on_letter(session: Session, actor: Actor, env: messages.Envelope) -> dict[str, Any]:
    body = _body(ContactLetterBody, env)
    case = _locked(session, "out", body.voucher_no)
    if case.partner_city != env.from_city:
        raise TransferNotFound(f"voucher {body.voucher_no} was not issued for {env.from_city}",
                               voucher_no=body.voucher_no)
    if body.voucher_digest != case.voucher_digest:
        raise TransferAmountMismatch("the letter names another voucher than the one issued",
                                     voucher_no=body.voucher_no)
    person = session.get(Person, case.person_id)
    assert person is not None
    if body.person.id_number != person.id_number or registry.normalise_name(body.person.name) != person.name:
        raise TransferPersonNotFound("the letter's person is not the voucher's", voucher_no=body.voucher_no)
    if case.status != "issued":
        raise TransferDuplicate(f"the voucher is already {case.status}", voucher_no=body.voucher_no)
    before = _snapshot(case)
    case.status = "applied"
    case.pay_to_bank, case.pay_to_account = body.pay_to.bank_code, body.pay_to.account_no
    case.pay_to_name = body.pay_to.account_name
    audit.record(session, actor, "transfer.letter_received", "transfer_case", case.voucher_no, before,
                 _snapshot(case))
    return AckBody(in_reply_to=env.msg_id, voucher_no=case.voucher_no, status="applied").model_dump()


def _legs(case: TransferCase, pending: bool) -> list[TransferIn]:
    """The payment's legs, under ids of the current attempt (``bank_ref``: a refused payment is tried again
    under the next reference, and the bank replays a reference's first answer)."""
    clearing = chart.BankClearing(case.pay_to_bank or "").code
    ref = case.voucher_no
    attempt = case.bank_ref
    legs = [(f"xfer:{attempt}:pacct", chart.PersonalPension(case.person_id).code,
             case.pension_personal_fen + case.pension_interest_fen, "transfer.pension_account"),
            (f"xfer:{attempt}:pool", PENSION_FUND.code, case.pension_pool_fen, "transfer.pension_pool"),
            (f"xfer:{attempt}:macct", chart.PersonalMedical(case.person_id).code, case.medical_personal_fen,
             "transfer.medical_account")]
    return [TransferIn(id=i, debit_account=debit, credit_account=clearing, amount=amount, pending=pending,
                       code=code, reference=ref) for i, debit, amount, code in legs if amount > 0]


def confirm_out(db: Database, actor: Actor, voucher_no: str, exchange: Exchange | None = None) -> CaseOut:
    """确认转出: pay the voucher's amounts to the receiving city and send the notice. Step by step, each
    repeatable: reserve (pending transfers; the year's interest posted to the personal account) → the bank
    credit (reference ``XF<voucher>``: a retry replays the bank's first answer) → post (or void on a refusal:
    ``TRANSFER_BANK_REFUSED``, nothing paid) → the notice, whose receipt completes the case. Called again after
    any failure it continues where it stopped; on a completed case it changes nothing."""
    actor.require(Permission.TRANSFER_PAY)
    ex = exchange or Exchange()
    with db.unit_of_work() as session:
        case = _locked(session, "out", voucher_no)
        if case.status == "issued":
            raise TransferStateInvalid("no contact letter from the receiving city yet", voucher_no=voucher_no)
        if case.status == "applied":
            _reserve(session, actor, case)
        bank, account, name, total = case.pay_to_bank, case.pay_to_account, case.pay_to_name, case.total_fen
        status, ref = case.status, case.bank_ref
    if status == "paying":
        assert bank and account and name and ref
        result = ex.gateway(db, bank).credit(account, name, total, ref) if total > 0 else None
        with db.unit_of_work() as session:
            case = _locked(session, "out", voucher_no)
            if case.status == "paying":
                _settle(session, actor, ex, case, None if result is None or result.ok else str(result.reason))
    deliver(db, actor, voucher_no, ex)
    with db.unit_of_work() as session:
        case = _locked(session, "out", voucher_no)
        if case.status == "applied" and case.last_reason:
            raise TransferBankRefused(case.last_reason, voucher_no=voucher_no, reason=case.last_reason)
        return _case_out(case)


def _reserve(session: Session, actor: Actor, case: TransferCase) -> None:
    person = session.get(Person, case.person_id)
    assert person is not None
    day = dt.date.fromisoformat(messages.decode(case.voucher.encode())["body"]["issued_on"])
    pension, medical = record_of(session, person, day)
    interest_id = f"xfer:{case.voucher_no}:interest"
    credited = ledger.lookup_transfer(session, interest_id)  # by an earlier attempt that the bank refused
    balance = pension.personal_fen - (credited.amount if credited is not None else 0)
    if (balance, pension.pool_fen, medical.personal_fen, pension.months, medical.months) != (
            case.pension_personal_fen, case.pension_pool_fen, case.medical_personal_fen, case.pension_months,
            case.medical_months):
        raise TransferVoucherStale(voucher_no=case.voucher_no)
    chart.open_missing(session, [PENSION_FUND, chart.BankClearing(case.pay_to_bank or ""),
                                 chart.PersonalPension(case.person_id), chart.PersonalMedical(case.person_id)])
    if case.pension_interest_fen:
        ledger.transfer(session, TransferIn(
            id=interest_id, debit_account=PENSION_FUND.code,
            credit_account=chart.PersonalPension(case.person_id).code, amount=case.pension_interest_fen,
            code="transfer.pension_interest", reference=case.voucher_no))
    attempt = _attempts(session, case)
    before = _snapshot(case)
    case.status, case.bank_ref, case.last_reason = "paying", f"XF{case.voucher_no}-{attempt}", None
    legs = _legs(case, pending=True)
    if legs:
        ledger.transfers(session, legs)
    audit.record(session, actor, "transfer.reserve", "transfer_case", case.voucher_no, before, _snapshot(case))


def _attempts(session: Session, case: TransferCase) -> int:
    """How many payments of the case the bank refused (each is kept as a ``bank_refusal`` row)."""
    return len(session.execute(select(TransferMessage.id).where(
        TransferMessage.voucher_no == case.voucher_no, TransferMessage.kind == "bank_refusal")).all())


def _settle(session: Session, actor: Actor, ex: Exchange, case: TransferCase, refused: str | None) -> None:
    before = _snapshot(case)
    attempt = _attempts(session, case)
    for leg in _legs(case, pending=True):
        if refused is None:
            ledger.post_pending(session, leg.id + ":post", leg.id)
        else:
            ledger.void_pending(session, leg.id + ":void", leg.id)
    if refused is not None:
        # a refused payment: the reservation is released; the next confirmation reserves again under new ids
        case.status, case.last_reason = "applied", refused[:40]
        session.add(TransferMessage(direction="out", partner_city=case.partner_city,
                                    msg_id=f"BR{attempt}-{case.voucher_no}", kind="bank_refusal",
                                    voucher_no=case.voucher_no, digest="-", request=refused[:40],
                                    status="refused"))
        audit.record(session, actor, "transfer.bank_refused", "transfer_case", case.voucher_no, before,
                     _snapshot(case))
        return
    assert case.pay_to_bank and case.pay_to_account and case.pay_to_name and case.bank_ref
    carried_months = _carried_from_voucher(case)
    for insurance_type, months in carried_months.items():
        carried.carry_out_in(session, actor, case.person_id, insurance_type, months, case.partner_city,
                             case.voucher_no)
    body = NoticeBody(voucher_no=case.voucher_no, bank_ref=case.bank_ref,
                      pay_to=PayTo(bank_code=case.pay_to_bank, account_no=case.pay_to_account,
                                   account_name=case.pay_to_name),
                      pension_personal_fen=case.pension_personal_fen,
                      pension_interest_fen=case.pension_interest_fen, pension_pool_fen=case.pension_pool_fen,
                      medical_personal_fen=case.medical_personal_fen, total_fen=case.total_fen)
    _outbox(session, ex, "transfer_notice", f"TN-{case.voucher_no}", case, body.model_dump())
    case.status = "paid"
    audit.record(session, actor, "transfer.paid", "transfer_case", case.voucher_no, before, _snapshot(case))


def _carried_from_voucher(case: TransferCase) -> dict[str, list[carried.CarriedMonth]]:
    body = VoucherBody.model_validate(messages.decode(case.voucher.encode())["body"])
    return {kind: [carried.CarriedMonth(m.period, m.base_fen, m.amount_fen, m.personal_fen) for m in part.history]
            for kind, part in (("pension", body.pension), ("medical", body.medical))}


# ------------------------------------------------------------------------------------------------ receiving city


def apply_in(db: Database, actor: Actor, voucher: bytes, exchange: Exchange | None = None) -> CaseOut:
    """转入申请: the holder presents the voucher; it is checked (signature of the sending city, addressed here,
    the person registered here under the same name), the case recorded and the contact letter sent. If the
    sending city cannot be reached the case stays ``applying`` and ``deliver`` sends the letter again."""
    actor.require(Permission.TRANSFER_HANDLE)
    ex = exchange or Exchange()
    env = messages.parse(voucher, ex.ring, own_city=ex.city, partners=frozenset(ex.settings.partners))
    if env.kind != "voucher" or env.msg_id != env.body.get("voucher_no"):
        raise TransferMessageMalformed("not a voucher")
    body = _body(VoucherBody, env)
    with db.unit_of_work() as session:
        try:
            person = registry.find_by_id_number(session, body.person.id_number)
        except PersonNotFound:
            raise TransferPersonNotFound("register the person here first",
                                         id_number=idnumber.mask(body.person.id_number)) from None
        if registry.normalise_name(body.person.name) != person.name:
            raise TransferPersonNotFound("the voucher's name is not the registered one")
        if session.execute(select(TransferCase.id).where(TransferCase.direction == "in",
                                                         TransferCase.voucher_no == body.voucher_no)).first():
            raise TransferDuplicate(f"voucher {body.voucher_no} was applied for already", voucher_no=body.voucher_no)
        if _open_case(session, person.id, "in") is not None:
            raise TransferDuplicate("a transfer in is in progress for this person", person_id=person.id)
        case = TransferCase(voucher_no=body.voucher_no, direction="in", person_id=person.id,
                            partner_city=env.from_city, status="applying", voucher=voucher.decode("utf-8"),
                            voucher_digest=env.digest, pension_months=body.pension.months,
                            pension_personal_fen=body.pension.personal_fen,
                            pension_interest_fen=body.pension.interest_fen, pension_pool_fen=body.pension.pool_fen,
                            medical_months=body.medical.months, medical_personal_fen=body.medical.personal_fen,
                            total_fen=body.total_fen, pay_to_bank=ex.settings.bank_code,
                            pay_to_account=ex.settings.account_no, pay_to_name=ex.settings.account_name,
                            created_by=actor.username)
        session.add(case)
        session.flush()
        letter = ContactLetterBody(voucher_no=body.voucher_no, voucher_digest=env.digest, person=body.person,
                                   pay_to=PayTo(bank_code=ex.settings.bank_code, account_no=ex.settings.account_no,
                                                account_name=ex.settings.account_name))
        _outbox(session, ex, "contact_letter", f"CL-{body.voucher_no}", case, letter.model_dump())
        row = audit.record(session, actor, "transfer.apply", "transfer_case", case.voucher_no, None, _snapshot(case))
        seq = row.seq
    deliver(db, actor, body.voucher_no, ex, direction="in", quiet=True)
    with db.unit_of_work() as session:
        return _case_out(_locked(session, "in", body.voucher_no), seq)


def _on_notice(session: Session, actor: Actor, env: messages.Envelope) -> dict[str, Any]:
    body = _body(NoticeBody, env)
    case = _locked(session, "in", body.voucher_no)
    if case.partner_city != env.from_city:
        raise TransferNotFound(f"no transfer of voucher {body.voucher_no} from {env.from_city}",
                               voucher_no=body.voucher_no)
    if case.status == "credited":
        raise TransferDuplicate("the transfer was credited already", voucher_no=body.voucher_no)
    if case.status not in ("applying", "applied"):
        raise TransferStateInvalid(f"the transfer is {case.status}", voucher_no=body.voucher_no)
    paid = (body.pension_personal_fen, body.pension_interest_fen, body.pension_pool_fen, body.medical_personal_fen,
            body.total_fen)
    expected = (case.pension_personal_fen, case.pension_interest_fen, case.pension_pool_fen,
                case.medical_personal_fen, case.total_fen)
    if paid != expected or sum(paid[:4]) != body.total_fen:
        raise TransferAmountMismatch(f"notice {body.total_fen} fen, voucher {case.total_fen} fen",
                                     voucher_no=body.voucher_no, notice_fen=body.total_fen,
                                     voucher_fen=case.total_fen)
    if (body.pay_to.bank_code, body.pay_to.account_no) != (case.pay_to_bank, case.pay_to_account):
        raise TransferAmountMismatch("paid into another account than the letter named", voucher_no=body.voucher_no)
    clearing = chart.BankClearing(case.pay_to_bank or "")
    pension_acct, medical_acct = chart.PersonalPension(case.person_id), chart.PersonalMedical(case.person_id)
    chart.open_missing(session, [PENSION_FUND, clearing, pension_acct, medical_acct])
    ref = case.voucher_no
    legs = [TransferIn(id=i, debit_account=clearing.code, credit_account=credit, amount=amount, code=code,
                       reference=ref)
            for i, credit, amount, code in (
                (f"xfer:{ref}:in:pacct", pension_acct.code, case.pension_personal_fen + case.pension_interest_fen,
                 "transfer.pension_account"),
                (f"xfer:{ref}:in:pool", PENSION_FUND.code, case.pension_pool_fen, "transfer.pension_pool"),
                (f"xfer:{ref}:in:macct", medical_acct.code, case.medical_personal_fen, "transfer.medical_account"))
            if amount > 0]
    if legs:
        ledger.transfers(session, legs)
    for insurance_type, months in _carried_from_voucher(case).items():
        carried.carry_in_in(session, actor, case.person_id, insurance_type, months, case.partner_city, ref)
    before = _snapshot(case)
    case.status, case.bank_ref, case.counterpart_fen = "credited", body.bank_ref, body.total_fen
    audit.record(session, actor, "transfer.credited", "transfer_case", ref, before, _snapshot(case))
    return ReceiptBody(in_reply_to=env.msg_id, voucher_no=ref, received_fen=sum(leg.amount for leg in legs),
                       status="credited").model_dump()


# ------------------------------------------------------------------------------------------------ the exchange


def _body(model: type[Any], env: messages.Envelope) -> Any:
    try:
        return model.model_validate(env.body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))[:60]
        raise TransferMessageMalformed(f"{env.kind}: {where}: {first.get('msg', '')[:80]}") from None


def _outbox(session: Session, ex: Exchange, kind: str, msg_id: str, case: TransferCase,
            body: dict[str, Any]) -> None:
    env = messages.seal(ex.ring, kind, msg_id, ex.city, case.partner_city, body)
    session.add(TransferMessage(direction="out", partner_city=case.partner_city, msg_id=msg_id, kind=kind,
                                voucher_no=case.voucher_no, digest=env.digest, request=env.raw.decode("utf-8")))


HANDLERS: dict[str, Callable[[Session, Actor, messages.Envelope], dict[str, Any]]] = {
    "contact_letter": _on_letter, "transfer_notice": _on_notice}
ANSWERS = {"contact_letter": "ack", "transfer_notice": "receipt"}


def receive(db: Database, raw: bytes, exchange: Exchange | None = None) -> bytes:
    """A partner city's message (the partner endpoint): checked, applied and answered in one transaction; the
    answer is a signed envelope. The same message again answers the stored answer and changes nothing; another
    message under a used id is ``TRANSFER_MESSAGE_CONFLICT``."""
    ex = exchange or Exchange()
    env = messages.parse(raw, ex.ring, own_city=ex.city, partners=frozenset(ex.settings.partners))
    handler = HANDLERS.get(env.kind)
    if handler is None:
        raise TransferMessageMalformed(f"a centre does not accept {env.kind} messages")
    actor = Actor(operator_id=None, username=f"city:{env.from_city}", role=Role.SYSTEM)
    with db.unit_of_work() as session:
        voucher_no = env.body.get("voucher_no")
        if isinstance(voucher_no, str):  # the case first: a concurrent copy of this message waits here
            session.execute(select(TransferCase.id).where(
                TransferCase.direction == ("out" if env.kind == "contact_letter" else "in"),
                TransferCase.voucher_no == voucher_no).with_for_update()).first()
        seen = session.execute(select(TransferMessage).where(
            TransferMessage.direction == "in", TransferMessage.partner_city == env.from_city,
            TransferMessage.msg_id == env.msg_id)).scalar_one_or_none()
        if seen is not None:
            if seen.digest != env.digest or seen.answer is None:
                raise TransferMessageConflict(f"message {env.msg_id} was another message", msg_id=env.msg_id)
            return seen.answer.encode("utf-8")
        answer_body = handler(session, actor, env)
        answer = messages.seal(ex.ring, ANSWERS[env.kind], f"R-{env.msg_id}", ex.city, env.from_city, answer_body)
        session.add(TransferMessage(direction="in", partner_city=env.from_city, msg_id=env.msg_id, kind=env.kind,
                                    voucher_no=str(env.body.get("voucher_no", ""))[:40], digest=env.digest,
                                    request=raw.decode("utf-8"), answer=answer.raw.decode("utf-8"),
                                    status="answered", answered_at=utcnow()))
        return answer.raw


def deliver(db: Database, actor: Actor, voucher_no: str, exchange: Exchange | None = None, *,
            direction: str = "out", quiet: bool = False) -> int:
    """Send the case's unanswered messages (same ids, same bytes) and apply the answers; returns how many were
    answered now. ``quiet``: an unreachable partner leaves them pending instead of raising."""
    actor.require(Permission.TRANSFER_HANDLE)
    ex = exchange or Exchange()
    with db.unit_of_work() as session:
        pending = list(session.execute(select(TransferMessage).where(
            TransferMessage.direction == "out", TransferMessage.voucher_no == voucher_no,
            TransferMessage.status == "pending").order_by(TransferMessage.id)).scalars())
    done = 0
    for message in pending:
        try:
            raw = ex.send(message.partner_city, ex.partner_url(message.partner_city), message.request.encode())
        except TransferPartnerRefused as exc:
            _refused(db, actor, message, str(exc.context.get("code", "")), direction)
            raise
        except DomainError as exc:
            if quiet and exc.code == "TRANSFER_PARTNER_UNAVAILABLE":
                continue
            raise
        answer = messages.parse(raw, ex.ring, own_city=ex.city, partners=frozenset(ex.settings.partners))
        with db.unit_of_work() as session:
            _apply_answer(session, actor, message.id, answer)
        done += 1
    return done


def _refused(db: Database, actor: Actor, message: TransferMessage, code: str, direction: str) -> None:
    """The partner refused a message: kept as refused; a refused contact letter ends the application here."""
    with db.unit_of_work() as session:
        row = session.get(TransferMessage, message.id, with_for_update=True)
        assert row is not None
        if row.status != "pending":
            return
        row.status, row.answer, row.answered_at = "refused", code, utcnow()
        if message.kind == "contact_letter":
            case = _locked(session, "in", message.voucher_no)
            before = _snapshot(case)
            case.status, case.last_reason = "refused", code[:40]
            audit.record(session, actor, "transfer.letter_refused", "transfer_case", case.voucher_no, before,
                         _snapshot(case))


def _apply_answer(session: Session, actor: Actor, message_id: int, answer: messages.Envelope) -> None:
    row = session.get(TransferMessage, message_id, with_for_update=True)
    assert row is not None
    if row.status != "pending":
        return
    expected = ANSWERS.get(row.kind)
    if answer.kind != expected or answer.body.get("in_reply_to") != row.msg_id \
            or answer.from_city != row.partner_city:
        raise TransferMessageMalformed(f"the answer to {row.msg_id} is not its {expected}")
    row.status, row.answer, row.answered_at = "answered", answer.raw.decode("utf-8"), utcnow()
    if row.kind == "contact_letter":
        _body(AckBody, answer)
        case = _locked(session, "in", row.voucher_no)
        if case.status == "applying":
            before = _snapshot(case)
            case.status = "applied"
            audit.record(session, actor, "transfer.letter_acknowledged", "transfer_case", case.voucher_no, before,
                         _snapshot(case))
    elif row.kind == "transfer_notice":
        receipt: ReceiptBody = _body(ReceiptBody, answer)
        case = _locked(session, "out", row.voucher_no)
        before = _snapshot(case)
        case.status, case.counterpart_fen = "completed", receipt.received_fen
        audit.record(session, actor, "transfer.completed", "transfer_case", case.voucher_no, before,
                     _snapshot(case))


# ------------------------------------------------------------------------------------------------ reads


def get_case(db: Database, actor: Actor, voucher_no: str, direction: str | None = None) -> CaseOut:
    actor.require(Permission.TRANSFER_HANDLE)
    with db.unit_of_work() as session:
        query = select(TransferCase).where(TransferCase.voucher_no == voucher_no)
        if direction:
            query = query.where(TransferCase.direction == direction)
        case = session.execute(query.order_by(TransferCase.id).limit(1)).scalar_one_or_none()
        if case is None:
            raise TransferNotFound(voucher_no[:40], voucher_no=voucher_no[:40])
        audit.record_read(session, actor, "transfer.read", "transfer_case", voucher_no, "transfer case")
        return _case_out(case)


def voucher_of(db: Database, actor: Actor, voucher_no: str) -> tuple[CaseOut, bytes]:
    """The signed voucher as issued (out) or presented (in), for the holder's copy and the PDF."""
    actor.require(Permission.TRANSFER_HANDLE)
    with db.unit_of_work() as session:
        case = session.execute(select(TransferCase).where(TransferCase.voucher_no == voucher_no)
                               .order_by(TransferCase.id).limit(1)).scalar_one_or_none()
        if case is None:
            raise TransferNotFound(voucher_no[:40], voucher_no=voucher_no[:40])
        audit.record_read(session, actor, "transfer.voucher_read", "transfer_case", voucher_no, "voucher copy")
        return _case_out(case), case.voucher.encode("utf-8")


def list_cases(db: Database, actor: Actor, person_id: int | None = None, open_only: bool = False) -> list[CaseOut]:
    """Transfers, newest first: a cardholder sees only their own (``person_id`` is then theirs), staff any."""
    if actor.role is Role.CARDHOLDER:
        actor.require(Permission.PORTAL_SELF)
        if person_id is None:
            person_id = actor.person_id
        assert person_id is not None
        actor.require_own(person_id)
    else:
        actor.require(Permission.TRANSFER_HANDLE)
    with db.unit_of_work() as session:
        query = select(TransferCase)
        if person_id is not None:
            query = query.where(TransferCase.person_id == person_id)
        if open_only:
            query = query.where(TransferCase.status.in_(OPEN_STATUSES))
        rows = [_case_out(c) for c in session.execute(query.order_by(TransferCase.id.desc()).limit(500)).scalars()]
        audit.record_read(session, actor, "transfer.list", "person" if person_id else "transfer_case",
                          person_id or "all", "transfers in progress and done", rows=len(rows))
        return rows


def reconcile(db: Database, actor: Actor, exchange: Exchange | None = None) -> ReconReport:
    """对账: per transfer, the voucher's total, what this city's ledger moved for it, and what the other city
    answered; and the totals sent and received. ``agrees`` when every finished transfer matches to the fen."""
    actor.require(Permission.TRANSFER_HANDLE)
    ex = exchange or Exchange()
    rows: list[ReconRow] = []
    with db.unit_of_work() as session:
        for case in session.execute(select(TransferCase).order_by(TransferCase.id)).scalars():
            moved = 0
            ids = ([f"xfer:{case.bank_ref}:{leg}:post" for leg in ("pacct", "pool", "macct")]
                   if case.direction == "out" else
                   [f"xfer:{case.voucher_no}:in:{leg}" for leg in ("pacct", "pool", "macct")])
            for leg_id in ids:
                found = ledger.lookup_transfer(session, leg_id)
                if found is not None:
                    moved += found.amount
            finished = case.status in ("completed", "credited")
            agrees = (moved == case.total_fen == case.counterpart_fen) if finished else moved == 0 or \
                (case.status == "paid" and moved == case.total_fen)
            rows.append(ReconRow(voucher_no=case.voucher_no, direction=case.direction, partner_city=case.partner_city,
                                 status=case.status, voucher_fen=case.total_fen, ledger_fen=moved,
                                 counterpart_fen=case.counterpart_fen, agrees=agrees))
        audit.record_read(session, actor, "transfer.reconcile", "transfer_case", "all", "reconciliation report",
                          rows=len(rows))
    done_out = [r for r in rows if r.direction == "out" and r.status == "completed"]
    done_in = [r for r in rows if r.direction == "in" and r.status == "credited"]
    return ReconReport(city=ex.city, rows=rows, sent_fen=sum(r.ledger_fen for r in done_out),
                       sent_confirmed_fen=sum(r.counterpart_fen or 0 for r in done_out),
                       received_fen=sum(r.ledger_fen for r in done_in),
                       received_announced_fen=sum(r.counterpart_fen or 0 for r in done_in),
                       agrees=all(r.agrees for r in rows))

