"""Bank errors: refused batch/return files (one code per kind of defect), accounts, gateways, the simulated bank.

A refused file is refused whole: ``BankFileRejected`` and its subclasses are raised before anything of the file
is applied. Catch ``BankFileRejected`` to catch every file defect; ``.code`` says which one.
"""

from sscard.errors import Conflict, DomainError, NotFound, ValidationFailed


class BankFileRejected(ValidationFailed):
    """A bank file refused as a whole; nothing of it was applied."""

    code = "BANK_FILE_REJECTED"
    message_zh = "银行文件不合格，整个文件被拒绝，未处理任何记录"
    message_en = "The bank file is invalid and was rejected as a whole; nothing was applied"


class BankFileEncoding(BankFileRejected):
    code = "BANK_FILE_ENCODING"
    message_zh = "银行文件不是合法的 UTF-8 文本，整个文件被拒绝"
    message_en = "The bank file is not valid UTF-8 text; rejected as a whole"


class BankFileTruncated(BankFileRejected):
    code = "BANK_FILE_TRUNCATED"
    message_zh = "银行文件不完整（缺少尾记录或被截断），整个文件被拒绝"
    message_en = "The bank file is truncated (no trailer or an incomplete line); rejected as a whole"


class BankFileChecksum(BankFileRejected):
    code = "BANK_FILE_CHECKSUM"
    message_zh = "银行文件校验值不符（内容被改动），整个文件被拒绝"
    message_en = "The bank file checksum does not match (the content was changed); rejected as a whole"


class BankFileMac(BankFileRejected):
    code = "BANK_FILE_MAC"
    message_zh = "银行文件的 MAC（HMAC-SM3）缺失、错误或不是该银行的密钥所做，整个文件被拒绝"
    message_en = ("The bank file's MAC (HMAC-SM3) is missing, wrong or made under another partner's key; "
                  "rejected as a whole")


class BankFileTotals(BankFileRejected):
    code = "BANK_FILE_TOTALS"
    message_zh = "银行文件笔数或金额合计不符，整个文件被拒绝"
    message_en = "The bank file's counts or amount totals do not add up; rejected as a whole"


class BankFileUnknownLine(BankFileRejected):
    code = "BANK_FILE_UNKNOWN_LINE"
    message_zh = "回盘文件含有未发送过的明细，整个文件被拒绝"
    message_en = "The return file holds a line that was never sent; rejected as a whole"


class BankFileDuplicateLine(BankFileRejected):
    code = "BANK_FILE_DUPLICATE_LINE"
    message_zh = "银行文件含有重复明细，整个文件被拒绝"
    message_en = "The bank file holds a line twice; rejected as a whole"


class BankFileMalformed(BankFileRejected):
    code = "BANK_FILE_MALFORMED"
    message_zh = "银行文件格式错误，整个文件被拒绝"
    message_en = "The bank file does not follow the layout; rejected as a whole"


class BankFileMismatch(BankFileRejected):
    code = "BANK_FILE_MISMATCH"
    message_zh = "回盘文件不属于该批次（银行、类型、批次号或期间不符），整个文件被拒绝"
    message_en = "The return file belongs to another batch (bank, kind, batch id or period differ); rejected"


class BankBatchConflict(Conflict):
    code = "BANK_BATCH_CONFLICT"
    message_zh = "该批次号已提交过不同内容的文件"
    message_en = "A different file was already submitted under this batch id"


class BankUnknown(NotFound):
    code = "BANK_UNKNOWN"
    message_zh = "未配置该合作银行"
    message_en = "No such cooperating bank is configured"


class BankUnavailable(DomainError):
    code = "BANK_UNAVAILABLE"
    http_status = 503
    message_zh = "银行接口暂时不可用，请稍后重试"
    message_en = "The bank interface is unavailable; try again later"


class BankHandleUnknown(NotFound):
    code = "BANK_HANDLE_UNKNOWN"
    message_zh = "银行不认识该批次受理号"
    message_en = "The bank does not know this submission handle"


class SimAccountExists(Conflict):
    code = "SIMBANK_ACCOUNT_EXISTS"
    message_zh = "模拟银行中该账号已存在"
    message_en = "The simulated bank already has this account"


class SimAccountNotFound(NotFound):
    code = "SIMBANK_ACCOUNT_NOT_FOUND"
    message_zh = "模拟银行中没有该账号"
    message_en = "The simulated bank has no such account"


class SimAmountInvalid(ValidationFailed):
    code = "SIMBANK_AMOUNT_INVALID"
    message_zh = "金额必须是正整数（分）"
    message_en = "The amount must be a positive whole number of fen"


class PaymentAccountInvalid(ValidationFailed):
    code = "PAYMENT_ACCOUNT_INVALID"
    message_zh = "收付款账户信息不合法"
    message_en = "The payment account details are invalid"


class PersonNotFound(NotFound):
    code = "PAYMENT_ACCOUNT_PERSON_NOT_FOUND"
    message_zh = "人员不存在"
    message_en = "No such person"


class SimStateInvalid(ValidationFailed):
    code = "SIMBANK_STATE_INVALID"
    message_zh = "账户状态只能是 normal、frozen、closed 或 lost"
    message_en = "The account state is one of normal, frozen, closed, lost"


class SimCallInvalid(ValidationFailed):
    code = "SIMBANK_CALL_INVALID"
    message_zh = "实时交易参数不合法（流水号 1-64 位、账号 1-32 位）"
    message_en = "The real-time call is invalid (reference 1-64 characters, account 1-32)"


class CardAuthConflict(Conflict):
    code = "BANK_CARD_AUTH_CONFLICT"
    message_zh = "该交易参考号已用于另一笔刷卡消费"
    message_en = "This reference was already used for another card purchase"


class CardAuthInvalid(ValidationFailed):
    code = "BANK_CARD_AUTH_INVALID"
    message_zh = "刷卡消费授权请求不合法"
    message_en = "The card purchase authorisation request is invalid"


class CardKeysUnavailable(DomainError):
    code = "BANK_CARD_KEYS_UNAVAILABLE"
    http_status = 503
    message_zh = "发卡行密钥暂不可用，无法校验卡片密文"
    message_en = "The issuer's card keys are unavailable; the cryptogram cannot be checked"


class CardRefundConflict(Conflict):
    code = "BANK_CARD_REFUND_CONFLICT"
    message_zh = "该退款参考号已用于另一笔退款"
    message_en = "This reference was already used for another card refund"
