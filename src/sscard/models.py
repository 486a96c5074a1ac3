"""Imports every domain's tables so that ``Base.metadata`` is complete (Alembic and tests use it)."""

from sscard.audit.models import AuditHead, AuditRecord
from sscard.auth.models import ApiToken, LoginThrottle, Operator, OperatorTotp, Outlet
from sscard.banks.models import PaymentAccount, SimAccount, SimBatch, SimCall
from sscard.cards.models import Application, Card, CardNumber
from sscard.db import Base
from sscard.demo.models import InstanceMark
from sscard.ecard.models import Ecard, EcardCodeUse, EcardFamilyMember
from sscard.fees.models import FeeCharge, FeeRate
from sscard.funds.benefits.models import (
                                   Certification,
                                   DisbursementBatch,
                                   DisbursementLine,
                                   Entitlement,
                                   EntitlementAmount,
                                   Hold,
                                   MonthRun,
                                   Reissue,
)
from sscard.funds.contributions.models import (
                                   ContribAssessment,
                                   ContribEnrolment,
                                   ContribInsured,
                                   ContribRun,
                                   EmployerFile,
                                   EmployerLine,
                                   WithholdingAuthorisation,
                                   WithholdingBatch,
                                   WithholdingLine,
)
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
from sscard.portal.models import PortalAccount, PortalSession
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
                                   "Certification",
                                   "CollectedRecord",
                                   "ComparisonException",
                                   "ContribAssessment",
                                   "ContribEnrolment",
                                   "ContribInsured",
                                   "ContribRun",
                                   "CooperatingBank",
                                   "DataImport",
                                   "DisbursementBatch",
                                   "DisbursementLine",
                                   "Ecard",
                                   "EcardCodeUse",
                                   "EcardFamilyMember",
                                   "EmployerFile",
                                   "EmployerLine",
                                   "Entitlement",
                                   "EntitlementAmount",
                                   "FeeCharge",
                                   "FeeRate",
                                   "Hold",
                                   "ImportRowError",
                                   "InstanceMark",
                                   "Institution",
                                   "InstitutionKey",
                                   "Insured",
                                   "LedgerAccount",
                                   "LedgerTransfer",
                                   "LoginThrottle",
                                   "Message",
                                   "MonthRun",
                                   "Operator",
                                   "OperatorTotp",
                                   "Outlet",
                                   "OverdueSeal",
                                   "PaymentAccount",
                                   "Person",
                                   "PolicyParameter",
                                   "PolicyVersion",
                                   "PopulationRecord",
                                   "PortalAccount",
                                   "PortalSession",
                                   "ProductionBatch",
                                   "ReconDifference",
                                   "ReconRun",
                                   "Reissue",
                                   "Settlement",
                                   "SimAccount",
                                   "SimBatch",
                                   "SimCall",
                                   "Terminal",
                                   "WithholdingAuthorisation",
                                   "WithholdingBatch",
                                   "WithholdingLine",
]
