"""Shapes of the cross-region messages' bodies and of the staff API (amounts in integer fen; quantities as
decimal strings: the message format has no floats)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sscard.medical.catalogue import CatalogueItem
from sscard.medical.engine_schemas import BillLine
from sscard.medical.terms import FundExclusion, HospitalLevel, VisitType

Region = Annotated[str, Field(pattern=r"^[1-9][0-9]{5}$")]
Kind = Literal["retired_relocated", "long_term_resident", "resident_work", "referral", "temporary"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InstitutionRef(_Body):
    code: Annotated[str, Field(min_length=1, max_length=20)]
    kind: Literal["hospital", "pharmacy"]
    level: HospitalLevel | None = None


class RemoteBill(_Body):
    bill_no: Annotated[str, Field(max_length=64)] = ""
    date: dt.date
    visit_type: VisitType
    admission_no_in_year: Annotated[int, Field(strict=True, ge=1, le=366)] | None = None
    fund_exclusion: FundExclusion | None = None
    lines: list[BillLine] = Field(min_length=1, max_length=2000)


class SettleBody(_Body):
    """settle: the treating city's classified bill (``items``: its catalogue rows for the bill's codes, with its
    price caps and 乙类 rates resolved) for the home city to split."""

    treating_region: Region
    institution: InstitutionRef
    hospital_msg_id: Annotated[str, Field(min_length=1, max_length=64)]
    card_no: Annotated[str, Field(min_length=1, max_length=12)]
    use_account: bool = True
    bill: RemoteBill
    items: list[CatalogueItem] = Field(max_length=2000)


class ReverseBody(_Body):
    settle_msg_id: Annotated[str, Field(min_length=1, max_length=64)]
    reason: Annotated[str, Field(max_length=40)] = "2208"


class RegistrationBody(_Body):
    reg_no: Annotated[str, Field(min_length=1, max_length=32)]
    home_region: Region
    treating_region: Region
    card_no: Annotated[str, Field(min_length=1, max_length=12)] | None
    name_masked: Annotated[str, Field(max_length=60)]
    kind: Kind
    starts_on: dt.date
    ends_on: dt.date | None = None
    status: Literal["active", "cancelled"] = "active"


class StatementBody(_Body):
    month: Annotated[str, Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]


class PositionIn(_Body):
    peer: Region
    receivable_fen: Annotated[int, Field(strict=True, ge=0)]
    payable_fen: Annotated[int, Field(strict=True, ge=0)]
    peer_bank: Annotated[str, Field(min_length=1, max_length=10)]
    peer_account_no: Annotated[str, Field(min_length=1, max_length=32)]
    peer_account_name: Annotated[str, Field(min_length=1, max_length=50)]


class ClearingBody(_Body):
    month: Annotated[str, Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    run_id: Annotated[str, Field(min_length=1, max_length=40)]
    positions: list[PositionIn] = Field(max_length=500)


class RegistrationIn(BaseModel):
    """异地就医备案 as the counter, the portal or the API files it."""

    model_config = ConfigDict(extra="forbid")

    person_id: int = Field(ge=1, le=2**62)
    kind: Kind
    treating_region: Region
    starts_on: dt.date
    ends_on: dt.date | None = None
    documents: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list,
                                                                                 max_length=20)


class RegistrationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    reg_no: str
    role: str
    home_region: str
    treating_region: str
    kind: str
    kind_name: str = ""
    name_masked: str
    starts_on: dt.date
    ends_on: dt.date | None
    status: str
    distributed: bool
    documents: list[str] = Field(default_factory=list)
    audit_seq: int | None = None


class RemoteSettlementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    setl_id: str
    role: str
    peer: str
    msg_id: str
    institution_code: str
    hospital_msg_id: str
    remote_care: str
    registration: str | None
    bill_no: str
    bill_date: dt.date
    settled_on: dt.date
    month: str
    total_fen: int
    fund_paid_fen: int
    account_paid_fen: int
    cash_fen: int
    status: str
    reversal_msg_id: str | None


class StatementLine(BaseModel):
    msg_id: str
    role: str
    peer: str
    amount_fen: int  # what the home city owes the treating city for it (fund + account)


class Figures(BaseModel):
    """The dashboard's cross-region figures: settlements in (visitors treated here) and out (this city's insured
    treated elsewhere), and the clearing positions booked."""

    region: str
    treated_here_count: int
    treated_here_fen: int
    treated_elsewhere_count: int
    treated_elsewhere_fen: int
    receivable_fen: int
    payable_fen: int
    clearings: list[dict[str, Any]]
