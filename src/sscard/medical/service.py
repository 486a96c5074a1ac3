"""Settlement use cases (医保即时结算): eligibility, pre-settlement (2206), settlement (2207), reversal (2208),
冲正 (2601), plus enrolment and personal-account funding. One use case = one transaction.

Lock order, the same in every use case so that none waits on another in a cycle: the message row (unique
index), then a settlement row (reversals), then the person's accumulator row, then the ledger accounts (one
``transfers`` call, which locks them in id order). The ledger comes last for a second reason: the pool fund
and the institution's payable account are touched by every settlement, so their row locks are taken in the
last statements before COMMIT and held as briefly as possible.

The settlement path is written for round trips (bench/settlement.py): the caller's API key is re-checked in
the statement that claims the message id (the principal may come from a per-process cache), the person, the
enrolment, the card and the personal account come in one query, the accumulator row is created-or-locked in
one upsert, and the writes are Core statements compiled once. On PostgreSQL those statements run on the
session's psycopg connection without SQLAlchemy's execution pipeline (``sscard.bulksql``).

Settlement and reversal journal themselves (message rows with request hash and answer, settlement rows with
institution, terminal and message id) instead of writing the audit chain, whose single head row would
serialise every settlement in the city; administrator changes and personal-data reads are audited.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import psycopg
from pydantic import ValidationError
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sscard import bulksql, clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.cards import service as cards
from sscard.db import Database
from sscard.ledger import chart
from sscard.ledger import service as ledger
from sscard.ledger.schemas import TransferIn
from sscard.medical import config, debit, journal, presence
from sscard.medical.catalogue import Catalogue
from sscard.medical.engine import settle as split_bill
from sscard.medical.engine_schemas import Bill, PersonContext, Split
from sscard.medical.errors import (
    AmountInvalid,
    BillDateInvalid,
    BillInvalid,
    CardPresenceInvalid,
    IdentificationInvalid,
    InstitutionAuthFailed,
    PersonContextInvalid,
    PersonNotInsured,
    ReversalCrossYear,
    ReversalNotAllowed,
    SettlementNotFound,
)
from sscard.medical.identify import Subject, available_balance, ecard_card_no, identify_any
from sscard.medical.identify import identify as identify  # part of this module's interface
from sscard.medical.institutions import InstitutionPrincipal, check_terminal, forget, key_valid
from sscard.medical.models import Accumulator, Insured, Settlement
from sscard.medical.schemas import (
    AccumulatorsOut,
    BillIn,
    CardRefundOut,
    EligibilityIn,
    EligibilityOut,
    PositionOut,
    ReversalOut,
    ReverseIn,
    SettleIn,
    SettlementOut,
    VoidIn,
    VoidOut,
)
from sscard.medical.terms import SCHEME_PERSON_TYPES, MessageKind, PersonType, Scheme
from sscard.registry import idnumber
from sscard.registry import service as registry

FUNDING_SOURCE = chart.AccountAllocation(Scheme.EMPLOYEE.value)  # 个人账户划入 (no funds run posts allocations yet)


def _pool(scheme: Scheme | str) -> chart.MedicalPool:
    """统筹基金: the scheme's pooled fund, debited by what it pays (an unknown scheme is a ValueError)."""
    return chart.MedicalPool(Scheme(scheme).value)


_ACC = Accumulator.metadata.tables[Accumulator.__tablename__]
_SETTLEMENTS = Settlement.metadata.tables[Settlement.__tablename__]
_INSERT_SETTLEMENT = insert(_SETTLEMENTS).inline()  # no implicit RETURNING id: the row is found by setl_id
_ACC_TOTALS = ("fund_paid_fen", "deductible_paid_fen", "in_scope_fen", "account_spent_fen", "admissions",
               "settlements")


# Compiled once; values are given at execution.
_ACC_LOCK = {name: insert(_ACC).on_conflict_do_update(index_elements=[_ACC.c.person_id, _ACC.c.year],
                                                      set_={"settlements": _ACC.c.settlements})  # no change: the lock
             .returning(*(_ACC.c[k] for k in _ACC_TOTALS))
             for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))}
