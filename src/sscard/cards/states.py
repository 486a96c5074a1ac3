"""The two status fields of a card and the transitions allowed on each (the state machine, in one place)."""

from __future__ import annotations

import enum


class ProductionStatus(enum.StrEnum):
    """制卡状态: where the physical card is. Codes follow the card-management convention (AZ01)."""

    COLLECTED = "00"  # 数据已采集/申领受理
    IN_BATCH = "10"  # 已生成批次
    BANK_OPENED = "20"  # 银行已开户回盘
    BANK_FAILED = "22"  # 银行开户失败
    CARD_MADE = "30"  # 卡商已制卡回盘
    MAKER_FAILED = "32"  # 卡商制卡失败
    AT_OUTLET = "60"  # 已发放到网点
    PICKED_UP = "70"  # 已发卡（已领卡）
    VOIDED = "99"  # 作废（申领撤销、人员注销）


class AppStatus(enum.StrEnum):
    """卡应用状态 (AAZ502): what medical settlement and every other card use checks."""

    SEALED = "0"  # 封存: issued, not activated
    NORMAL = "1"  # 正常
    FORMAL_LOSS = "2"  # 正式挂失
    LOCKED = "3"  # 应用锁定 (PIN tries exhausted)
    TEMP_LOSS = "4"  # 临时挂失
    CANCELLED = "9"  # 注销


class Business(enum.StrEnum):
    """申领业务类型."""

    NEW = "new"  # 01 新申领
    REPLACEMENT = "replacement"  # 05 遗失补卡
    EXCHANGE = "exchange"  # 06 普通换卡 / 07 质保换卡 (by reason)


class ExchangeReason(enum.StrEnum):
    DAMAGED = "damaged"  # 损坏
    EXPIRED = "expired"  # 有效期满
    DATA_CHANGED = "data_changed"  # 卡面信息变更
    QUALITY = "quality"  # 质量问题（质保换卡）


class CancelReason(enum.StrEnum):
    DEATH = "death"  # 死亡
    EMIGRATION = "emigration"  # 出境定居
    TRANSFER_OUT = "transfer_out"  # 关系转出本市
    REPLACED = "replaced"  # 补卡后旧卡注销 (system)
    EXCHANGED = "exchanged"  # 换卡后旧卡注销 (system)


class Source(enum.StrEnum):
    PERSONAL = "personal"  # 01 个人
    EMPLOYER = "employer"  # 02 单位
    SCHOOL = "school"  # 03 学校 (student rolls from the education bureau: docs/exchange-feeds.md)


class ApplicationStatus(enum.StrEnum):
    OPEN = "open"  # 申领中: accepted, the card is being made
    COMPLETED = "completed"  # 业务成功: the new card was picked up
    VOIDED = "voided"  # 撤销/作废


PS, AS = ProductionStatus, AppStatus

# Production: the step functions of the production issue call advance_production with these edges.
PRODUCTION_EDGES: dict[ProductionStatus, frozenset[ProductionStatus]] = {
    PS.COLLECTED: frozenset({PS.IN_BATCH}),
    PS.IN_BATCH: frozenset({PS.BANK_OPENED, PS.BANK_FAILED}),
    PS.BANK_FAILED: frozenset({PS.IN_BATCH}),  # corrected and re-batched
    PS.BANK_OPENED: frozenset({PS.CARD_MADE, PS.MAKER_FAILED}),
    PS.MAKER_FAILED: frozenset({PS.BANK_OPENED}),  # the account stays; the card goes to the maker again
    PS.CARD_MADE: frozenset({PS.AT_OUTLET}),
    PS.AT_OUTLET: frozenset(),  # leaves only by pickup (PICKED_UP), a counter operation
    PS.PICKED_UP: frozenset(),
    PS.VOIDED: frozenset(),
}

# Card application status: operation → {from: to}. A missing "from" is refused with CARD_STATE_INVALID.
# TEMP_LOSS / FORMAL_LOSS remember the status they came from (lift and lapse go back to it).
ISSUED_ALIVE = frozenset({AS.SEALED, AS.NORMAL, AS.FORMAL_LOSS, AS.LOCKED, AS.TEMP_LOSS})
# Activated and neither lost nor cancelled: the holder's query password is set or reset on such a card, and only
# such a card opens a kiosk session.
IN_USE = frozenset({AS.NORMAL, AS.LOCKED})
APP_EDGES: dict[str, dict[AppStatus, AppStatus]] = {
    "activate": {AS.SEALED: AS.NORMAL},
    "verify_pin": {AS.NORMAL: AS.NORMAL},  # may go to LOCKED when tries run out
    "change_pin": {AS.NORMAL: AS.NORMAL},
    "unlock": {AS.LOCKED: AS.NORMAL},
    "report_temporary_loss": {AS.NORMAL: AS.TEMP_LOSS, AS.LOCKED: AS.TEMP_LOSS},
    "report_formal_loss": {s: AS.FORMAL_LOSS for s in (AS.SEALED, AS.NORMAL, AS.LOCKED, AS.TEMP_LOSS)},
    "lift_loss": {AS.TEMP_LOSS: AS.NORMAL, AS.FORMAL_LOSS: AS.NORMAL},  # really: back to the remembered one
    "apply_replacement": {AS.FORMAL_LOSS: AS.FORMAL_LOSS},
    "apply_exchange": {s: s for s in (AS.SEALED, AS.NORMAL, AS.FORMAL_LOSS, AS.LOCKED)},
    "cancel": {s: AS.CANCELLED for s in ISSUED_ALIVE},
}
