"""Production errors: rejected files, the exceptions queue, batches (stable codes, Chinese and English)."""

from sscard.errors import Conflict, NotFound, ValidationFailed


class FileRejected(ValidationFailed):
    """A whole file refused for a structural fault; nothing of it was imported."""

    code = "PRODUCTION_FILE_REJECTED"
    message_zh = "文件格式错误，整个文件被拒绝，未导入任何记录"
    message_en = "The file is malformed and was rejected as a whole; nothing was imported"


class FileMacInvalid(FileRejected):
    """An exchange file whose HMAC-SM3 is missing, wrong, or under another partner's key (checked first)."""

    code = "PRODUCTION_FILE_MAC"
    message_zh = "交换文件的 MAC（HMAC-SM3）缺失、错误或不是该合作方的密钥所做，整个文件被拒绝"
    message_en = ("The exchange file's MAC (HMAC-SM3) is missing, wrong or made under another partner's key; "
                  "rejected as a whole")


class FileAlreadyImported(Conflict):
    code = "PRODUCTION_FILE_ALREADY_IMPORTED"
    message_zh = "该文件已经导入过"
    message_en = "This file was already imported"


class ExceptionNotFound(NotFound):
    code = "COMPARISON_EXCEPTION_NOT_FOUND"
    message_zh = "比对异常记录不存在"
    message_en = "Comparison exception not found"


class ExceptionAlreadyResolved(Conflict):
    code = "COMPARISON_EXCEPTION_RESOLVED"
    message_zh = "该比对异常已处理"
    message_en = "The comparison exception was already resolved"


class ResolutionInvalid(ValidationFailed):
    code = "RESOLUTION_INVALID"
    message_zh = "该异常不能按此方式处理"
    message_en = "This resolution does not apply to this exception"


class BatchNotFound(NotFound):
    code = "BATCH_NOT_FOUND"
    message_zh = "制卡批次不存在"
    message_en = "Production batch not found"


class BatchStageInvalid(Conflict):
    code = "BATCH_STAGE_INVALID"
    message_zh = "制卡批次当前环节不允许此操作"
    message_en = "The batch is not at the stage this step needs"


class BatchTotalsMismatch(Conflict):
    code = "BATCH_TOTALS_MISMATCH"
    message_zh = "批次汇总数与明细合计不符"
    message_en = "The batch header totals do not equal the sum of its records"


class BankUnknown(NotFound):
    code = "BANK_UNKNOWN"
    message_zh = "合作银行不存在"
    message_en = "Unknown cooperating bank"


class NoOutletForCard(NotFound):
    code = "OUTLET_FOR_CARD_NOT_FOUND"
    message_zh = "找不到可发放该卡的网点"
    message_en = "No outlet can receive this card"


class KeysUnavailable(ValidationFailed):
    code = "KMS_KEYS_UNAVAILABLE"
    http_status = 503
    message_zh = "密钥管理系统不可用或未配置本市密钥"
    message_en = "The key management system is unavailable or holds no keys for the city"
