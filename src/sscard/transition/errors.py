"""Transition errors: a refused legacy card file (one code per kind of defect; nothing of it is applied), and the
old card number at a hospital (unknown, not matched, not usable, the window closed).

Catch ``LegacyFileRejected`` to catch every file defect; ``.code`` says which one.
"""

from sscard.errors import Conflict, DomainError, NotFound, ValidationFailed


class LegacyFileRejected(ValidationFailed):
    """A legacy card file refused as a whole; nothing of it was applied."""

    code = "LEGACY_FILE_REJECTED"
    message_zh = "旧医保卡数据文件不合格，整个文件被拒绝，未处理任何记录"
    message_en = "The legacy card file is invalid and was rejected as a whole; nothing was applied"


class LegacyFileEncoding(LegacyFileRejected):
    code = "LEGACY_FILE_ENCODING"
    message_zh = "旧医保卡数据文件不是所声明编码（UTF-8 或 GB18030）的合法文本，整个文件被拒绝"
    message_en = "The legacy card file is not valid text in its declared encoding (UTF-8 or GB18030); rejected whole"


class LegacyFileTruncated(LegacyFileRejected):
    code = "LEGACY_FILE_TRUNCATED"
    message_zh = "旧医保卡数据文件不完整（缺少尾记录或被截断），整个文件被拒绝"
    message_en = "The legacy card file is truncated (no trailer or an incomplete line); rejected as a whole"


class LegacyFileChecksum(LegacyFileRejected):
    code = "LEGACY_FILE_CHECKSUM"
    message_zh = "旧医保卡数据文件校验值不符（内容被改动），整个文件被拒绝"
    message_en = "The legacy card file checksum does not match (the content was changed); rejected as a whole"


class LegacyFileMac(LegacyFileRejected):
    code = "LEGACY_FILE_MAC"
    message_zh = "旧医保卡数据文件的 MAC（HMAC-SM3）缺失、错误或不是该旧系统的密钥所做，整个文件被拒绝"
    message_en = ("The legacy card file's MAC (HMAC-SM3) is missing, wrong or made under another partner's key; "
                  "rejected as a whole")


class LegacyFileMalformed(LegacyFileRejected):
    code = "LEGACY_FILE_MALFORMED"
    message_zh = "旧医保卡数据文件格式错误，整个文件被拒绝"
    message_en = "The legacy card file is malformed; rejected as a whole"


class LegacyFileTotals(LegacyFileRejected):
    code = "LEGACY_FILE_TOTALS"
    message_zh = "旧医保卡数据文件的笔数或余额合计不符，整个文件被拒绝"
    message_en = "The legacy card file's count or balance total does not add up; rejected as a whole"


class LegacyFileDuplicateLine(LegacyFileRejected):
    code = "LEGACY_FILE_DUPLICATE_LINE"
    message_zh = "旧医保卡数据文件中同一张旧卡出现两次，整个文件被拒绝"
    message_en = "The legacy card file lists the same old card twice; rejected as a whole"


class LegacyCardConflict(LegacyFileRejected):
    code = "LEGACY_CARD_CONFLICT"
    http_status = 409
    message_zh = "同一张旧医保卡被两个不同的身份证号码认领，整个文件被拒绝"
    message_en = "One legacy card is claimed by two persons (two ID numbers); the file was rejected as a whole"


class LegacyCardAlreadyImported(LegacyFileRejected):
    code = "LEGACY_CARD_ALREADY_IMPORTED"
    http_status = 409
    message_zh = "文件中的旧医保卡已由先前的文件迁移（余额不能迁移两次），整个文件被拒绝"
    message_en = "A card of the file was migrated by an earlier file (no balance moves twice); rejected whole"


class LegacyFileDuplicate(Conflict):
    code = "LEGACY_FILE_DUPLICATE"
    message_zh = "该旧医保卡数据文件已导入过（文件编号或内容相同），未再次处理"
    message_en = "This legacy card file was imported already (same file id or content); nothing was applied again"


class LegacyImportNotFound(NotFound):
    code = "LEGACY_IMPORT_NOT_FOUND"
    message_zh = "没有该旧医保卡数据文件的导入记录"
    message_en = "No import of that legacy card file"


class LegacyCardNotFound(NotFound):
    code = "LEGACY_CARD_NOT_FOUND"
    message_zh = "旧医保卡号不存在"
    message_en = "No such legacy medical card"


class LegacyCardUnmatched(DomainError):
    code = "LEGACY_CARD_UNMATCHED"
    http_status = 409
    message_zh = "该旧医保卡尚未对应到人员（在异常队列中），请凭社会保障卡或身份证办理"
    message_en = "The legacy card is not matched to a person yet (exceptions queue); use the new card or ID number"


class LegacyCardNotUsable(DomainError):
    code = "LEGACY_CARD_NOT_USABLE"
    http_status = 409
    message_zh = "该旧医保卡在原系统中已挂失或注销，不能使用"
    message_en = "The legacy card was lost or cancelled in the old system and cannot be used"


class LegacyCardWindowClosed(DomainError):
    code = "LEGACY_CARD_WINDOW_CLOSED"
    http_status = 409
    message_zh = "旧医保卡过渡期已结束（或尚未开始），请使用社会保障卡"
    message_en = "The legacy card transition window is closed (or not yet open); use the social security card"


class LegacyExceptionNotFound(NotFound):
    code = "LEGACY_EXCEPTION_NOT_FOUND"
    message_zh = "异常队列中没有该旧医保卡"
    message_en = "That legacy card is not in the exceptions queue"


class LegacyReportFontMissing(DomainError):
    """The server has no font with Chinese glyphs (``sscard.pdffont``): the PDF cannot be made; the CSV can."""

    code = "LEGACY_REPORT_FONT_MISSING"
    http_status = 503
    message_zh = ("服务器未安装中文字体，无法生成 PDF 迁移对账报告"
                  "（可下载 CSV；管理员请安装 fonts-wqy-microhei 或设置 SSCARD_WEB_PDF_FONT）")
    message_en = ("The server has no Chinese font, so the PDF migration reconciliation cannot be made (the CSV can; "
                  "an administrator installs fonts-wqy-microhei or sets SSCARD_WEB_PDF_FONT)")
