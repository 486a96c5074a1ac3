"""Typed errors of the e-card, with stable codes (docs/ecard.md lists what a verifier sees)."""

from __future__ import annotations

from sscard.errors import Conflict, DomainError, NotFound, ValidationFailed


class EcardCodeMalformed(ValidationFailed):
    code = "ECARD_CODE_MALFORMED"
    message_zh = "电子社保卡二维码格式错误（截断、超长或不是本平台的码）"
    message_en = "The e-card code is malformed (truncated, oversized or not one of ours)"


class EcardCodeForged(DomainError):
    code = "ECARD_CODE_FORGED"
    http_status = 422
    message_zh = "电子社保卡二维码签名无效"
    message_en = "The e-card code's signature does not verify"


class EcardCodeExpired(DomainError):
    code = "ECARD_CODE_EXPIRED"
    http_status = 422
    message_zh = "电子社保卡二维码已过期，请刷新"
    message_en = "The e-card code has expired; refresh it"


class EcardCodeRevoked(DomainError):
    code = "ECARD_CODE_REVOKED"
    http_status = 422
    message_zh = "电子社保卡已暂停或注销（实体卡挂失或注销）"
    message_en = "The e-card is suspended or ended (its card is lost or cancelled)"


class EcardCodeUsed(Conflict):
    code = "ECARD_CODE_USED"
    message_zh = "该二维码已用于结算，请刷新后重试"
    message_en = "This code was used already; refresh it"


class EcardNotFound(NotFound):
    code = "ECARD_NOT_FOUND"
    message_zh = "未开通电子社保卡"
    message_en = "No e-card is activated"


class EcardCardNotInUse(DomainError):
    code = "ECARD_CARD_NOT_IN_USE"
    http_status = 409
    message_zh = "实体社保卡未处于正常使用状态，不能开通电子社保卡"
    message_en = "The card is not in use: the e-card cannot be activated"


class EcardFamilyLimit(Conflict):
    code = "ECARD_FAMILY_LIMIT"
    message_zh = "亲情账户人数已达上限"
    message_en = "The holder has the most family members allowed"


class EcardFamilyInvalid(ValidationFailed):
    code = "ECARD_FAMILY_INVALID"
    message_zh = "亲情账户添加无效（本人、关系或同意无效）"
    message_en = "The family member cannot be added (oneself, relation or consent invalid)"
