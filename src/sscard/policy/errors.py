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


class PolicyBackdated(DomainError):
    code = "POLICY_BACKDATED"
    http_status = 422
    message_zh = "政策参数不能追溯生效：生效日期不得早于今天"
    message_en = "A policy parameter cannot take effect in the past: the date must be today or later"


class PolicyInEffect(DomainError):
    code = "POLICY_IN_EFFECT"
    http_status = 422
    message_zh = "该日期的政策参数已生效，不能修改；请另定今后的生效日期"
    message_en = "The parameter for that date is already in effect and cannot be changed; choose a later date"


class PolicyHistoryClosed(DomainError):
    code = "POLICY_HISTORY_CLOSED"
    http_status = 409
    message_zh = "已有业务数据，不能再导入历史政策参数"
    message_en = "The database already holds business; historical parameters can no longer be loaded"


class PolicyConflict(DomainError):
    code = "POLICY_CONFLICT"
    http_status = 409
    message_zh = "另一位管理员同时修改了该参数，请重试"
    message_en = "Another administrator changed this parameter at the same time; try again"
