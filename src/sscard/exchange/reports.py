"""Transparency: the monthly usage report per department and agreement, and what a cardholder sees — which
department used their data, when, under which agreement and for what purpose (数据使用记录)."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.db import Database
from sscard.errors import ValidationFailed
from sscard.exchange.models import ExchangeAccess, ExchangeAgreement, ExchangeDepartment, ExchangeItem, ExchangeUsage
from sscard.exchange.schemas import AccessOut, UsageReport, UsageRow

_MONTH = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    found = _MONTH.fullmatch(month)
    if found is None:
        raise ValidationFailed("month: YYYY-MM", month=month[:10])
    try:
        first = dt.date(int(found.group(1)), int(found.group(2)), 1)
        after = dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    except ValueError as exc:  # year 0000, or 9999-12 (no month after it)
        raise ValidationFailed("month: YYYY-MM of the years 0001-9998", month=month[:10]) from exc
    return first, after


def usage_report(db: Database, actor: Actor, month: str, department: str | None = None) -> UsageReport:
    """Per department and agreement: requests answered in the month (the quota counter), distinct persons whose
    data was used, and uses by item and mode."""
    actor.require(Permission.EXCHANGE_READ)
    first, after = month_bounds(month)
    start = dt.datetime.combine(first, dt.time(), clock.local_zone())  # the local month
    end = dt.datetime.combine(after, dt.time(), clock.local_zone())
    with db.unit_of_work() as session:
        agreements = select(ExchangeAgreement.id, ExchangeAgreement.agreement_no, ExchangeAgreement.purpose,
                            ExchangeAgreement.daily_quota, ExchangeDepartment.code).join(
            ExchangeDepartment, ExchangeDepartment.id == ExchangeAgreement.department_id)
        if department is not None:
            agreements = agreements.where(ExchangeDepartment.code == department)
        rows: list[UsageRow] = []
        for agreement_id, number, purpose, quota, code in session.execute(
                agreements.order_by(ExchangeDepartment.code, ExchangeAgreement.id)).all():
            requests = session.execute(select(func.coalesce(func.sum(ExchangeUsage.used), 0)).where(
                ExchangeUsage.agreement_id == agreement_id, ExchangeUsage.day >= first,
                ExchangeUsage.day < after)).scalar_one()
            window = (ExchangeAccess.agreement_id == agreement_id, ExchangeAccess.at >= start, ExchangeAccess.at < end)
            persons = session.execute(select(func.count(func.distinct(ExchangeAccess.person_id))).where(
                *window)).scalar_one()
            by = {f"{item}/{mode}": int(n) for item, mode, n in session.execute(
                select(ExchangeAccess.item_code, ExchangeAccess.mode, func.count()).where(*window)
                .group_by(ExchangeAccess.item_code, ExchangeAccess.mode)
                .order_by(ExchangeAccess.item_code, ExchangeAccess.mode)).all()}
            if requests or by:
                rows.append(UsageRow(department=code, agreement=number, purpose=purpose, requests=int(requests),
                                     persons=int(persons), by_item_mode=by, daily_quota=quota))
        audit.record_read(session, actor, "exchange.usage.read", "exchange_usage", month, purpose="usage report",
                          department=department or "*", rows=len(rows))
        return UsageReport(month=month, rows=rows)


def holder_uses(db: Database, actor: Actor, person_id: int, limit: int = 200) -> list[AccessOut]:
    """Which department used the person's data, when, for what (newest first): the holder their own, staff with
    ``exchange.read``. Audited as a read."""
    actor.require_own_or(Permission.EXCHANGE_READ, person_id)
    with db.unit_of_work() as session:
        rows = session.execute(
            select(ExchangeAccess.at, ExchangeDepartment.code, ExchangeDepartment.name, ExchangeAccess.item_code,
                   ExchangeItem.name_zh, ExchangeItem.name_en, ExchangeAccess.mode, ExchangeAgreement.purpose,
                   ExchangeAgreement.agreement_no)
            .join(ExchangeDepartment, ExchangeDepartment.id == ExchangeAccess.department_id)
            .join(ExchangeAgreement, ExchangeAgreement.id == ExchangeAccess.agreement_id)
            .join(ExchangeItem, ExchangeItem.code == ExchangeAccess.item_code)
            .where(ExchangeAccess.person_id == person_id)
            .order_by(ExchangeAccess.at.desc(), ExchangeAccess.id.desc()).limit(limit)).all()
        out = [AccessOut(at=at, department=code, department_name=name, item=item, item_name_zh=zh, item_name_en=en,
                         mode=mode, purpose=purpose, agreement=number)
               for at, code, name, item, zh, en, mode, purpose, number in rows]
        audit.record_read(session, actor, "exchange.uses.read", "person", person_id, purpose="data use record",
                          rows=len(out))
        return out