_ACC_SAVE = (update(_ACC).where(_ACC.c.person_id == bindparam("b_person_id"), _ACC.c.year == bindparam("b_year"))
             .values({k: bindparam(f"b_{k}") for k in _ACC_TOTALS}))


def _accumulators(session: Session, person_id: int, year: int, lock: bool) -> Accumulator:
    """The person's accumulator row for the year. With ``lock``: created if new and locked, in one upsert
    (ON CONFLICT DO UPDATE locks the existing row as FOR UPDATE would), returned detached — write it back
    with ``_save_accumulators``."""
    if not lock:
        row = session.execute(select(Accumulator).where(Accumulator.person_id == person_id,
                                                        Accumulator.year == year)).scalar_one_or_none()
        return row if row is not None else Accumulator(person_id=person_id, year=year, **dict.fromkeys(_ACC_TOTALS, 0))
    (found,) = bulksql.execute(session, _ACC_LOCK[session.get_bind().dialect.name],
                              {"person_id": person_id, "year": year, **dict.fromkeys(_ACC_TOTALS, 0)})
    return Accumulator(person_id=person_id, year=year, **dict(zip(_ACC_TOTALS, found, strict=True)))


def _save_accumulators(session: Session, acc: Accumulator) -> None:
    """Write back a row read with ``_accumulators(lock=True)`` (its lock is still held)."""
    bulksql.execute(session, *_acc_write(acc))


def _acc_write(acc: Accumulator) -> bulksql.Write:
    return _ACC_SAVE, {"b_person_id": acc.person_id, "b_year": acc.year,
                       **{f"b_{k}": getattr(acc, k) for k in _ACC_TOTALS}}


def _acc_out(row: Accumulator) -> AccumulatorsOut:
    return AccumulatorsOut(year=row.year, fund_paid_fen=row.fund_paid_fen, deductible_paid_fen=row.deductible_paid_fen,
                           in_scope_fen=row.in_scope_fen, account_spent_fen=row.account_spent_fen,
                           admissions=row.admissions, settlements=row.settlements)


def eligibility(db: Database, principal: InstitutionPrincipal, req: EligibilityIn) -> EligibilityOut:
    """人员待遇享受检查: may this person settle here now, with what scheme and accumulators (no balance: PIPL's
    minimum necessary; the settlement answer shows what the account paid)."""
    principal.actor.require(Permission.MEDICAL_SETTLE)
    with db.unit_of_work() as session:
        check_terminal(session, principal, req.terminal_no)
        subject = identify_any(session, principal.actor, req.card_no, req.id_number, req.ecard_code,
                               legacy_card_no=req.legacy_card_no)
        year = req.year or clock.local_date().year
        acc = _accumulators(session, subject.person.id, year, lock=False)
        audit.record(session, principal.actor, "medical.eligibility", "person", subject.person.id, None,
                     {"purpose": "eligibility check", "institution": principal.code, "msg_id": req.msg_id})
        by_card = subject.identified_by == "card" and subject.card is not None
        return EligibilityOut(
            msg_id=req.msg_id, name_masked=registry.mask_name(subject.person.name),
            id_number_masked=idnumber.mask(subject.person.id_number), identified_by=subject.identified_by,
            card_no=subject.card.card_no if by_card and subject.card else None,
            card_app_status=subject.card.app_status if subject.card else None,
            scheme=Scheme(subject.insured.scheme), person_type=PersonType(subject.insured.person_type),
            accumulators=_acc_out(acc))


# ---------------------------------------------------------------------------------------------------- settlement


@dataclass(frozen=True)
class _Computed:
    subject: Subject
    accumulators: Accumulator
    balance: int
    split: Split
    presence: presence.Proof | None = None  # the proof of card presence that was checked (settlements only)


def _bill(principal: InstitutionPrincipal, bill: BillIn) -> Bill:
    if bill.date > clock.local_date():
        raise BillDateInvalid(bill.date.isoformat(), date=bill.date.isoformat())
    try:
        return Bill.model_validate({**bill.model_dump(), "hospital_level": principal.level})
    except ValidationError as exc:
        raise BillInvalid("; ".join(str(e["msg"]) for e in exc.errors()[:3])) from None


