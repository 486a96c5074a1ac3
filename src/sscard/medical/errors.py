"""Settlement input errors, each with a stable code (policy errors reuse sscard.policy.errors)."""

from sscard.errors import Conflict, DomainError, NotFound, ValidationFailed
from sscard.policy.errors import PolicyInvalid, PolicyMissing

__all__ = ["BillInvalid", "CatalogueInvalid", "CatalogueItemUnknown", "PersonContextInvalid", "PolicyInvalid",
           "PolicyMissing", "PolicyRuleMissing"]  # and the service errors below


class BillInvalid(ValidationFailed):
    code = "BILL_INVALID"
    message_zh = "费用单据不合法"
    message_en = "The bill is invalid"


class PersonContextInvalid(ValidationFailed):
    code = "PERSON_CONTEXT_INVALID"
    message_zh = "参保人结算信息（险种、累计、账户余额）不合法"
    message_en = "The insured person's settlement context (scheme, accumulators, balance) is invalid"


class CatalogueInvalid(ValidationFailed):
    code = "CATALOGUE_INVALID"
    message_zh = "医保目录文件不合法"
    message_en = "The medical-insurance catalogue is invalid"


class CatalogueItemUnknown(NotFound):
    """A bill line names a code the catalogue does not hold on the bill date (and is not marked 目录外)."""

    code = "CATALOGUE_ITEM_UNKNOWN"
    http_status = 422
    message_zh = "费用明细的项目编码不在医保目录中"
    message_en = "A bill line's item code is not in the catalogue"


class PolicyRuleMissing(PolicyMissing):
    """The policy in effect has no rule for this scheme, person type, visit type and hospital level."""

    code = "POLICY_RULE_MISSING"
    http_status = 422
    message_zh = "政策中没有适用于该险种、人员类别、就诊类型和医院等级的待遇规则"
    message_en = "The policy has no benefit rule for this scheme, person type, visit type and hospital level"


# ---------------------------------------------------------------------------------- settlement service errors


class InstitutionNotFound(NotFound):
    code = "INSTITUTION_NOT_FOUND"
    message_zh = "定点医药机构不存在"
    message_en = "Designated institution not found"


class InstitutionExists(Conflict):
    code = "INSTITUTION_EXISTS"
    message_zh = "定点医药机构编码已存在"
    message_en = "An institution with this code already exists"


class InstitutionInvalid(ValidationFailed):
    code = "INSTITUTION_INVALID"
    message_zh = "定点医药机构信息不合法"
    message_en = "The institution's kind, level or services are invalid"


class InstitutionAuthFailed(DomainError):
    code = "INSTITUTION_AUTH_FAILED"
    http_status = 401
    message_zh = "机构身份认证失败"
    message_en = "Institution authentication failed (missing, unknown or revoked API key)"


class ServiceNotAllowed(DomainError):
    code = "SERVICE_NOT_ALLOWED"
    http_status = 403
    message_zh = "该机构未开通此项服务"
    message_en = "The institution is not allowed this service"


class TerminalUnknown(ValidationFailed):
    code = "TERMINAL_UNKNOWN"
    message_zh = "结算终端未登记或已停用"
    message_en = "The terminal is not registered (or not active) for this institution"


class TerminalExists(Conflict):
    code = "TERMINAL_EXISTS"
    message_zh = "结算终端已存在"
    message_en = "The terminal already exists"


class PersonNotInsured(NotFound):
    code = "PERSON_NOT_INSURED"
    message_zh = "该人员未参加医疗保险"
    message_en = "The person is not enrolled in medical insurance"


class IdentificationInvalid(ValidationFailed):
    code = "IDENTIFICATION_INVALID"
    message_zh = "请提供社会保障卡号、身份证号码或电子社保卡二维码之一"
    message_en = "Give exactly one of card_no, id_number and ecard_code"


class CardNotUsable(Conflict):
    """The card presented is not in app status 1 (正常)."""

    code = "CARD_NOT_NORMAL"
    message_zh = "社会保障卡不是正常状态，不能结算"
    message_en = "The card is not in normal state and cannot settle"


