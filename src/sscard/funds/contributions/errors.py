"""Contribution errors: enrolment and choices, authorisations, the month run, arrears, employer files.

An employer file is refused whole: ``EmployerFileRejected`` and its subclasses are raised before any line is
applied; ``.context['line']`` names the first bad line where there is one.
"""

from sscard.errors import Conflict, NotFound, ValidationFailed


class SchemeInvalid(ValidationFailed):
    code = "CONTRIB_SCHEME_INVALID"
    message_zh = "险种与参保身份不符或不存在"
    message_en = "Unknown scheme, or the scheme does not belong to the person's category"


class BaseChoiceInvalid(ValidationFailed):
    code = "CONTRIB_BASE_INVALID"
    message_zh = "缴费基数比例超出允许范围（上年度社平工资的 60%–300%）"
    message_en = "The chosen base is outside the allowed range (60–300 % of last year's average wage)"


class LevelInvalid(ValidationFailed):
    code = "CONTRIB_LEVEL_INVALID"
    message_zh = "缴费档次不存在"
    message_en = "No such contribution level"


class InsuredNotFound(NotFound):
    code = "CONTRIB_INSURED_NOT_FOUND"
    message_zh = "该人员未办理缴费参保登记"
    message_en = "The person is not registered for contributions"


class AlreadyEnrolled(Conflict):
    code = "CONTRIB_ALREADY_ENROLLED"
    message_zh = "该人员已参加此险种"
    message_en = "The person is already enrolled in this scheme"


class CategoryMismatch(Conflict):
    code = "CONTRIB_CATEGORY_MISMATCH"
    message_zh = "该人员已按其他参保身份登记"
    message_en = "The person is registered under another category"


class AuthorisationInvalid(ValidationFailed):
    code = "CONTRIB_AUTHORISATION_INVALID"
    message_zh = "代扣协议信息不完整或不合法（需签署日期、签名凭证、银行账户）"
    message_en = "The withholding authorisation is incomplete or invalid (signature date, signature proof, account)"


class AuthorisationNotFound(NotFound):
    code = "CONTRIB_AUTHORISATION_NOT_FOUND"
    message_zh = "没有有效的代扣协议"
    message_en = "No active withholding authorisation"


class NoPaymentAccount(NotFound):
    code = "CONTRIB_NO_PAYMENT_ACCOUNT"
    message_zh = "该人员没有可代扣的银行账户（社保卡金融账户或登记的账户）"
    message_en = "The person has no bank account to withhold from (card account or registered account)"


class RunInProgress(Conflict):
    code = "CONTRIB_RUN_IN_PROGRESS"
    message_zh = "另一个月份的代扣尚未完成，请先完成该月"
    message_en = "Another month's withholding run is unfinished; finish it first"


class PeriodClosed(Conflict):
    code = "CONTRIB_PERIOD_CLOSED"
    message_zh = "已有更晚月份的代扣，不能再运行更早的月份"
    message_en = "A later month has already been run; an earlier month cannot be run now"


class NoArrears(Conflict):
    code = "CONTRIB_NO_ARREARS"
    message_zh = "该人员没有欠费"
    message_en = "The person has no arrears"


class EmployerFileRejected(ValidationFailed):
    """An employer contribution file refused as a whole; nothing of it was applied."""

    code = "EMPLOYER_FILE_REJECTED"
    message_zh = "单位缴费文件不合格，整个文件被拒绝，未处理任何记录"
    message_en = "The employer contribution file is invalid and was rejected as a whole; nothing was applied"


class EmployerFileEncoding(EmployerFileRejected):
    code = "EMPLOYER_FILE_ENCODING"
    message_zh = "单位缴费文件不是合法的 UTF-8 文本"
    message_en = "The employer file is not valid UTF-8 text"


class EmployerFileMalformed(EmployerFileRejected):
    code = "EMPLOYER_FILE_MALFORMED"
    message_zh = "单位缴费文件格式错误"
    message_en = "The employer file does not follow the layout"


class EmployerFileTruncated(EmployerFileRejected):
    code = "EMPLOYER_FILE_TRUNCATED"
    message_zh = "单位缴费文件不完整（缺少首记录或尾记录）"
    message_en = "The employer file is truncated (header or trailer missing)"


class EmployerFileChecksum(EmployerFileRejected):
    code = "EMPLOYER_FILE_CHECKSUM"
    message_zh = "单位缴费文件校验值不符（内容被改动）"
    message_en = "The employer file checksum does not match (the content was changed)"


class EmployerFileMac(EmployerFileRejected):
    code = "EMPLOYER_FILE_MAC"
    message_zh = "单位缴费文件的 MAC（HMAC-SM3）缺失、错误或不是该单位的密钥所做"
    message_en = "The employer file's MAC (HMAC-SM3) is missing, wrong or made under another partner's key"


class EmployerFileTotals(EmployerFileRejected):
    code = "EMPLOYER_FILE_TOTALS"
    message_zh = "单位缴费文件笔数或金额合计与首尾记录不符"
    message_en = "The employer file's count or amount totals do not match its header and trailer"


class EmployerFileUscc(EmployerFileRejected):
    code = "EMPLOYER_FILE_USCC"
    message_zh = "统一社会信用代码校验不通过"
    message_en = "The Unified Social Credit Code (USCC) is invalid"


class EmployerFileDuplicateLine(EmployerFileRejected):
    code = "EMPLOYER_FILE_DUPLICATE_LINE"
    message_zh = "单位缴费文件含有重复明细（同一人同一险种或同一行号）"
    message_en = "The employer file holds a line twice (same person and insurance, or same line number)"


class EmployerFileUnknownPerson(EmployerFileRejected):
    code = "EMPLOYER_FILE_UNKNOWN_PERSON"
    message_zh = "单位缴费文件中的人员不存在或姓名与身份证号不符"
    message_en = "A person in the employer file is unknown, or the name does not match the ID number"


class EmployerFileAmount(EmployerFileRejected):
    code = "EMPLOYER_FILE_AMOUNT"
    message_zh = "单位缴费文件中的基数或金额与政策费率不符"
    message_en = "A base or amount in the employer file does not match the policy rates"


class EmployerFileDuplicate(Conflict):
    code = "EMPLOYER_FILE_DUPLICATE"
    message_zh = "该单位该月已导入过不同内容的缴费文件"
    message_en = "A different file was already imported for this employer and month"


class CarriedMonthsInvalid(ValidationFailed):
    code = "CONTRIB_CARRIED_INVALID"
    message_zh = "转移的缴费月份与本地记录不符"
    message_en = "The months carried do not match the record here"
