"""Errors of the health index, each with a stable code; the FHIR interface answers them as ``OperationOutcome``."""

from sscard.errors import Conflict, DomainError, NotFound, ValidationFailed


class FhirInvalid(ValidationFailed):
    """The body is not a valid FHIR R4 resource of the expected type (wrong types, missing elements)."""

    code = "FHIR_INVALID"
    message_zh = "FHIR 资源不合法（类型错误、缺少必填元素或 JSON 无法解析）"
    message_en = "The FHIR resource is invalid (wrong types, missing required elements or unparseable JSON)"


class FhirProfileViolation(ValidationFailed):
    """Valid FHIR, but not what the index accepts (a missing element the index needs, an unknown code)."""

    code = "FHIR_PROFILE_VIOLATION"
    message_zh = "资源不符合健康索引的规范（缺少索引所需元素或代码未知）"
    message_en = "The resource does not follow the health index profile (an element it needs, or an unknown code)"


class DiagnosisCodeUnknown(ValidationFailed):
    code = "ICD10_CODE_UNKNOWN"
    message_zh = "诊断编码不是有效的 ICD-10 编码"
    message_en = "The diagnosis code is not a valid ICD-10 code"


class PatientNotCardHolder(ValidationFailed):
    code = "PATIENT_NOT_CARD_HOLDER"
    message_zh = "患者身份证号与社会保障卡持卡人不符"
    message_en = "The patient's ID number is not the card holder's"


class CardNotUsableForIndex(DomainError):
    code = "HEALTH_CARD_NOT_USABLE"
    http_status = 409
    message_zh = "该卡不存在或不是正常状态，不能用于健康索引"
    message_en = "The card does not exist or is not in normal use"


class PatientUnknown(NotFound):
    code = "HEALTH_PATIENT_UNKNOWN"
    message_zh = "健康索引中没有该患者"
    message_en = "No such patient in the health index"


class EncounterUnknown(NotFound):
    code = "HEALTH_ENCOUNTER_UNKNOWN"
    message_zh = "健康索引中没有该就诊记录（或不是本机构发布的）"
    message_en = "No such encounter in the health index (or not published by this institution)"


class EntryConflict(Conflict):
    code = "HEALTH_ENTRY_CONFLICT"
    message_zh = "同一机构标识已发布了不同内容的条目"
    message_en = "An entry with this institution identifier was already published with different content"


class InstitutionNotHospital(DomainError):
    code = "HEALTH_INSTITUTION_NOT_HOSPITAL"
    http_status = 403
    message_zh = "只有医院可以发布或查阅健康索引"
    message_en = "Only hospitals publish to or read the health index"


class OperatorMissing(ValidationFailed):
    code = "HEALTH_OPERATOR_MISSING"
    message_zh = "须提供查阅人（机构内的医生或工作人员编号，1–40 位字母、数字、点、下划线或连字符）"
    message_en = "Name the operator (the doctor's or clerk's id at the institution, 1-40 letters, digits, . _ -)"


class GrantRequired(DomainError):
    code = "HEALTH_GRANT_REQUIRED"
    http_status = 403
    message_zh = "查阅健康索引须有持卡人本次授权（刷卡并输入密码）或紧急授权"
    message_en = "Reading the index needs the holder's grant (card + PIN) or an emergency grant"


class GrantUnknown(DomainError):
    code = "HEALTH_GRANT_UNKNOWN"
    http_status = 403
    message_zh = "授权不存在"
    message_en = "No such grant"


class GrantOtherInstitution(DomainError):
    code = "HEALTH_GRANT_OTHER_INSTITUTION"
    http_status = 403
    message_zh = "该授权属于其他机构"
    message_en = "The grant was given to another institution"


class GrantOtherPatient(DomainError):
    code = "HEALTH_GRANT_OTHER_PATIENT"
    http_status = 403
    message_zh = "该授权不是对该患者的"
    message_en = "The grant is for another patient"


class GrantExpired(DomainError):
    code = "HEALTH_GRANT_EXPIRED"
    http_status = 403
    message_zh = "授权已过期，请持卡人重新授权"
    message_en = "The grant has expired; ask the holder again"


class GrantRevoked(DomainError):
    code = "HEALTH_GRANT_REVOKED"
    http_status = 403
    message_zh = "持卡人已撤销该授权"
    message_en = "The holder revoked this grant"


class PinRefused(DomainError):
    code = "HEALTH_PIN_WRONG"
    http_status = 403
    message_zh = "密码错误，未授权"
    message_en = "Wrong PIN: no grant"


class CardProofReplayed(Conflict):
    code = "HEALTH_CARD_PROOF_REPLAYED"
    message_zh = "该卡片密文已使用过"
    message_en = "This card cryptogram was already used"


class EmergencyReasonRequired(ValidationFailed):
    code = "HEALTH_EMERGENCY_REASON_REQUIRED"
    message_zh = "紧急查阅须填写理由（至少 10 个字符）"
    message_en = "Break-the-glass access needs a reason (at least 10 characters)"


class SensitivePolicyInvalid(ValidationFailed):
    code = "HEALTH_SENSITIVE_POLICY_INVALID"
    message_zh = "敏感诊断类别清单不合法"
    message_en = "The sensitive-category list is invalid"


class CategoryUnknown(ValidationFailed):
    code = "HEALTH_CATEGORY_UNKNOWN"
    message_zh = "没有这个敏感类别"
    message_en = "No such sensitive category"


class FhirCodeUnknown(ValidationFailed):
    """A code outside a value set the element is bound to (the FHIR binding, or the index's own list)."""

    code = "FHIR_CODE_UNKNOWN"
    message_zh = "编码不在该元素绑定的值集中"
    message_en = "A code is not in the value set its element is bound to"
