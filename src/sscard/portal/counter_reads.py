"""What the counter reads of a cardholder's portal account: the contact address the holder gave (the counter's
person page shows it beside the register's data). Audited like every read of personal data."""

from __future__ import annotations

from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.db import Database
from sscard.portal.models import PortalAccount


def address_of(db: Database, actor: Actor, person_id: int) -> str | None:
    actor.require(Permission.PERSON_READ)
    with db.unit_of_work() as session:
        account = session.get(PortalAccount, person_id)
        audit.record(session, actor, "portal.address_read", "person", person_id)
        return account.address if account else None