def _compute(session: Session, principal: InstitutionPrincipal, req: SettleIn, lock: bool,
             proof: presence.Proof | None = None, verifier: presence.Verifier | None = None) -> _Computed:
    """The split, after checking the proof of card presence the policy asks for (by card; 2206 and 2207: a
    pre-settlement's split tells what the personal account would pay, i.e. its balance)."""
    principal.require_service(req.bill.visit_type.value)
    check_terminal(session, principal, req.terminal_no)
    bill = _bill(principal, req.bill)
    subject = identify_any(session, principal.actor, req.card_no, req.id_number, req.ecard_code,
                           f"{principal.code}:{req.msg_id}" if lock else None,  # 2207 spends an e-card code
                           legacy_card_no=req.legacy_card_no)
    policy, catalogue = config.rules_on(session, bill.date,
                                        (line.code for line in bill.lines if not line.out_of_catalogue))
    checked = None
    if subject.identified_by in ("card", "ecard") and subject.card is not None:
        checked = presence.check(policy, principal.kind, principal.level.value if principal.level else None,
                                 subject.card.card_no, proof, bill.date, verifier or presence_verifier())
    acc = _accumulators(session, subject.person.id, bill.date.year, lock)
    scheme = Scheme(subject.insured.scheme)
    if scheme is not Scheme.EMPLOYEE:
        balance = 0
    elif lock:  # read again under the person's lock: a settlement that just committed may have spent from it
        balance = available_balance(session, subject.person.id)
    else:
        balance = subject.balance
    try:
        person = PersonContext(scheme=scheme, person_type=PersonType(subject.insured.person_type),
                               year=bill.date.year, fund_paid_ytd_fen=acc.fund_paid_fen,
                               deductible_paid_ytd_fen=acc.deductible_paid_fen, in_scope_ytd_fen=acc.in_scope_fen,
                               account_balance_fen=balance if req.use_account else 0,
                               admissions_this_year=acc.admissions)
    except ValidationError as exc:  # pragma: no cover - enrolment validates scheme and person type
        raise PersonContextInvalid(str(exc)) from None
    return _Computed(subject, acc, balance, split_bill(bill, policy, catalogue, person), checked)


def _settlement_out(principal: InstitutionPrincipal, req: SettleIn, computed: _Computed, setl_id: str | None,
                    acc_after: AccumulatorsOut) -> SettlementOut:
    subject = computed.subject
    return SettlementOut(msg_id=req.msg_id, setl_id=setl_id, institution=principal.code,
                         identified_by=subject.identified_by,
                         card_no=subject.card.card_no if subject.card and subject.identified_by == "card" else None,
                         settled_on=clock.local_date(),
                         split=computed.split, accumulators_after=acc_after,
                         account_balance_after_fen=computed.balance - computed.split.account_paid_fen)


def pre_settle(db: Database, principal: InstitutionPrincipal, req: SettleIn, proof: presence.Proof | None = None,
               verifier: presence.Verifier | None = None) -> SettlementOut:
    """2206 预结算: the split a settlement would make now; by card with the proof of presence, as 2207 (its
    ATC is not spent: nothing is settled). Nothing of the settlement is written or locked; the read of the
    person's data is audited (one record: the institution, the purpose, the message id)."""
    principal.require_service(req.bill.visit_type.value)
    proof = _pin_first(db, principal, req, proof)
    with db.unit_of_work() as session:
        computed = _compute(session, principal, req, lock=False, proof=proof, verifier=verifier)
        audit.record(session, principal.actor, "medical.pre_settlement.read", "person", computed.subject.person.id,
                     None, {"purpose": "pre-settlement 2206", "institution": principal.code, "msg_id": req.msg_id})
        return _settlement_out(principal, req, computed, None, _acc_out(computed.accumulators))


def settle(db: Database, principal: InstitutionPrincipal, req: SettleIn, proof: presence.Proof | None = None,
           verifier: presence.Verifier | None = None) -> SettlementOut:
    """2207 结算: accumulators, the settlement record and the ledger transfers in one transaction. A settlement
    by card needs the proof of card presence the policy asks of this institution class (``proof``, from the
    ``X-Card-Presence`` header bound to the request body; ``verifier`` checks chip cryptograms)."""
    return settle_json(db, principal, req, proof, verifier)[0]