class IdSettlementNotAllowed(Conflict):
    """By ID number only when the card is formally lost or not yet made (清远: 未制卡/正式挂失)."""

    code = "ID_SETTLEMENT_NOT_ALLOWED"
    message_zh = "持有可用社会保障卡的人员须持卡结算"
    message_en = "Settlement by ID number is only for formally lost or not-yet-made cards"


class MessageIdReused(Conflict):
    code = "MESSAGE_ID_REUSED"
    message_zh = "报文编号已用于不同的请求"
    message_en = "This message id was already used for a different request"


class SettlementNotFound(NotFound):
    code = "SETTLEMENT_NOT_FOUND"
    message_zh = "结算记录不存在"
    message_en = "Settlement not found"


class ReversalCrossYear(Conflict):
    code = "REVERSAL_CROSS_YEAR"
    message_zh = "跨年度的结算不能撤销"
    message_en = "A settlement of a previous year cannot be reversed"


class BillDateInvalid(ValidationFailed):
    code = "BILL_DATE_INVALID"
    message_zh = "结算日期不能晚于今天"
    message_en = "The bill date is in the future"


class AmountInvalid(ValidationFailed):
    code = "AMOUNT_INVALID"
    message_zh = "金额必须为正整数（分）"
    message_en = "The amount must be a positive whole number of fen"


class PolicyOverlap(Conflict):
    code = "POLICY_OVERLAP"
    message_zh = "政策有效期与已有政策重叠"
    message_en = "The policy's validity overlaps another policy"


class CatalogueItemNotFound(NotFound):
    code = "CATALOGUE_ROW_NOT_FOUND"
    message_zh = "目录项不存在"
    message_en = "Catalogue row not found"


class ReconRunNotFound(NotFound):
    code = "RECON_RUN_NOT_FOUND"
    message_zh = "对账任务不存在"
    message_en = "Reconciliation run not found"


class ReconStateInvalid(Conflict):
    code = "RECON_STATE_INVALID"
    message_zh = "对账任务或差异的状态不允许此操作"
    message_en = "The reconciliation run or difference does not allow this step"


class ReconDifferenceNotFound(NotFound):
    code = "RECON_DIFFERENCE_NOT_FOUND"
    message_zh = "对账差异不存在"
    message_en = "Reconciliation difference not found"


class ReversalNotAllowed(Conflict):
    """2601 reverses only settlements (2207) or messages that never arrived."""

    code = "REVERSAL_NOT_ALLOWED"
    message_zh = "该报文类型不能冲正"
    message_en = "This kind of message cannot be reversed"


# ------------------------------------------------------------------ the institution counter (sscard.medical.counter)


class CardUnreadable(DomainError):
    code = "COUNTER_CARD_UNREADABLE"
    http_status = 422
    message_zh = "读卡失败：请重新插卡"
    message_en = "The card could not be read: insert it again"


class CentreRefused(DomainError):
    code = "COUNTER_CENTRE_REFUSED"
    http_status = 409
    message_zh = "结算中心拒绝了请求"
    message_en = "The settlement centre refused the request"


class CentreUnreachable(DomainError):
    code = "COUNTER_CENTRE_UNREACHABLE"
    http_status = 503
    message_zh = "无法连接结算中心：请稍后用同一报文号重试"
    message_en = "The settlement centre did not answer: retry later with the same message id"


# ------------------------------------------------------------------------------------------ proof of card presence


class CardPresenceRequired(ValidationFailed):
    """A settlement by card without the proof the policy asks of this institution class (sscard.medical.presence)."""

    code = "CARD_PRESENCE_REQUIRED"
    message_zh = "持卡结算须提供卡片在场证明（芯片密文或医保密码）"
    message_en = "A settlement by card needs proof that the card is present (chip cryptogram or medical PIN)"


class CardPresenceInvalid(ValidationFailed):
    """The proof does not verify: malformed, for another request or card, already used, or a wrong PIN."""

    code = "CARD_PRESENCE_INVALID"
    message_zh = "卡片在场证明无效"
    message_en = "The proof of card presence is invalid"


