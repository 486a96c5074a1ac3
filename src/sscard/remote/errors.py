"""Errors of cross-region settlement, each with a stable code (docs/cross-region.md lists them)."""

from __future__ import annotations

from sscard.errors import Conflict, DomainError, NotFound, ValidationFailed


class RemoteMessageMalformed(ValidationFailed):
    code = "REMOTE_MESSAGE_MALFORMED"
    http_status = 400
    message_zh = "异地结算报文格式不正确"
    message_en = "The cross-region message is malformed"


class RemoteSignatureInvalid(DomainError):
    code = "REMOTE_SIGNATURE_INVALID"
    http_status = 401
    message_zh = "异地结算报文签名无效"
    message_en = "The cross-region message's signature is invalid"


class RemoteRegionUnknown(ValidationFailed):
    code = "REMOTE_REGION_UNKNOWN"
    message_zh = "该统筹区未在省级平台登记"
    message_en = "The 统筹区 is not registered at the provincial hub"


class RemoteCentreUnavailable(DomainError):
    code = "REMOTE_CENTRE_UNAVAILABLE"
    http_status = 503
    message_zh = "参保地或省级平台暂时无法连接，本次未结算，请稍后以同一报文编号重试"
    message_en = "The home centre or the hub cannot be reached; nothing was settled: retry with the same message id"


class RemoteRefused(DomainError):
    code = "REMOTE_REFUSED"
    http_status = 422
    message_zh = "参保地拒绝了本次结算"
    message_en = "The home centre refused the settlement"


class RemoteMessageConflict(Conflict):
    code = "REMOTE_MESSAGE_CONFLICT"
    message_zh = "报文编号已用于另一份内容不同的报文"
    message_en = "The message id was used for a different message"


class RemoteNotRegistered(ValidationFailed):
    code = "REMOTE_NOT_REGISTERED"
    message_zh = "未办理异地就医备案，参保地政策不予直接结算"
    message_en = "No remote-care registration: the home policy does not settle this visit directly"


class RemoteSettlementNotFound(NotFound):
    code = "REMOTE_SETTLEMENT_NOT_FOUND"
    message_zh = "异地结算记录不存在"
    message_en = "No such cross-region settlement"


class RemoteSettlementCancelled(Conflict):
    code = "REMOTE_SETTLEMENT_CANCELLED"
    message_zh = "该报文的异地结算已被对账作业撤销，请以新的报文编号重新结算"
    message_en = "This message's cross-region settlement was cancelled by the nightly close: settle anew"


class RegistrationInvalid(ValidationFailed):
    code = "REMOTE_REGISTRATION_INVALID"
    message_zh = "异地就医备案信息不正确"
    message_en = "The remote-care registration is invalid"


class RegistrationNotFound(NotFound):
    code = "REMOTE_REGISTRATION_NOT_FOUND"
    message_zh = "异地就医备案不存在"
    message_en = "No such remote-care registration"


class ClearingDifference(Conflict):
    code = "REMOTE_CLEARING_DIFFERENCE"
    message_zh = "清算双方记录不一致，差异已进入对账队列，未付款"
    message_en = "The two sides' journals differ; the differences are queued and nothing was paid"


class HubAdminUnauthorised(DomainError):
    code = "HUB_ADMIN_UNAUTHORISED"
    http_status = 401
    message_zh = "省级平台管理操作需要管理令牌"
    message_en = "The hub's administration needs its admin token (Authorization: Bearer …)"
