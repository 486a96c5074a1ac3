"""Feed errors: a refused feed file (one stable code per kind of defect; nothing of it is applied) and the
review queues. Catch ``FeedRejected`` to catch every file defect; ``.code`` says which one."""

from sscard.errors import Conflict, NotFound, ValidationFailed


class FeedRejected(ValidationFailed):
    """A feed file refused as a whole; nothing of it was applied."""

    code = "EXCHANGE_FEED_REJECTED"
    message_zh = "部门交换文件不合格，整个文件被拒绝，未处理任何记录"
    message_en = "The department feed file is invalid and was rejected as a whole; nothing was applied"


class FeedMalformed(FeedRejected):
    code = "EXCHANGE_FEED_MALFORMED"
    message_zh = "部门交换文件格式错误，整个文件被拒绝"
    message_en = "The department feed file is malformed; rejected as a whole"


class FeedTruncated(FeedRejected):
    code = "EXCHANGE_FEED_TRUNCATED"
    message_zh = "部门交换文件不完整（被截断或笔数不符），整个文件被拒绝"
    message_en = "The department feed file is truncated (cut off, or fewer lines than its trailer says)"


class FeedMac(FeedRejected):
    code = "EXCHANGE_FEED_MAC"
    message_zh = "部门交换文件的 MAC（HMAC-SM3）缺失、错误或密钥无效，整个文件被拒绝"
    message_en = "The department feed file's MAC (HMAC-SM3) is missing, wrong or under a key that may not verify it"


class FeedDecrypt(FeedRejected):
    code = "EXCHANGE_FEED_DECRYPT"
    message_zh = "部门交换文件无法用该部门的 SM4 密钥解密，整个文件被拒绝"
    message_en = "The department feed file does not decrypt under the partner's SM4 key; rejected as a whole"


class FeedEncoding(FeedRejected):
    code = "EXCHANGE_FEED_ENCODING"
    message_zh = "部门交换文件不是所声明编码（UTF-8 或 GB18030）的合法文本"
    message_en = "The department feed file is not valid text in its declared encoding (UTF-8 or GB18030)"


class FeedChecksum(FeedRejected):
    code = "EXCHANGE_FEED_CHECKSUM"
    message_zh = "部门交换文件明文校验值不符，整个文件被拒绝"
    message_en = "The department feed file's plaintext checksum does not match; rejected as a whole"


class FeedWrongPartner(FeedRejected):
    code = "EXCHANGE_FEED_WRONG_PARTNER"
    message_zh = "部门交换文件不是发给本通道（合作方）的，整个文件被拒绝"
    message_en = "The department feed file names another partner than the spool it arrived in"


class FeedWrongKind(FeedRejected):
    code = "EXCHANGE_FEED_KIND"
    message_zh = "该部门不能发送这种交换文件（或记录类型不属于该文件）"
    message_en = "This department may not send this kind of feed (or a line type does not belong to it)"


class FeedDuplicate(FeedRejected):
    code = "EXCHANGE_FEED_DUPLICATE"
    http_status = 409
    message_zh = "该部门交换文件已导入过（文件编号、序号或内容相同），未再次处理"
    message_en = "This feed file was imported already (same file id, sequence number or content); nothing applied"


class FeedOutOfOrder(FeedRejected):
    code = "EXCHANGE_FEED_OUT_OF_ORDER"
    http_status = 409
    message_zh = "部门交换文件序号不连续（应为上一个已导入文件的序号加一），整个文件被拒绝"
    message_en = "The feed file's sequence number is not the next one after the last imported file's"


class FeedTooLarge(FeedRejected):
    code = "EXCHANGE_FEED_TOO_LARGE"
    http_status = 413
    message_zh = "部门交换文件过大"
    message_en = "The department feed file is too large"


class FeedPartnerInvalid(ValidationFailed):
    code = "EXCHANGE_FEED_PARTNER_INVALID"
    message_zh = "合作方名称无效（应为 dept:<代码>）"
    message_en = "The partner is not dept:<code> (A-Z 0-9, at most 18)"


class FeedExceptionNotFound(NotFound):
    code = "EXCHANGE_FEED_EXCEPTION_NOT_FOUND"
    message_zh = "异常队列中没有该记录"
    message_en = "No such entry in the feed exceptions queue"


class FeedExceptionClosed(Conflict):
    code = "EXCHANGE_FEED_EXCEPTION_CLOSED"
    message_zh = "该异常已处理"
    message_en = "That exception was resolved already"
