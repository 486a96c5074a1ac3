"""Policy errors."""

from sscard.errors import DomainError


class PolicyMissing(DomainError):
    code = "POLICY_MISSING"
    http_status = 409
    message_zh = "该日期没有生效的政策参数"
    message_en = "No policy parameter is in effect on that date"


class PolicyInvalid(DomainError):
    code = "POLICY_INVALID"
    http_status = 422
    message_zh = "政策参数值不合法"
    message_en = "The policy parameter value is invalid"
