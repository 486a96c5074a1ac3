"""Employment errors: registrations, the unemployment benefit opened from them, subsidies."""

from __future__ import annotations

from sscard.errors import Conflict, NotFound, ValidationFailed


class RegistrationNotFound(NotFound):
    code = "EMPLOYMENT_REGISTRATION_NOT_FOUND"
    message_zh = "就业登记不存在"
    message_en = "No such employment registration"


class RegistrationInvalid(ValidationFailed):
    code = "EMPLOYMENT_REGISTRATION_INVALID"
    message_zh = "登记数据不合法"
    message_en = "The registration data is invalid"


class AlreadyRegistered(Conflict):
    code = "EMPLOYMENT_ALREADY_REGISTERED"
    message_zh = "该人员已有同类未注销的登记"
    message_en = "The person already has an open registration of this kind"


class RegistrationState(Conflict):
    code = "EMPLOYMENT_REGISTRATION_STATE"
    message_zh = "登记当前状态不允许此操作"
    message_en = "The registration's state does not allow this"


class IdempotencyMismatch(Conflict):
    code = "EMPLOYMENT_IDEMPOTENCY_MISMATCH"
    message_zh = "幂等键已用于另一笔不同的请求"
    message_en = "The idempotency key was used for a different request"


class SubsidyNotFound(NotFound):
    code = "EMPLOYMENT_SUBSIDY_NOT_FOUND"
    message_zh = "补贴申请不存在"
    message_en = "No such subsidy"


class SubsidyNotQualified(ValidationFailed):
    code = "EMPLOYMENT_SUBSIDY_NOT_QUALIFIED"
    message_zh = "该登记不符合此项补贴条件"
    message_en = "The registration does not qualify for this subsidy"


class SubsidyExists(Conflict):
    code = "EMPLOYMENT_SUBSIDY_EXISTS"
    message_zh = "该登记已有同类补贴申请"
    message_en = "The registration already has a subsidy of this kind"


class SubsidyState(Conflict):
    code = "EMPLOYMENT_SUBSIDY_STATE"
    message_zh = "补贴当前状态不允许此操作"
    message_en = "The subsidy's state does not allow this"


class MakerCannotApprove(Conflict):
    code = "EMPLOYMENT_MAKER_CANNOT_APPROVE"
    http_status = 403
    message_zh = "经办人不能复核自己提交的补贴"
    message_en = "The maker of a subsidy cannot decide it"


class FlexibleInvalid(ValidationFailed):
    code = "EMPLOYMENT_FLEXIBLE_INVALID"
    message_zh = "灵活就业参保或缴费申报数据不合法"
    message_en = "The flexible worker's registration or declaration is invalid"