_presence_verifier: presence.Verifier | None = None


def presence_verifier() -> presence.Verifier:
    """The process's verifier over the keystore at ``$SSCARD_KEYSTORE`` (when the caller gives none)."""
    global _presence_verifier
    if _presence_verifier is None:
        _presence_verifier = presence.keystore_verifier()
    return _presence_verifier


def settle_json(db: Database, principal: InstitutionPrincipal, req: SettleIn, proof: presence.Proof | None = None,
                verifier: presence.Verifier | None = None) -> tuple[SettlementOut, str]:
    """``settle``, and the answer as the JSON stored in the message journal (the API sends it as it is: the
    answer is serialised once)."""
    principal.require_service(req.bill.visit_type.value)
    proof = _pin_first(db, principal, req, proof)
    try:
        return _settle_json(db, principal, req, proof, verifier)
    except IntegrityError as exc:
        if "presence_atc" in str(exc.orig) or "uq_medical_settlements_card_atc" in str(exc.orig):
            raise CardPresenceInvalid("this cryptogram was used already (ATC)") from None
        raise
    except psycopg.errors.UniqueViolation as exc:
        if exc.diag.constraint_name == "uq_medical_settlements_card_atc":
            raise CardPresenceInvalid("this cryptogram was used already (ATC)") from None
        raise


def _pin_first(db: Database, principal: InstitutionPrincipal, req: SettleIn,
               proof: presence.Proof | None) -> presence.Proof | None:
    """A PIN proof is checked in its own transaction, before the settlement's: a wrong PIN is counted even
    though nothing is settled."""
    if proof is None or proof.method != "pin" or (req.card_no is None and req.ecard_code is None):
        return proof
    if req.card_no is not None and req.ecard_code is not None:
        raise IdentificationInvalid()
    card_no = req.card_no if req.card_no is not None else ecard_card_no(db, str(req.ecard_code))
    if not cards.verify_pin_at_settlement(db, principal.actor, card_no, proof.pin).ok:
        raise CardPresenceInvalid("wrong PIN")
    return presence.pin_checked(proof)


def _settle_json(db: Database, principal: InstitutionPrincipal, req: SettleIn, proof: presence.Proof | None,
                 verifier: presence.Verifier | None) -> tuple[SettlementOut, str]:
    with db.unit_of_work() as session:
        try:
            first = journal.begin(session, principal.id, req.msg_id, MessageKind.SETTLE, req,
                                  only_if=key_valid(principal))
        except InstitutionAuthFailed:
            forget(key_sha256=principal.key_sha256)
            raise
        if first is not None:
            replayed = SettlementOut.model_validate_json(first).model_copy(update={"replayed": True})
            return replayed, replayed.model_dump_json()
        computed = _compute(session, principal, req, lock=True, proof=proof, verifier=verifier)
        split, acc = computed.split, computed.accumulators
        setl_id = f"{clock.local_date():%Y%m%d}{secrets.token_hex(6).upper()}"
        delta = split.accumulators
        acc.fund_paid_fen += delta.fund_paid_fen
        acc.deductible_paid_fen += delta.deductible_paid_fen
        acc.in_scope_fen += delta.in_scope_fen
        acc.account_spent_fen += delta.account_spent_fen
        acc.admissions += delta.admissions
        acc.settlements += 1
        out = _settlement_out(principal, req, computed, setl_id, _acc_out(acc))
        answer = out.model_dump_json()
        bulksql.write_all(session, [  # one round trip: a new row and two rows this transaction has locked
            (_INSERT_SETTLEMENT, _settlement_row(principal, req, computed, setl_id)), _acc_write(acc),
            journal.finish_write(principal.id, req.msg_id, answer)])
        legs = []
        payable = chart.InstitutionPayable(principal.code).code
        if split.fund_paid_fen:
            legs.append(TransferIn(id=f"med:{setl_id}:fund", debit_account=_pool(split.scheme).code,
                                   credit_account=payable, amount=split.fund_paid_fen, code="medical.settlement",
                                   reference=setl_id))
        if split.account_paid_fen:
            personal = chart.PersonalMedical(computed.subject.person.id).code
            legs.append(TransferIn(id=f"med:{setl_id}:acct", debit_account=personal, credit_account=payable,
                                   amount=split.account_paid_fen, code="medical.settlement", reference=setl_id))
        if legs:
            ledger.transfers(session, legs)  # last: the hot pool and payable rows are locked until COMMIT
        return out, answer


