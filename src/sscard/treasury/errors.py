"""Treasury errors. A refused statement is refused whole (``TreasuryStatementRejected`` and its subclasses are
raised before anything of it is written); catch that class for every statement defect, ``.code`` says which."""

from sscard.errors import Conflict, DomainError, NotFound, ValidationFailed


class TreasuryStatementRejected(ValidationFailed):
    code = "TREASURY_STATEMENT_REJECTED"
    message_zh = "银行对账单不合格，整个文件被拒绝，未导入任何记录"
    message_en = "The bank statement is invalid and was rejected as a whole; nothing was imported"


class TreasuryStatementMac(TreasuryStatementRejected):
    code = "TREASURY_STATEMENT_MAC"
    message_zh = "对账单未签名，或 MAC（HMAC-SM3）错误、不是该银行的密钥所做，整个文件被拒绝"
    message_en = "The statement is unsigned, or its MAC (HMAC-SM3) is wrong or not the bank's; rejected as a whole"


class TreasuryStatementMalformed(TreasuryStatementRejected):
    code = "TREASURY_STATEMENT_MALFORMED"
    message_zh = "对账单格式错误（不是合法的 XML/CSV 或缺少字段），整个文件被拒绝"
    message_en = "The statement is malformed (not well-formed XML/CSV, or a field is missing); rejected as a whole"


class TreasuryStatementSchema(TreasuryStatementRejected):
    code = "TREASURY_STATEMENT_SCHEMA"
    message_zh = "对账单不符合 ISO 20022 camt.053 报文规范（XSD 校验未通过），整个文件被拒绝"
    message_en = "The statement does not validate against the ISO 20022 camt.053 schema; rejected as a whole"


class TreasuryStatementTotals(TreasuryStatementRejected):
    code = "TREASURY_STATEMENT_TOTALS"
    message_zh = "对账单期初余额加发生额不等于期末余额，或笔数、合计不符，整个文件被拒绝"
    message_en = "Opening balance plus the lines is not the closing balance, or counts/totals disagree; rejected"


class TreasuryStatementUnknownAccount(TreasuryStatementRejected):
    code = "TREASURY_STATEMENT_UNKNOWN_ACCOUNT"
    message_zh = "对账单的账号不是本系统登记的基金账户（或不属于该银行），整个文件被拒绝"
    message_en = "The statement is for an account that is not a registered fund account of that bank; rejected"


class TreasuryStatementDuplicate(TreasuryStatementRejected):
    code = "TREASURY_STATEMENT_DUPLICATE"
    message_zh = "该对账单已导入过（同一内容或同一对账单编号），整个文件被拒绝"
    message_en = "This statement was imported before (same content or same statement id); rejected as a whole"


class TreasuryStatementOverlap(TreasuryStatementRejected):
    code = "TREASURY_STATEMENT_OVERLAP"
    message_zh = "对账单期间与该账户已导入的对账单重叠，整个文件被拒绝"
    message_en = "The statement's period overlaps a statement already imported for the account; rejected"


class TreasuryAccountInvalid(ValidationFailed):
    code = "TREASURY_ACCOUNT_INVALID"
    message_zh = "基金账户信息不合法（基金、银行、户别、账号或存款条件）"
    message_en = "The fund account is invalid (fund, bank, kind, account number or deposit terms)"


class TreasuryAccountExists(Conflict):
    code = "TREASURY_ACCOUNT_EXISTS"
    message_zh = "该基金账户已登记（账户代码或银行账号重复）"
    message_en = "The fund account is already registered (same code, or same bank account number)"


class TreasuryNotFound(NotFound):
    code = "TREASURY_NOT_FOUND"
    message_zh = "基金账户、划款指令或对账记录不存在"
    message_en = "No such fund account, instruction or statement line"


class TreasuryFlowInvalid(ValidationFailed):
    code = "TREASURY_FLOW_INVALID"
    message_zh = "划款不合规定（户别不对、不属于同一基金、金额无效或余额不足）"
    message_en = "The movement is not allowed (wrong kinds of account, different funds, bad amount, no balance)"


class TreasurySameOperator(Conflict):
    code = "TREASURY_SAME_OPERATOR"
    message_zh = "复核人不能是经办人本人（双人复核）"
    message_en = "The checker may not be the operator who proposed it (maker-checker)"


class TreasuryInstructionState(Conflict):
    code = "TREASURY_INSTRUCTION_STATE"
    message_zh = "该划款指令已复核或已退回，不能再处理"
    message_en = "The instruction was already approved or rejected"


class TreasuryKeyReused(Conflict):
    code = "TREASURY_KEY_REUSED"
    message_zh = "同一请求编号已用于内容不同的划款指令"
    message_en = "The request key was already used for a different instruction"


class TreasuryDepositNotMature(ValidationFailed):
    code = "TREASURY_DEPOSIT_NOT_MATURE"
    message_zh = "定期存款未到期，或已到期支取"
    message_en = "The term deposit has not matured yet, or was already taken back"


class TreasuryLineState(Conflict):
    code = "TREASURY_LINE_STATE"
    message_zh = "该对账明细已匹配或已处理"
    message_en = "The statement line is already matched or resolved"


class TreasuryMatchInvalid(ValidationFailed):
    code = "TREASURY_MATCH_INVALID"
    message_zh = "所选账务记录与对账明细不符（账户、方向或金额不同，或已被匹配）"
    message_en = "The chosen ledger transfer does not fit the line (account, direction, amount, or already matched)"


class TreasuryReportEmpty(NotFound):
    code = "TREASURY_REPORT_EMPTY"
    message_zh = "该账户该月没有已导入的对账单，无法编制余额调节表"
    message_en = "No statement was imported for the account and month; no reconciliation report can be made"


class TreasuryReportFontMissing(DomainError):
    """The server has no font with Chinese glyphs (``sscard.pdffont``): the PDF cannot be made; the CSV can."""

    code = "TREASURY_REPORT_FONT_MISSING"
    http_status = 503
    message_zh = ("服务器未安装中文字体，无法生成 PDF 余额调节表"
                  "（可下载 CSV；管理员请安装 fonts-wqy-microhei 或设置 SSCARD_WEB_PDF_FONT）")
    message_en = ("The server has no Chinese font, so the PDF reconciliation report cannot be made (the CSV can; "
                  "an administrator installs fonts-wqy-microhei or sets SSCARD_WEB_PDF_FONT)")
