"""Imports every domain's tables so that ``Base.metadata`` is complete (Alembic and tests use it)."""

from sscard.audit.models import AuditHead, AuditRecord
from sscard.auth.models import ApiToken, Operator, Outlet
from sscard.cards.models import Application, Card, CardNumber
from sscard.db import Base
from sscard.fees.models import FeeCharge, FeeRate
from sscard.ledger.models import LedgerAccount, LedgerTransfer
from sscard.medical.models import (
                                   Accumulator,
                                   CatalogueRow,
                                   Institution,
                                   InstitutionKey,
                                   Insured,
                                   Message,
                                   PolicyVersion,
                                   ReconDifference,
                                   ReconRun,
                                   Settlement,
                                   Terminal,
)
from sscard.policy.models import PolicyParameter
from sscard.production.models import (
                                   BatchRecord,
                                   CollectedRecord,
                                   ComparisonException,
                                   CooperatingBank,
                                   DataImport,
                                   ImportRowError,
                                   OverdueSeal,
                                   PopulationRecord,
                                   ProductionBatch,
)
from sscard.registry.models import Person

__all__ = [
                                   "Accumulator",
                                   "ApiToken",
                                   "Application",
                                   "AuditHead",
                                   "AuditRecord",
                                   "Base",
                                   "BatchRecord",
                                   "Card",
                                   "CardNumber",
                                   "CatalogueRow",
                                   "CollectedRecord",
                                   "ComparisonException",
                                   "CooperatingBank",
                                   "DataImport",
                                   "FeeCharge",
                                   "FeeRate",
                                   "ImportRowError",
                                   "Institution",
                                   "InstitutionKey",
                                   "Insured",
                                   "LedgerAccount",
                                   "LedgerTransfer",
                                   "Message",
                                   "Operator",
                                   "Outlet",
                                   "OverdueSeal",
                                   "Person",
                                   "PolicyParameter",
                                   "PolicyVersion",
                                   "PopulationRecord",
                                   "ProductionBatch",
                                   "ReconDifference",
                                   "ReconRun",
                                   "Settlement",
                                   "Terminal",
]