def _settlement_row(principal: InstitutionPrincipal, req: SettleIn, computed: _Computed,
                    setl_id: str) -> dict[str, object]:
    s, subject = computed.split, computed.subject
    return dict(
        setl_id=setl_id, institution_id=principal.id, terminal_no=req.terminal_no, msg_id=req.msg_id,
        person_id=subject.person.id, card_no=subject.card.card_no if subject.card else None,
        identified_by=subject.identified_by, presence_method=computed.presence.method if computed.presence else None,
        presence_atc=computed.presence.atc if computed.presence and computed.presence.method == "arqc" else None,
        scheme=s.scheme.value, person_type=s.person_type.value,
        visit_type=s.visit_type.value, hospital_level=s.hospital_level.value if s.hospital_level else None,
        bill_no=s.bill_no, bill_date=s.date, year=s.date.year, settled_on=clock.local_date(), policy_id=s.policy_id,
        total_fen=s.total_fen, out_of_catalogue_fen=s.out_of_catalogue_fen, over_price_cap_fen=s.over_price_cap_fen,
        fund_excluded_fen=s.fund_excluded_fen, first_self_pay_fen=s.first_self_pay_fen, in_scope_fen=s.in_scope_fen,
        deductible_paid_fen=s.deductible_paid_fen, fund_paid_fen=s.fund_paid_fen, copay_fen=s.copay_fen,
        over_annual_cap_fen=s.over_annual_cap_fen, self_pay_fen=s.self_pay_fen, own_expense_fen=s.own_expense_fen,
        account_paid_fen=s.account_paid_fen, cash_fen=s.cash_fen, admissions_added=s.accumulators.admissions,
        split=s.model_dump_json(), status="settled")


# ---------------------------------------------------------------------------------------------------- reversal


def reverse(db: Database, principal: InstitutionPrincipal, req: ReverseIn) -> ReversalOut:
    """2208 结算撤销: undo a settlement of this year — accumulators back, ledger transfers reversed. Reversing
    a reversed settlement returns the first reversal's answer."""
    principal.actor.require(Permission.MEDICAL_SETTLE)
    with db.unit_of_work() as session:
        first = journal.begin(session, principal.id, req.msg_id, MessageKind.REVERSE, req)
        if first is not None:
            return ReversalOut.model_validate_json(first).model_copy(update={"replayed": True})
        check_terminal(session, principal, req.terminal_no)
        out = _reverse_in(session, principal, req.setl_id, req.msg_id)
        journal.finish(session, principal.id, req.msg_id, out.model_dump_json())
        return out


def _reverse_in(session: Session, principal: InstitutionPrincipal, setl_id: str, msg_id: str) -> ReversalOut:
    row = session.execute(select(Settlement).where(Settlement.setl_id == setl_id).with_for_update()
                          .execution_options(populate_existing=True)).scalar_one_or_none()
    if row is None or row.institution_id != principal.id:
        raise SettlementNotFound(setl_id, setl_id=setl_id)
    principal.require_service(row.visit_type)
    if row.status == "reversed":
        acc = _accumulators(session, row.person_id, row.year, lock=False)
        return _reversal_out(row, msg_id, acc, debit.refund_of(session, setl_id, principal.code))
    if row.year != clock.local_date().year:
        raise ReversalCrossYear(f"{setl_id} belongs to {row.year}", setl_id=setl_id, year=row.year)
    acc = _accumulators(session, row.person_id, row.year, lock=True)
    acc.fund_paid_fen -= row.fund_paid_fen
    acc.deductible_paid_fen -= row.deductible_paid_fen
    acc.in_scope_fen -= row.in_scope_fen
    acc.account_spent_fen -= row.account_paid_fen
    acc.admissions -= row.admissions_added
    acc.settlements -= 1
    _save_accumulators(session, acc)
    row.status, row.reversal_msg_id, row.reversed_at = "reversed", msg_id, clock.now()
    session.flush()
    payable = chart.InstitutionPayable(principal.code).code
    legs = []
    if row.fund_paid_fen:
        legs.append(TransferIn(id=f"med:{setl_id}:fund:rev", debit_account=payable,
                               credit_account=_pool(row.scheme).code, amount=row.fund_paid_fen,
                               code="medical.reversal", reference=setl_id))
    if row.account_paid_fen:
        legs.append(TransferIn(id=f"med:{setl_id}:acct:rev", debit_account=payable,
                               credit_account=chart.PersonalMedical(row.person_id).code, amount=row.account_paid_fen,
                               code="medical.reversal", reference=setl_id))
    if legs:
        ledger.transfers(session, legs)
    return _reversal_out(row, msg_id, acc, debit.refund_due(session, setl_id, msg_id, principal.code))


