"""Settlement input errors, each with a stable code (policy errors reuse sscard.policy.errors)."""

from sscard.errors import NotFound, ValidationFailed
from sscard.policy.errors import PolicyInvalid, PolicyMissing

__all__ = ["BillInvalid", "CatalogueInvalid", "CatalogueItemUnknown", "PersonContextInvalid", "PolicyInvalid",
           "PolicyMissing", "PolicyRuleMissing"]


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
