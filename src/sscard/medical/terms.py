"""The vocabulary of settlement: schemes, person types, visit types, hospital levels, catalogue classes, and
the integer arithmetic (fen, basis points, round half up) every amount goes through."""

from __future__ import annotations

import enum
from fractions import Fraction
from typing import Annotated

from pydantic import Field

BP_WHOLE = 10_000  # 1 basis point = 0.01 %; 10 000 bp = 100 %
INT64_MAX = 2**63 - 1  # what a BIGINT column holds: no amount beyond it is ever accepted, stored or summed

Fen = Annotated[int, Field(strict=True, ge=0, le=INT64_MAX, description="an amount in fen (分), never negative")]
# Free text of a bill or catalogue row: no control characters (line breaks, tabs, NUL — PostgreSQL refuses NUL)
PLAIN_TEXT = r"^[^\x00-\x1f\x7f]*$"
BasisPoints = Annotated[int, Field(strict=True, ge=0, le=BP_WHOLE, description="a rate in basis points (万分之一)")]


class MessageKind(enum.StrEnum):
    """The institution messages (after the national platform's transaction codes, which stay the wire values and
    what ``medical_messages.kind`` stores), and the journal's tombstone."""

    PRE_SETTLE = "2206"  # 预结算: the split, nothing stored
    SETTLE = "2207"  # 结算
    REVERSE = "2208"  # 结算撤销
    VOID = "2601"  # 冲正
    RECONCILE_TOTALS = "3201"  # 对总账
    RECONCILE_DETAILS = "3202"  # 对明细账
    TOMBSTONE = "void"  # journal only: a message id blocked by a 2601 because its message never arrived


class Scheme(enum.StrEnum):
    EMPLOYEE = "employee"  # 城镇职工基本医疗保险
    RESIDENT = "resident"  # 城乡居民基本医疗保险 (no personal account)


class PersonType(enum.StrEnum):
    IN_SERVICE = "in_service"  # 在职 (employees' scheme)
    RETIRED = "retired"  # 退休 (employees' scheme)
    RESIDENT = "resident"  # 城乡居民


SCHEME_PERSON_TYPES: dict[Scheme, frozenset[PersonType]] = {
    Scheme.EMPLOYEE: frozenset({PersonType.IN_SERVICE, PersonType.RETIRED}),
    Scheme.RESIDENT: frozenset({PersonType.RESIDENT}),
}


class VisitType(enum.StrEnum):
    OUTPATIENT = "outpatient"  # 门诊
    INPATIENT = "inpatient"  # 住院
    PHARMACY = "pharmacy"  # 定点药店购药


class HospitalLevel(enum.StrEnum):
    COMMUNITY = "community"  # 社区卫生服务中心
    LEVEL_1 = "1"  # 一级
    LEVEL_2 = "2"  # 二级
    LEVEL_3 = "3"  # 三级


class RemoteCare(enum.StrEnum):
    """异地就医 status of the visit (§3.8): the insured place's ratio, minus points for some kinds."""

    NONE = "none"  # 本地就医
    LONG_TERM = "long_term"  # 异地长期居住（异地安置退休、长期驻外）
    REFERRED = "referred"  # 转诊转院 / 急诊抢救
    UNREFERRED = "unreferred"  # 临时外出未按规定转诊


class CatalogueClass(enum.StrEnum):
    JIA = "甲"  # 甲类: fully in scope
    YI = "乙"  # 乙类: the patient first pays a share (乙类先行自付), the rest is in scope
    BING = "丙"  # 丙类 / 目录外: paid entirely by the patient (全自费)


class ItemType(enum.StrEnum):
    DRUG = "drug"  # 药品
    SERVICE = "service"  # 诊疗项目
    MATERIAL = "material"  # 医用耗材 / 服务设施


class FundExclusion(enum.StrEnum):
    """社会保险法 第三十条: costs the medical fund never pays (§3.6)."""

    WORK_INJURY = "work_injury"  # 应当从工伤保险基金中支付的
    THIRD_PARTY = "third_party"  # 应当由第三人负担的
    PUBLIC_HEALTH = "public_health"  # 应当由公共卫生负担的
    ABROAD = "abroad"  # 在境外就医的
    # 第三人不支付或者无法确定第三人: the fund pays first and recovers later (先行支付) — settled normally, flagged
    THIRD_PARTY_UNIDENTIFIED = "third_party_unidentified"


def round_half_up(value: Fraction) -> int:
    """Round a non-negative exact amount to the nearest fen, halves upwards (四舍五入)."""
    if value < 0:
        raise ValueError("amounts are never negative")
    return (2 * value.numerator + value.denominator) // (2 * value.denominator)


def apply_rate(amount_fen: int, rate_bp: int) -> Fraction:
    """The exact (unrounded) share ``rate_bp`` of ``amount_fen``."""
    return Fraction(amount_fen * rate_bp, BP_WHOLE)
