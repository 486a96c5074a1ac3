"""Benefit errors: entitlements, certifications, month runs, batches and the re-issue queue."""

from __future__ import annotations

from sscard.errors import Conflict, DomainError, NotFound, ValidationFailed


class EntitlementInvalid(ValidationFailed):
    code = "BENEFIT_ENTITLEMENT_INVALID"
    message_zh = "待遇资格数据不合法"
    message_en = "The entitlement data is invalid"


class EntitlementNotFound(NotFound):
    code = "BENEFIT_ENTITLEMENT_NOT_FOUND"
    message_zh = "待遇资格不存在"
    message_en = "No such entitlement"


class BenefitPersonNotFound(NotFound):
    code = "BENEFIT_PERSON_NOT_FOUND"
    message_zh = "人员不存在"
    message_en = "No such person"


class CertificationInvalid(ValidationFailed):
    code = "BENEFIT_CERTIFICATION_INVALID"
    message_zh = "资格认证数据不合法（日期不能晚于今天）"
    message_en = "The certification is invalid (its date cannot be in the future)"


class BatchNotFound(NotFound):
    code = "DISBURSEMENT_BATCH_NOT_FOUND"
    message_zh = "代发批次不存在"
    message_en = "No such disbursement batch"


class BatchUnbalanced(DomainError):
    """Raised when a batch's header would differ from Σ successes + Σ failures: nothing is written."""

    code = "DISBURSEMENT_BATCH_UNBALANCED"
    http_status = 409
    message_zh = "批次表头笔数金额与成功、失败合计不符，未入账"
    message_en = "The batch header does not equal the successes plus the failures; nothing was posted"


class ReturnPending(DomainError):
    code = "DISBURSEMENT_RETURN_PENDING"
    http_status = 409
    message_zh = "银行尚未返回回盘文件，请稍后继续"
    message_en = "The bank has not returned the file yet; resume the run later"


class ReturnChanged(Conflict):
    code = "DISBURSEMENT_RETURN_CHANGED"
    message_zh = "银行再次提供的回盘文件与已核对的不同，拒绝处理"
    message_en = "The bank's return file differs from the one already verified; refused"


class ReissueNotFound(NotFound):
    code = "BENEFIT_REISSUE_NOT_FOUND"
    message_zh = "退票记录不存在"
    message_en = "No such failed payment in the re-issue queue"


class ReissueState(Conflict):
    code = "BENEFIT_REISSUE_STATE"
    message_zh = "退票记录当前状态不允许此操作"
    message_en = "The failed payment is not in a state that allows this"


class MonthRunBusy(Conflict):
    code = "FUNDS_MONTH_RUN_BUSY"
    message_zh = "该月发放正在由另一进程处理"
    message_en = "Another process is running this month"


class MonthOutOfOrder(Conflict):
    code = "FUNDS_MONTH_OUT_OF_ORDER"
    message_zh = "月度发放须按月连续进行，请先处理之前的月份"
    message_en = "Months are run in order; run the months before this one first"


class AmountMonthRun(ValidationFailed):
    code = "BENEFIT_AMOUNT_MONTH_RUN"
    message_zh = "该月待遇已发放，不能追溯调整金额；请走重发/更正流程"
    message_en = "That month has been run: its amount cannot change; correct it through re-issue / correction"


class CertificationNotNeeded(Conflict):
    code = "BENEFIT_CERTIFICATION_NOT_NEEDED"
    message_zh = "您目前没有需要资格认证的养老或工伤待遇"
    message_en = "You receive no pension or work-injury benefit that needs a certification"
