"""Shapes out of the contributions service (read by the month orchestrator, CLI, API and the portal)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

# progress(step, done, total): called as a long step advances (the CLI draws a bar from it).
ProgressFn = Callable[[str, int, int], None]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)


class EnrolmentOut(_Out):
    id: int
    person_id: int
    scheme: str
    insurance_type: str
    base_ratio_bp: int | None
    level: int | None
    start_period: str
    end_period: str | None


class AuthorisationOut(_Out):
    id: int
    person_id: int
    bank_code: str
    account_no: str
    holder_name: str
    signed_on: dt.date
    valid_until: dt.date | None
    signature_ref: str
    status: str
    lapsed_reason: str | None


class BatchOut(_Out):
    id: int
    batch_no: str
    period: str
    bank_code: str
    status: str
    line_count: int
    total_fen: int
    ok_count: int
    ok_fen: int
    failed_count: int
    failed_fen: int
    file_sha256: str


class FailureOut(_Out):
    """One line the bank (or the authorisation check) refused: who, what, why and what to do."""

    batch_no: str | None
    line_no: int | None
    person_id: int
    assessment_id: int
    period: str
    scheme: str
    amount_fen: int
    reason: str
    advice_zh: str
    advice_en: str


class RunResult(_Out):
    """The month's withholding as it stands; ``status`` is ``done`` once every batch's return is imported."""

    period: str
    status: str
    assessed: int = Field(description="assessments created for this period")
    batches: list[BatchOut]
    lines: int
    withheld_count: int
    withheld_fen: int
    failed_count: int = Field(description="lines refused by the bank plus assessments with no authorisation")
    failed_fen: int
    not_authorised: int = Field(description="unpaid assessments not sent because no authorisation was active")
    suspended_persons: int = Field(description="persons whose collection is suspended after this run")
    replayed: bool = Field(default=False, description="true when the month was already done: nothing ran again")


class ContributionRecord(_Out):
    """One month of one scheme in a person's history (portal 缴费记录)."""

    period: str
    scheme: str
    insurance_type: str
    source: str  # withholding | employer | transfer (carried in from another city)
    base_fen: int | None
    amount_fen: int
    personal_fen: int
    status: str  # due | sent | failed | paid
    paid_at: dt.datetime | None
    attempts: int
    last_reason: str | None
    advice_zh: str | None
    advice_en: str | None
    from_city: str | None = None  # source transfer: the city the month was carried in from
    employer_fen: int = 0  # 单位缴纳 (0 for what the person pays through withholding)
    employee_fen: int = 0  # 个人缴纳


class InsuranceStanding(_Out):
    """参保状态 of one insurance type (portal, 参保证明): whether it is being paid, since when, and 缴费年限 as the
    number of distinct months paid (withholding collected or the employer's file)."""

    insurance_type: str  # pension | medical | unemployment | work_injury | maternity
    status: str  # paying (参保缴费) | suspended (暂停缴费) | stopped (停止缴费) | none (未参保)
    first_period: str | None
    last_paid_period: str | None
    months_paid: int
    payer: str | None  # employer (单位参保) | self (个人参保) | None


class EmployerImportResult(_Out):
    file_id: int
    uscc: str
    period: str
    lines: int
    total_fen: int
    transfers: int
    replayed: bool = False


class ArrearsPaymentResult(_Out):
    person_id: int
    paid_count: int
    paid_fen: int
    still_owed_count: int
    still_owed_fen: int
    reason: str | None  # why the bank refused the first unpaid month, if it did
    status: str  # the person's collection status afterwards (active | suspended)
