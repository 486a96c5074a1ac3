"""Errors of data sharing with other departments, each with a stable code (docs/exchange.md lists them).

A refused department request writes nothing but its audit record (``service.serve`` rolls the use case back
and records the refusal in a transaction of its own); a refused administrative step writes nothing."""

from __future__ import annotations

from sscard.errors import Conflict, DomainError, NotFound, ValidationFailed


class ExchangeError(DomainError):
    """A refusal of a department's signed request (every one is audited)."""


class ExchangeRequestMalformed(ExchangeError):
    code = "EXCHANGE_REQUEST_MALFORMED"
    http_status = 400
    message_zh = "数据共享请求格式不正确（签名请求头或请求内容）"
    message_en = "The data-sharing request is malformed (signed headers or body)"


class ExchangeDepartmentUnknown(ExchangeError):
    code = "EXCHANGE_DEPARTMENT_UNKNOWN"
    http_status = 401
    message_zh = "部门密钥编号未登记或已停用"
    message_en = "The department key id is not registered or no longer active"


class ExchangeSignatureInvalid(ExchangeError):
    code = "EXCHANGE_SIGNATURE_INVALID"
    http_status = 401
    message_zh = "请求签名无效"
    message_en = "The request signature is invalid"


class ExchangeClockSkew(ExchangeError):
    code = "EXCHANGE_CLOCK_SKEW"
    http_status = 401
    message_zh = "请求时间戳与服务器时间相差超过 300 秒"
    message_en = "The request timestamp is more than 300 seconds from the server's clock"


class ExchangeReplay(ExchangeError):
    code = "EXCHANGE_REPLAY"
    http_status = 409
    message_zh = "请求随机数已使用过（重放）"
    message_en = "The request nonce was already used (replay)"


class ExchangeAgreementMissing(ExchangeError):
    code = "EXCHANGE_AGREEMENT_MISSING"
    http_status = 403
    message_zh = "没有已批准的共享协议覆盖该数据项和方式"
    message_en = "No approved sharing agreement covers this data item and mode"


class ExchangeAgreementExpired(ExchangeError):
    code = "EXCHANGE_AGREEMENT_EXPIRED"
    http_status = 403
    message_zh = "共享协议已过期或已撤销"
    message_en = "The sharing agreement has expired or was revoked"


class ExchangeItemNotAgreed(ExchangeError):
    code = "EXCHANGE_ITEM_NOT_AGREED"
    http_status = 403
    message_zh = "该数据项或方式不在共享协议范围内"
    message_en = "The data item or mode is outside the sharing agreement"


class ExchangeQuotaExceeded(ExchangeError):
    code = "EXCHANGE_QUOTA_EXCEEDED"
    http_status = 429
    message_zh = "已达共享协议的每日请求上限"
    message_en = "The agreement's daily quota is used up"


class ExchangeItemUnknown(ValidationFailed):
    code = "EXCHANGE_ITEM_UNKNOWN"
    message_zh = "共享目录中没有该数据项"
    message_en = "No such data item in the sharing catalogue"


class ExchangeItemNotShareable(ValidationFailed):
    code = "EXCHANGE_ITEM_NOT_SHAREABLE"
    message_zh = "该数据项不予共享，或不支持所选方式"
    message_en = "The data item is not shareable, or not in the chosen mode"


class ExchangeDepartmentNotFound(NotFound):
    code = "EXCHANGE_DEPARTMENT_NOT_FOUND"
    message_zh = "部门不存在"
    message_en = "No such department"


class ExchangeDepartmentExists(Conflict):
    code = "EXCHANGE_DEPARTMENT_EXISTS"
    message_zh = "部门编码已存在"
    message_en = "A department with this code exists"


class ExchangeKeyNotFound(NotFound):
    code = "EXCHANGE_KEY_NOT_FOUND"
    message_zh = "部门密钥不存在"
    message_en = "No such department key"


class ExchangeAgreementNotFound(NotFound):
    code = "EXCHANGE_AGREEMENT_NOT_FOUND"
    message_zh = "共享协议不存在"
    message_en = "No such sharing agreement"


class ExchangeAgreementInvalid(ValidationFailed):
    code = "EXCHANGE_AGREEMENT_INVALID"
    message_zh = "共享协议内容不合法（数据项、方式、期限、配额或订阅地址）"
    message_en = "The agreement is invalid (items, modes, period, quota or subscription endpoint)"


class ExchangeAgreementState(Conflict):
    code = "EXCHANGE_AGREEMENT_STATE"
    message_zh = "共享协议当前状态不允许此操作"
    message_en = "The agreement's state does not allow this step"


class ExchangeSelfApproval(DomainError):
    code = "EXCHANGE_SELF_APPROVAL"
    http_status = 403
    message_zh = "申请人不能批准自己提出的共享协议"
    message_en = "The requester of an agreement may not approve it"


class ExchangeSecretUnsafe(DomainError):
    code = "EXCHANGE_SECRET_UNSAFE"
    http_status = 400
    message_zh = "仅演示模式可使用公开的演示密钥"
    message_en = "A public demo secret is allowed in demo mode only"
