"""Imports every domain's tables so that ``Base.metadata`` is complete (Alembic and tests use it)."""

from sscard.audit.models import AuditHead, AuditRecord
from sscard.auth.models import ApiToken, Operator, Outlet
from sscard.cards.models import Application, Card, CardNumber
from sscard.db import Base
from sscard.fees.models import FeeCharge, FeeRate
from sscard.ledger.models import LedgerAccount, LedgerTransfer
from sscard.policy.models import PolicyParameter
from sscard.registry.models import Person

__all__ = [
    "ApiToken", "Application", "AuditHead", "AuditRecord", "Base", "Card", "CardNumber", "FeeCharge",
    "FeeRate", "LedgerAccount", "LedgerTransfer", "Operator", "Outlet", "Person", "PolicyParameter",
]