def _reversal_out(row: Settlement, msg_id: str, acc: Accumulator,
                  card_refund: CardRefundOut | None = None) -> ReversalOut:
    assert row.reversal_msg_id is not None and row.reversed_at is not None
    return ReversalOut(msg_id=msg_id, setl_id=row.setl_id, status="reversed", reversal_msg_id=row.reversal_msg_id,
                       reversed_at=row.reversed_at, fund_returned_fen=row.fund_paid_fen,
                       account_returned_fen=row.account_paid_fen, accumulators_after=_acc_out(acc),
                       card_refund=card_refund)


def void_message(db: Database, principal: InstitutionPrincipal, req: VoidIn) -> VoidOut:
    """2601 冲正: reverse the settlement a message made; if it never arrived, block its id so it never will."""
    principal.actor.require(Permission.MEDICAL_SETTLE)
    with db.unit_of_work() as session:
        first = journal.begin(session, principal.id, req.msg_id, MessageKind.VOID, req)
        if first is not None:
            return VoidOut.model_validate_json(first).model_copy(update={"replayed": True})
        check_terminal(session, principal, req.terminal_no)
        original = journal.claim(session, principal.id, req.original_msg_id, MessageKind.TOMBSTONE, "0" * 64)
        if original is None or original.kind == MessageKind.TOMBSTONE:
            out = VoidOut(msg_id=req.msg_id, original_msg_id=req.original_msg_id, outcome="voided_unknown")
            if original is None:
                journal.finish(session, principal.id, req.original_msg_id, out.model_dump_json())
        elif original.kind == MessageKind.SETTLE and original.response is not None:
            setl_id = json.loads(original.response)["setl_id"]
            _reverse_in(session, principal, setl_id, req.msg_id)
            out = VoidOut(msg_id=req.msg_id, original_msg_id=req.original_msg_id, outcome="reversed",
                          setl_id=setl_id)
        else:
            raise ReversalNotAllowed(f"message {req.original_msg_id} is a {original.kind}", kind=original.kind)
        journal.finish(session, principal.id, req.msg_id, out.model_dump_json())
        return out


# ---------------------------------------------------------------------------------------------------- administration


def enrol(db: Database, actor: Actor, id_number: str, scheme: Scheme | str, person_type: PersonType | str) -> None:
    """参保登记: record the person's scheme and type; employees get a personal medical account."""
    actor.require(Permission.MEDICAL_ADMIN)
    try:
        scheme, person_type = Scheme(scheme), PersonType(person_type)
    except ValueError:
        raise PersonContextInvalid(f"unknown scheme {scheme} or person type {person_type}") from None
    if person_type not in SCHEME_PERSON_TYPES[scheme]:
        raise PersonContextInvalid(f"person type {person_type} does not belong to scheme {scheme}")
    with db.unit_of_work() as session:
        person = registry.find_by_id_number(session, id_number)
        row = session.get(Insured, person.id)
        before = None if row is None else {"scheme": row.scheme, "person_type": row.person_type}
        if row is None:
            session.add(Insured(person_id=person.id, scheme=scheme.value, person_type=person_type.value))
        else:
            row.scheme, row.person_type = scheme.value, person_type.value
        chart.open_account(session, _pool(scheme))
        if scheme is Scheme.EMPLOYEE:
            chart.open_account(session, chart.PersonalMedical(person.id))
        audit.record(session, actor, "medical.enrol", "person", person.id, before,
                     {"scheme": scheme.value, "person_type": person_type.value})


