"""What a cardholder reads: card status, personal data (masked), the personal medical account and its
settlements, contributions and benefit payments. Each read checks the actor may see that person and is
audited like every read of personal data.

Medical figures come from the medical package's tables and the ledger's balance (read here rather than
by editing the medical package); contributions and benefits from the funds package's
``contribution_history`` / ``reissue.payments_for_person``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.cards.models import Card
from sscard.cards.operations import Operation, available_operations
from sscard.cards.states import AppStatus
from sscard.db import Database
from sscard.funds.benefits.reissue import payments_for_person
from sscard.funds.contributions.history import contribution_history
from sscard.ledger import chart
from sscard.ledger import service as ledger
from sscard.ledger.errors import LedgerAccountNotFound
from sscard.medical.models import Institution, Insured, Settlement
from sscard.portal.models import PortalAccount
from sscard.portal.schemas import (
    AccountCredit,
    CardView,
    FundsRow,
    FundsSection,
    LineView,
    Medical,
    Profile,
    SettlementView,
)
from sscard.registry import idnumber
from sscard.registry.models import Person

SETTLEMENTS_SHOWN = 50


def _person_id(actor: Actor) -> int:
    actor.require(Permission.PORTAL_SELF)
    if actor.person_id is None:
        raise ValueError("a portal read needs a cardholder actor")
    actor.require_own(actor.person_id)
    return actor.person_id


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return None
    return phone[:3] + "*" * max(len(phone) - 7, 0) + phone[-4:] if len(phone) > 7 else "*" * len(phone)


def profile(db: Database, actor: Actor) -> Profile:
    person_id = _person_id(actor)
    with db.unit_of_work() as session:
        person = session.get_one(Person, person_id)
        account = session.get(PortalAccount, person_id)
        rows = list(session.execute(select(Card).where(Card.person_id == person_id).order_by(Card.id.desc()))
                    .scalars())
        cards = []
        for c in rows:
            ops = available_operations(c, rows)
            cards.append(CardView(card_no=c.card_no, app_status=c.app_status, production_status=c.production_status,
                                  expires_on=c.expires_on, temp_loss_expires_at=c.temp_loss_expires_at,
                                  can_report_loss=Operation.TEMP_LOSS in ops,
                                  can_lift_loss=c.app_status == AppStatus.TEMP_LOSS.value,
                                  can_replace=Operation.APPLY_REPLACEMENT in ops,
                                  can_exchange=Operation.APPLY_EXCHANGE in ops))
        audit.record(session, actor, "portal.profile_read", "person", person_id)
        return Profile(name=person.name, id_masked=idnumber.mask(person.id_number), sex=person.sex,
                       birth_date=person.birth_date, region_code=person.region_code,
                       phone_masked=mask_phone(person.phone), address=account.address if account else None,
                       cards=cards)


def medical(db: Database, actor: Actor) -> Medical:
    """The personal medical account (个人账户) balance and the latest settlements (newest first)."""
    person_id = _person_id(actor)
    with db.unit_of_work() as session:
        insured = session.get(Insured, person_id)
        try:
            balance = ledger.balance(session, chart.PersonalMedical(person_id).code).available_credit_balance
        except LedgerAccountNotFound:
            balance = 0
        rows = session.execute(
            select(Settlement, Institution.name).join(Institution, Institution.id == Settlement.institution_id)
            .where(Settlement.person_id == person_id).order_by(Settlement.id.desc()).limit(SETTLEMENTS_SHOWN))
        settlements = [SettlementView(setl_id=s.setl_id, settled_on=s.settled_on, institution=name,
                                      total_fen=s.total_fen, fund_paid_fen=s.fund_paid_fen,
                                      account_paid_fen=s.account_paid_fen, cash_fen=s.cash_fen, status=s.status,
                                      lines=_lines(s.split))
                       for s, name in rows]
        credits = _credits(session, person_id)
        audit.record(session, actor, "portal.medical_read", "person", person_id)
        return Medical(insured=insured is not None, scheme=insured.scheme if insured else None,
                       balance_fen=balance, settlements=settlements, credits=credits)


CREDITS_SHOWN = 24
ACCOUNT_CREDIT = "medical.account_credit"  # the ledger code of 个人账户划入 (medical.credit_personal_account)


def _lines(split_json: str) -> list[LineView]:
    """The bill's lines as the settlement split them (结算明细), from the split the medical engine stored."""
    try:
        lines = json.loads(split_json).get("lines") or []
    except (ValueError, AttributeError):
        return []
    out = []
    for line in lines:
        own = int(line.get("out_of_catalogue_fen", 0)) + int(line.get("over_price_cap_fen", 0)) + int(
            line.get("fund_excluded_fen", 0))
        out.append(LineView(name=str(line.get("name") or line.get("code") or ""), quantity=str(line.get("quantity")),
                            amount_fen=int(line.get("amount_fen", 0)), own_expense_fen=own,
                            first_self_pay_fen=int(line.get("first_self_pay_fen", 0)),
                            in_scope_fen=int(line.get("in_scope_fen", 0))))
    return out


def _credits(session: Any, person_id: int) -> list[AccountCredit]:
    """个人账户划入: the ledger's credits of the personal medical account from the allocation source."""
    try:
        entries = ledger.history(session, chart.PersonalMedical(person_id).code, limit=200)
    except LedgerAccountNotFound:
        return []
    return [AccountCredit(credited_at=e.timestamp, amount_fen=e.amount) for e in entries
            if e.side == "credit" and e.code == ACCOUNT_CREDIT and e.state == "posted"][:CREDITS_SHOWN]


# ------------------------------------------------------------------------------------------------- funds

# Payment states that need the cardholder to do something (the funds service says what).
PAYMENT_PROBLEMS = frozenset({"failed", "reissue_pending", "no_account", "stopped"})


def _month(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()[:10]
    return "" if value is None else str(value)


def contribution_rows(items: Iterable[Any], language: str) -> list[FundsRow]:
    """``ContributionRecord`` rows: a failed month carries the reason and what to do."""
    return [FundsRow(period=_month(r.period), what=str(r.insurance_type), amount_fen=int(r.amount_fen),
                     status=str(r.status), failed=r.status == "failed", reason=r.last_reason,
                     advice=(r.advice_en if language == "en" else r.advice_zh)) for r in items]


def payment_rows(items: Iterable[Any]) -> list[FundsRow]:
    """``PaymentOut`` rows (already in the caller's language): problems carry what to do."""
    return [FundsRow(period=_month(p.period_due), what=str(p.kind), amount_fen=int(p.amount), status=str(p.status),
                     failed=p.status in PAYMENT_PROBLEMS, reason=p.reason_code, advice=p.what_to_do) for p in items]


def contributions(db: Database, actor: Actor, language: str = "zh_CN") -> FundsSection:
    """缴费记录 from the funds package (which checks the cardholder reads only their own)."""
    person_id = _person_id(actor)
    return FundsSection(available=True, rows=contribution_rows(contribution_history(db, actor, person_id), language))


def benefit_payments(db: Database, actor: Actor, language: str = "zh_CN") -> FundsSection:
    """待遇发放 with failed payments and what to do, from the funds package."""
    person_id = _person_id(actor)
    lang = "en" if language == "en" else "zh"
    return FundsSection(available=True, rows=payment_rows(payments_for_person(db, actor, person_id, lang=lang)))