class PresenceKeysUnavailable(DomainError):
    """The centre cannot reach the keys that verify chip cryptograms (KMS keystore missing or not provisioned)."""

    code = "PRESENCE_KEYS_UNAVAILABLE"
    http_status = 503
    message_zh = "结算中心暂时无法验证卡片密文"
    message_en = "The centre cannot verify card cryptograms at the moment"
# ------------------------------------------------------------------------- bill bounds (the policy's bill_limits)


class BillAmountExcessive(ValidationFailed):
    """A unit price, quantity, line amount or bill total beyond the maximum of the policy in effect."""

    code = "BILL_AMOUNT_EXCESSIVE"
    message_zh = "费用金额或数量超过政策规定的上限"
    message_en = "A price, quantity or amount of the bill exceeds the policy's maximum"


class BillLinesExcessive(ValidationFailed):
    code = "BILL_LINES_EXCESSIVE"
    message_zh = "费用明细条数超过政策规定的上限"
    message_en = "The bill has more lines than the policy allows"


class MedicalPolicyBackdated(ValidationFailed):
    code = "POLICY_BACKDATED"
    message_zh = "政策不能追溯到今天以前生效"
    message_en = "A policy cannot take effect before today"


class MedicalPolicyInEffect(ValidationFailed):
    code = "POLICY_IN_EFFECT"
    message_zh = "已生效的政策只能调整今天及以后的终止日期"
    message_en = "A policy already in effect can only have its end moved, from today on"


class CatalogueBackdated(ValidationFailed):
    code = "CATALOGUE_BACKDATED"
    message_zh = "目录项不能追溯到今天以前生效"
    message_en = "A catalogue row cannot take effect before today"


class CatalogueInEffect(ValidationFailed):
    code = "CATALOGUE_IN_EFFECT"
    message_zh = "已生效的目录项只能调整今天及以后的终止日期"
    message_en = "A catalogue row already in effect can only have its end moved, from today on"


class MedicalHistoryClosed(Conflict):
    code = "MEDICAL_HISTORY_CLOSED"
    message_zh = "已有结算记录，不能再初始导入历史政策或目录"
    message_en = "Settlements exist: the initial load of past policy and catalogue is closed"


class CardPaymentAmountMismatch(ValidationFailed):
    code = "CARD_PAYMENT_AMOUNT_MISMATCH"
    message_zh = "刷卡金额与该笔结算的个人现金支付金额不一致"
    message_en = "The card payment's amount is not the settlement's cash part"


class CardPaymentExists(Conflict):
    code = "CARD_PAYMENT_EXISTS"
    message_zh = "该笔结算的个人现金部分已刷卡支付"
    message_en = "The cash part of this settlement was already paid by card"


class CardPaymentConflict(Conflict):
    code = "CARD_PAYMENT_KEY_CONFLICT"
    message_zh = "该幂等键已用于另一笔刷卡支付记录"
    message_en = "This idempotency key was used for another card payment"


class CardPaymentCryptogramInvalid(ValidationFailed):
    code = "CARD_PAYMENT_CRYPTOGRAM_INVALID"
    message_zh = "刷卡支付的卡片密文与该笔结算的卡或金额不符"
    message_en = "The purchase cryptogram does not come from the settlement's card for this amount"


class CardPaymentNotFound(NotFound):
    code = "CARD_PAYMENT_NOT_FOUND"
    message_zh = "该笔结算没有刷卡支付记录"
    message_en = "No card payment is recorded for this settlement"


class CardRefundNotFound(NotFound):
    code = "CARD_REFUND_NOT_FOUND"
    message_zh = "该笔结算没有待退或已退的刷卡款"
    message_en = "No card refund is due or recorded for this settlement"


class CardRefundMismatch(ValidationFailed):
    code = "CARD_REFUND_MISMATCH"
    message_zh = "退款的参考号、银行或金额与该笔结算应退的刷卡款不一致"
    message_en = "The refund's reference, bank or amount is not the one due for this settlement"
