"""网上补换卡: a cardholder orders a replacement (补卡, their card under formal loss) or an exchange (换卡: damaged,
expired, changed data) online or at a kiosk, sees the fee before committing, chooses to have the new card mailed
to an address or held at an outlet, and follows its progress. The application and its fee are the card
package's (``cards.apply_for_holder_in``); the delivery is recorded here in the same transaction. A retried
order with the same idempotency key returns the first one (never a second card or fee).
"""

from __future__ import annotations

from sqlalchemy import select

from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.auth.models import Outlet
from sscard.cards import service as cards
from sscard.cards.models import Application, Card
from sscard.cards.states import ApplicationStatus, Business, ExchangeReason, ProductionStatus
from sscard.db import Database
from sscard.portal.errors import CardOrderInvalid, OutletUnknown
from sscard.portal.models import PortalCardOrder
from sscard.portal.schemas import CardOrderView, OrderStep, OutletChoice, Quote
from sscard.portal.service import check_address

DELIVERIES = ("mail", "pickup")
STEPS = ("accepted", "making", "made", "at_outlet", "done")
_STEP_OF = {ProductionStatus.COLLECTED.value: 0, ProductionStatus.IN_BATCH.value: 1,
            ProductionStatus.BANK_OPENED.value: 1, ProductionStatus.BANK_FAILED.value: 1,
            ProductionStatus.MAKER_FAILED.value: 1, ProductionStatus.CARD_MADE.value: 2,
            ProductionStatus.AT_OUTLET.value: 3, ProductionStatus.PICKED_UP.value: 4}
_FAILED = {ProductionStatus.BANK_FAILED.value, ProductionStatus.MAKER_FAILED.value}


def _business(business: str, reason: str | None) -> tuple[Business, ExchangeReason | None]:
    try:
        kind = Business(business)
        why = ExchangeReason(reason or "") if kind is Business.EXCHANGE else None
    except ValueError:
        raise CardOrderInvalid(f"{business}/{reason}") from None
    if kind is Business.NEW:
        raise CardOrderInvalid(business)
    return kind, why


def outlets(db: Database, actor: Actor) -> list[OutletChoice]:
    """The outlets a cardholder may collect a new card at."""
    actor.require(Permission.PORTAL_SELF)
    with db.unit_of_work() as session:
        return [OutletChoice(code=o.code, name=o.name)
                for o in session.execute(select(Outlet).order_by(Outlet.code)).scalars()]


def quote(db: Database, actor: Actor, business: str, reason: str | None = None) -> Quote:
    """The fee the order would be charged, from the fee table in effect today (shown before committing)."""
    actor.require(Permission.PORTAL_SELF)
    kind, why = _business(business, reason)
    reason_value = why.value if why else ""
    return Quote(business=kind.value, reason=reason_value, fee_fen=cards.quote_fee(db, kind, reason_value))


def order(db: Database, actor: Actor, card_no: str, business: str, reason: str | None, delivery: str,
          address: str | None, outlet_code: str | None, idempotency_key: str) -> CardOrderView:
    """Order the new card: the application (with its fee) and the delivery in one transaction; audited as
    ``portal.card_order``. ``idempotency_key`` (from the confirmation form) makes a resubmission harmless."""
    actor.require(Permission.PORTAL_SELF)
    kind, why = _business(business, reason)
    if delivery not in DELIVERIES or not idempotency_key or len(idempotency_key) > 80:
        raise CardOrderInvalid(delivery)
    mail_to = check_address(address) if delivery == "mail" else None
    if delivery == "mail" and mail_to is None:
        raise CardOrderInvalid("a mailed card needs an address")
    key = f"portal:{idempotency_key}"
    with db.unit_of_work() as session:
        outlet = None
        if delivery == "pickup":
            outlet = session.execute(select(Outlet).where(Outlet.code == (outlet_code or "").strip())
                                     ).scalar_one_or_none()
            if outlet is None:
                raise OutletUnknown(outlet_code or "")
        applied = cards.apply_for_holder_in(session, actor, card_no, kind, why, key)
        existing = session.execute(select(PortalCardOrder).where(PortalCardOrder.idempotency_key == key)
                                   ).scalar_one_or_none()
        if existing is None:
            existing = PortalCardOrder(application_id=applied.application.id, person_id=applied.card.person_id,
                                       delivery=delivery, address=mail_to, outlet_code=outlet.code if outlet else None,
                                       fee_fen=applied.fee.amount_fen, idempotency_key=key)
            session.add(existing)
            session.flush()
            audit.record(session, actor, "portal.card_order", "person", applied.card.person_id, None,
                         {"application_id": applied.application.id, "business": kind.value,
                          "delivery": delivery, "outlet_code": existing.outlet_code, "fee_fen": existing.fee_fen,
                          "card_no": applied.card.card_no})
        return _view(applied.card, applied.application, existing, outlet.name if outlet else None)


def _view(card: Card, app: Application, order_row: PortalCardOrder | None, outlet_name: str | None) -> CardOrderView:
    reached = _STEP_OF.get(card.production_status, 0)
    if app.status == ApplicationStatus.COMPLETED.value:
        reached = len(STEPS) - 1
    return CardOrderView(card_no=card.card_no, business=app.business, reason=app.reason,
                         production_status=card.production_status,
                         delivery=order_row.delivery if order_row else None,
                         address=order_row.address if order_row else None,
                         outlet_code=order_row.outlet_code if order_row else None, outlet_name=outlet_name,
                         fee_fen=order_row.fee_fen if order_row else 0, ordered_at=app.created_at,
                         steps=[OrderStep(step=s, done=i <= reached) for i, s in enumerate(STEPS)],
                         failed=card.production_status in _FAILED)


def my_orders(db: Database, actor: Actor) -> list[CardOrderView]:
    """The holder's replacement and exchange cards still being made or waiting (ordered online or at a counter),
    newest first, with their progress (补换卡进度)."""
    actor.require(Permission.PORTAL_SELF)
    assert actor.person_id is not None
    with db.unit_of_work() as session:
        rows = session.execute(
            select(Card, Application, PortalCardOrder, Outlet.name)
            .join(Application, Application.id == Card.application_id)
            .outerjoin(PortalCardOrder, PortalCardOrder.application_id == Application.id)
            .outerjoin(Outlet, Outlet.code == PortalCardOrder.outlet_code)
            .where(Card.person_id == actor.person_id, Application.business != Business.NEW.value,
                   Application.status == ApplicationStatus.OPEN.value)
            .order_by(Application.id.desc())).all()
        audit.record_read(session, actor, "portal.card_orders_read", "person", actor.person_id,
                          "the holder's card orders", rows=len(rows))
        return [_view(card, app, row, name) for card, app, row, name in rows]
