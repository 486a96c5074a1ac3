"""Errors of the transfer of the insurance relationship, each with a stable code (docs/transfer.md lists them).

Every refusal is raised before anything is written, or inside the use case's one transaction, which rolls back."""

from __future__ import annotations

from sscard.errors import Conflict, DomainError, NotFound, ValidationFailed


class TransferCityUnknown(ValidationFailed):
    code = "TRANSFER_CITY_UNKNOWN"
    message_zh = "对方城市不是已登记的转移接续合作城市"
    message_en = "The other city is not a registered transfer partner"


class TransferMessageMalformed(ValidationFailed):
    code = "TRANSFER_MESSAGE_MALFORMED"
    http_status = 400
    message_zh = "转移接续报文格式不正确"
    message_en = "The transfer message is malformed"


class TransferSignatureInvalid(DomainError):
    code = "TRANSFER_SIGNATURE_INVALID"
    http_status = 401
    message_zh = "转移接续报文签名无效"
    message_en = "The transfer message's signature is invalid"


class TransferMessageConflict(Conflict):
    code = "TRANSFER_MESSAGE_CONFLICT"
    message_zh = "报文编号已用于另一份内容不同的报文"
    message_en = "The message id was used for a different message"


class TransferDuplicate(Conflict):
    code = "TRANSFER_DUPLICATE"
    message_zh = "该凭证已办理过转移接续申请，或该人员已有进行中的转移"
    message_en = "This voucher was already applied for, or the person has a transfer in progress"


class TransferPersonNotFound(NotFound):
    code = "TRANSFER_PERSON_NOT_FOUND"
    message_zh = "本地未找到该参保人员"
    message_en = "The insured person is not known here"


class TransferNotFound(NotFound):
    code = "TRANSFER_NOT_FOUND"
    message_zh = "转移接续业务不存在"
    message_en = "No such transfer"


class TransferStateInvalid(Conflict):
    code = "TRANSFER_STATE_INVALID"
    message_zh = "转移接续业务当前状态不允许此操作"
    message_en = "The transfer's state does not allow this step"


class TransferAmountMismatch(ValidationFailed):
    code = "TRANSFER_AMOUNT_MISMATCH"
    message_zh = "划转金额与参保缴费凭证不符"
    message_en = "The amounts do not match the voucher"


class TransferVoucherStale(Conflict):
    code = "TRANSFER_VOUCHER_STALE"
    message_zh = "凭证开具后账户或缴费记录已变化，请重新开具凭证"
    message_en = "The account or the record changed after the voucher was issued: issue a new one"


class TransferNothingToTransfer(ValidationFailed):
    code = "TRANSFER_NOTHING_TO_TRANSFER"
    message_zh = "该人员在本地没有可转移的养老或医疗保险记录"
    message_en = "The person has no pension or medical record here to transfer"


class TransferBankRefused(ValidationFailed):
    code = "TRANSFER_BANK_REFUSED"
    message_zh = "银行拒绝划转，资金未转出"
    message_en = "The bank refused the payment; nothing was paid"


class TransferPartnerUnavailable(DomainError):
    code = "TRANSFER_PARTNER_UNAVAILABLE"
    http_status = 503
    message_zh = "对方城市暂时无法连接，报文已保存，稍后重发"
    message_en = "The other city cannot be reached now; the message is kept and will be sent again"


class TransferPartnerRefused(DomainError):
    code = "TRANSFER_PARTNER_REFUSED"
    http_status = 502
    message_zh = "对方城市拒绝了报文"
    message_en = "The other city refused the message"
