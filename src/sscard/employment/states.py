"""The registration and subsidy state machines as data: which operation is allowed in which state, and where it
leads. Services and pages ask these tables; nothing else re-encodes them."""

from __future__ import annotations

import enum


class RegistrationKind(enum.StrEnum):
    JOB_SEEKER = "job_seeker"  # 求职登记
    UNEMPLOYMENT = "unemployment"  # 失业登记


class RegistrationStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class CloseReason(enum.StrEnum):
    """Why a registration ends (注销失业登记 / 求职登记的原因)."""

    REEMPLOYED = "reemployed"  # 重新就业（单位就业）
    FLEXIBLE = "flexible"  # 灵活就业
    SELF_EMPLOYED = "self_employed"  # 自主创业
    ENLISTED = "enlisted"  # 应征入伍
    RETIRED = "retired"  # 达到法定退休年龄或领取养老金
    STUDYING = "studying"  # 入学深造
    EMIGRATED = "emigrated"  # 移居境外
    DECEASED = "deceased"  # 死亡
    WITHDRAWN = "withdrawn"  # 本人申请注销


class RegistrationOp(enum.StrEnum):
    CLOSE = "close"
    OPEN_BENEFIT = "open_benefit"  # 申领失业保险金 (unemployment registrations only)
    PROPOSE_SUBSIDY = "propose_subsidy"


REGISTRATION_OPS: dict[RegistrationStatus, frozenset[RegistrationOp]] = {
    RegistrationStatus.OPEN: frozenset({RegistrationOp.CLOSE, RegistrationOp.OPEN_BENEFIT}),
    RegistrationStatus.CLOSED: frozenset({RegistrationOp.PROPOSE_SUBSIDY}),
}


class SubsidyKind(enum.StrEnum):
    """就业扶持政策补贴 granted once against a closed registration whose close reason qualifies."""

    STARTUP = "startup"  # 一次性创业补贴: the registration closed as self-employed
    FLEXIBLE_SOCIAL = "flexible_social"  # 灵活就业社保补贴 (one-off): closed as flexibly employed


# The close reason a subsidy kind requires, and its amount's policy parameter.
SUBSIDY_REASON: dict[SubsidyKind, CloseReason] = {
    SubsidyKind.STARTUP: CloseReason.SELF_EMPLOYED,
    SubsidyKind.FLEXIBLE_SOCIAL: CloseReason.FLEXIBLE,
}
SUBSIDY_AMOUNT_PARAMETER: dict[SubsidyKind, str] = {
    SubsidyKind.STARTUP: "employment.subsidy.startup_fen",
    SubsidyKind.FLEXIBLE_SOCIAL: "employment.subsidy.flexible_social_fen",
}
UI_MONTHLY_PARAMETER = "employment.ui.monthly_fen"
UI_MAX_MONTHS_PARAMETER = "employment.ui.max_months"


class SubsidyStatus(enum.StrEnum):
    PROPOSED = "proposed"  # 经办 (the maker) proposed it
    APPROVED = "approved"  # 复核 (another person) approved it: the benefits entitlement is granted
    REJECTED = "rejected"


class SubsidyOp(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


SUBSIDY_OPS: dict[SubsidyStatus, dict[SubsidyOp, SubsidyStatus]] = {
    SubsidyStatus.PROPOSED: {SubsidyOp.APPROVE: SubsidyStatus.APPROVED, SubsidyOp.REJECT: SubsidyStatus.REJECTED},
    SubsidyStatus.APPROVED: {},
    SubsidyStatus.REJECTED: {},
}


def registration_allows(status: str, op: RegistrationOp) -> bool:
    return op in REGISTRATION_OPS[RegistrationStatus(status)]


def subsidy_next(status: str, op: SubsidyOp) -> SubsidyStatus | None:
    """The state ``op`` leads to, or None when it is not allowed in ``status``."""
    return SUBSIDY_OPS[SubsidyStatus(status)].get(op)
