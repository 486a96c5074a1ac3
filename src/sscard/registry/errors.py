"""Registry errors: ID number validation, person records."""

from sscard.errors import Conflict, NotFound, ValidationFailed


class IdFormatInvalid(ValidationFailed):
    code = "ID_FORMAT_INVALID"
    message_zh = "身份证号码格式错误"
    message_en = "The ID number is malformed"


class IdCheckDigitInvalid(ValidationFailed):
    code = "ID_CHECK_DIGIT_INVALID"
    message_zh = "身份证号码校验位错误"
    message_en = "The ID number's check digit is wrong"


class IdBirthDateInvalid(ValidationFailed):
    code = "ID_BIRTH_DATE_INVALID"
    message_zh = "身份证号码中的出生日期无效"
    message_en = "The birth date in the ID number is invalid"


class IdRegionUnknown(ValidationFailed):
    code = "ID_REGION_UNKNOWN"
    message_zh = "身份证号码的行政区划代码不存在"
    message_en = "The ID number's region code does not exist"


class SexMismatch(ValidationFailed):
    code = "ID_SEX_MISMATCH"
    message_zh = "性别与身份证号码不符"
    message_en = "Sex does not match the ID number"


class BirthDateMismatch(ValidationFailed):
    code = "ID_BIRTH_DATE_MISMATCH"
    message_zh = "出生日期与身份证号码不符"
    message_en = "Birth date does not match the ID number"


class RegionInvalid(ValidationFailed):
    code = "REGION_INVALID"
    message_zh = "行政区划代码不是清远市的县级区划"
    message_en = "The region code is not one of Qingyuan's county-level divisions"


class NameInvalid(ValidationFailed):
    code = "NAME_INVALID"
    message_zh = "姓名为空、超过 50 个字符或含控制字符"
    message_en = "The name is empty, longer than 50 characters or contains control characters"


class PhoneInvalid(ValidationFailed):
    code = "PHONE_INVALID"
    message_zh = "联系电话格式错误"
    message_en = "The contact phone number is malformed"


class PersonExists(Conflict):
    code = "PERSON_EXISTS"
    message_zh = "该身份证号码的人员已登记"
    message_en = "A person with this ID number is already registered"


class PersonNotFound(NotFound):
    code = "PERSON_NOT_FOUND"
    message_zh = "人员不存在"
    message_en = "Person not found"


class PersonDeceased(Conflict):
    code = "PERSON_DECEASED"
    message_zh = "人员已死亡，不能办理"
    message_en = "The person is deceased"