def credit_personal_account(db: Database, actor: Actor, id_number: str, amount_fen: int, transfer_id: str) -> int:
    """个人账户划入 from the allocation source (idempotent by ``transfer_id``); returns the new balance."""
    actor.require(Permission.MEDICAL_ADMIN)
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise AmountInvalid(str(amount_fen))
    with db.unit_of_work() as session:
        person = registry.find_by_id_number(session, id_number)
        insured = session.get(Insured, person.id)
        if insured is None or insured.scheme != Scheme.EMPLOYEE.value:
            raise PersonNotInsured("only the employees' scheme has a personal account",
                                   id_number=idnumber.mask(person.id_number))
        chart.open_account(session, FUNDING_SOURCE)
        personal = chart.PersonalMedical(person.id).code
        out = ledger.transfer(session, TransferIn(id=transfer_id, debit_account=FUNDING_SOURCE.code,
                                                  credit_account=personal, amount=amount_fen,
                                                  code="medical.account_credit", reference=str(person.id)))
        if not out.replayed:
            audit.record(session, actor, "medical.account.credit", "person", person.id, None,
                         {"amount_fen": amount_fen, "transfer_id": transfer_id})
        return ledger.balance(session, personal).credit_balance


def position(db: Database, actor: Actor, id_number: str, year: int | None = None) -> PositionOut:
    """The person's enrolment, accumulators for ``year`` (default this year) and account balance."""
    actor.require(Permission.MEDICAL_ADMIN)
    with db.unit_of_work() as session:
        person = registry.find_by_id_number(session, id_number)
        insured = session.get(Insured, person.id)
        if insured is None:
            raise PersonNotInsured(idnumber.mask(person.id_number))
        acc = _accumulators(session, person.id, year or clock.local_date().year, lock=False)
        audit.record(session, actor, "medical.position.read", "person", person.id)
        return PositionOut(psn_no=str(person.id), scheme=Scheme(insured.scheme),
                           person_type=PersonType(insured.person_type), accumulators=_acc_out(acc),
                           account_balance_fen=available_balance(session, person.id))


def settlement_record(db: Database, principal: InstitutionPrincipal, setl_id: str) -> dict[str, object]:
    """One of the institution's settlements as stored (status, split)."""
    principal.actor.require(Permission.MEDICAL_SETTLE)
    with db.unit_of_work() as session:
        row = session.execute(select(Settlement).where(Settlement.setl_id == setl_id)).scalar_one_or_none()
        if row is None or row.institution_id != principal.id:
            raise SettlementNotFound(setl_id, setl_id=setl_id)
        audit.record(session, principal.actor, "medical.settlement.read", "person", row.person_id, None,
                     {"purpose": "settlement lookup", "institution": principal.code, "setl_id": row.setl_id})
        return {"setl_id": row.setl_id, "msg_id": row.msg_id, "status": row.status,
                "reversal_msg_id": row.reversal_msg_id, "settled_on": row.settled_on.isoformat(),
                "split": json.loads(row.split)}


# ---------------------------------------------------------------------------------------------------- cross-region


