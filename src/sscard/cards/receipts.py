"""Fee receipts (收费凭证) for printing: the charge, its application, card and holder (ID number masked)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.audit.models import AuditRecord
from sscard.auth.models import Operator, Outlet
from sscard.cards.errors import ApplicationNotFound
from sscard.cards.models import Application, Card
from sscard.db import Database
from sscard.fees.models import FeeCharge
from sscard.registry import idnumber
from sscard.registry.models import Person


@dataclass(frozen=True)
class Receipt:
    receipt_no: str
    application_id: int
    business: str
    reason: str
    amount_fen: int
    charged_at: dt.datetime
    operator: str
    outlet: str | None
    card_no: str
    person_name: str
    id_number_masked: str
    audit_seq: int | None
    operator_name: str = ""
    outlet_name: str = ""


def receipt(db: Database, actor: Actor, application_id: int) -> Receipt:
    """A fee receipt (收费凭证) for printing; the ID number stays masked on paper too."""
    actor.require(Permission.CARD_READ)
    with db.unit_of_work() as session:
        row = session.execute(
            select(FeeCharge, Application, Card, Person)
            .join(Application, Application.id == FeeCharge.application_id)
            .join(Card, Card.application_id == Application.id)
            .join(Person, Person.id == Application.person_id)
            .where(FeeCharge.application_id == application_id)).first()
        if row is None:
            raise ApplicationNotFound(str(application_id))
        fee, application, card, person = row
        # The application's own record (application.new / .replacement / .exchange), not a later read of it:
        # the number printed is the same on every view and reprint.
        seq = session.execute(
            select(func.min(AuditRecord.seq)).where(AuditRecord.entity_type == "application",
                                                    AuditRecord.entity_id == str(application.id),
                                                    AuditRecord.action == f"application.{application.business}")
        ).scalar_one()
        operator = session.execute(select(Operator.display_name).where(Operator.username == fee.operator)).scalar()
        outlet = (session.execute(select(Outlet.name).where(Outlet.code == fee.outlet)).scalar()
                  if fee.outlet else None)
        audit.record(session, actor, "fee.receipt_read", "application", application.id)
        return Receipt(fee.receipt_no, application.id, fee.business, fee.reason, fee.amount_fen, fee.charged_at,
                       fee.operator, fee.outlet, card.card_no, person.name, idnumber.mask(person.id_number), seq,
                       operator_name=operator or fee.operator, outlet_name=outlet or (fee.outlet or ""))