def settle_for_region(session: Session, person_id: int, bill: Bill, catalogue: Catalogue, counter_account: str,
                      ref: str, use_account: bool = True,
                      before_posting: Callable[[Split, AccumulatorsOut], Sequence[bulksql.Write]] | None = None,
                      enrolment: tuple[str, str] | None = None) -> Split:
    """The home centre's half of a remote settlement (sscard.remote, docs/cross-region.md), inside the caller's
    transaction: ``bill`` was classified by the treating city (``catalogue``: its items as it classified them,
    its price caps); this city's policy in effect on the bill's date splits it with the person's accumulators
    and personal account; the accumulators are written and the fund's and the account's parts move to
    ``counter_account`` (what this city owes the treating city) as balanced ledger transfers ``rmed:<ref>:…``.

    ``before_posting(split, accumulators_after)`` returns the caller's own writes (new rows, prebuilt
    statements): they go with the accumulators' write in one round trip (``bulksql.write_all``), before the
    transfers, which lock the fund pool and the counter account (busy rows every settlement touches) and are
    the transaction's last statements before COMMIT. ``enrolment``: (scheme, person type) when the caller
    read them already in this transaction (``identify``), else they are read here."""
    if enrolment is None:
        insured = session.get(Insured, person_id)
        if insured is None:
            raise PersonNotInsured()
        enrolment = (insured.scheme, insured.person_type)
    scheme_name, person_type = enrolment
    policy, _ = config.rules_on(session, bill.date, ())
    acc = _accumulators(session, person_id, bill.date.year, lock=True)
    scheme = Scheme(scheme_name)
    balance = available_balance(session, person_id) if scheme is Scheme.EMPLOYEE and use_account else 0
    person = PersonContext(scheme=scheme, person_type=PersonType(person_type), year=bill.date.year,
                           fund_paid_ytd_fen=acc.fund_paid_fen, deductible_paid_ytd_fen=acc.deductible_paid_fen,
                           in_scope_ytd_fen=acc.in_scope_fen, account_balance_fen=balance,
                           admissions_this_year=acc.admissions)
    split = split_bill(bill, policy, catalogue, person)
    delta = split.accumulators
    acc.fund_paid_fen += delta.fund_paid_fen
    acc.deductible_paid_fen += delta.deductible_paid_fen
    acc.in_scope_fen += delta.in_scope_fen
    acc.account_spent_fen += delta.account_spent_fen
    acc.admissions += delta.admissions
    acc.settlements += 1
    chart.open_missing(session, [_pool(scheme), chart.parse(counter_account)])
    writes = [_acc_write(acc), *(before_posting(split, _acc_out(acc)) if before_posting is not None else ())]
    bulksql.write_all(session, writes)  # one round trip: the locked accumulator row and the caller's new rows
    legs = []
    if split.fund_paid_fen:
        legs.append(TransferIn(id=f"rmed:{ref}:fund", debit_account=_pool(scheme).code,
                               credit_account=counter_account, amount=split.fund_paid_fen,
                               code="medical.remote_settlement", reference=ref[:64]))
    if split.account_paid_fen:
        legs.append(TransferIn(id=f"rmed:{ref}:acct", debit_account=chart.PersonalMedical(person_id).code,
                               credit_account=counter_account, amount=split.account_paid_fen,
                               code="medical.remote_settlement", reference=ref[:64]))
    if legs:
        ledger.transfers(session, legs)
    return split


def reverse_for_region(session: Session, person_id: int, split: Split, counter_account: str, ref: str) -> None:
    """Undo ``settle_for_region`` of ``split`` (same ``ref``): accumulators back, both transfers reversed."""
    acc = _accumulators(session, person_id, split.date.year, lock=True)
    delta = split.accumulators
    acc.fund_paid_fen -= delta.fund_paid_fen
    acc.deductible_paid_fen -= delta.deductible_paid_fen
    acc.in_scope_fen -= delta.in_scope_fen
    acc.account_spent_fen -= delta.account_spent_fen
    acc.admissions -= delta.admissions
    acc.settlements -= 1
    _save_accumulators(session, acc)
    legs = []
    if split.fund_paid_fen:
        legs.append(TransferIn(id=f"rmed:{ref}:fund:rev", debit_account=counter_account,
                               credit_account=_pool(split.scheme).code, amount=split.fund_paid_fen,
                               code="medical.remote_reversal", reference=ref[:64]))
    if split.account_paid_fen:
        legs.append(TransferIn(id=f"rmed:{ref}:acct:rev", debit_account=counter_account,
                               credit_account=chart.PersonalMedical(person_id).code, amount=split.account_paid_fen,
                               code="medical.remote_reversal", reference=ref[:64]))
    if legs:
        ledger.transfers(session, legs)


def accumulators_of(session: Session, person_id: int, year: int) -> AccumulatorsOut:
    """The person's accumulators of ``year`` as they stand in the caller's transaction."""
    return _acc_out(_accumulators(session, person_id, year, lock=False))
