"""Card lifecycle errors, each with a stable code."""

from sscard.errors import Conflict, NotFound, ValidationFailed


class CardNotFound(NotFound):
    code = "CARD_NOT_FOUND"
    message_zh = "卡不存在"
    message_en = "Card not found"


class ApplicationNotFound(NotFound):
    code = "APPLICATION_NOT_FOUND"
    message_zh = "申领记录不存在"
    message_en = "Application not found"


class CardStateInvalid(Conflict):
    """The operation is not allowed in the card's current application status."""

    code = "CARD_STATE_INVALID"
    message_zh = "卡当前状态不允许此操作"
    message_en = "The card's current status does not allow this operation"


class CardNotIssued(Conflict):
    code = "CARD_NOT_ISSUED"
    message_zh = "卡尚未发放（仍在制作中）"
    message_en = "The card has not been issued yet (still in production)"


class ProductionTransitionInvalid(Conflict):
    code = "PRODUCTION_TRANSITION_INVALID"
    message_zh = "制卡状态不允许此变更"
    message_en = "This production status change is not allowed"


class CardNotAtOutlet(Conflict):
    code = "CARD_NOT_AT_OUTLET"
    message_zh = "卡未到达本网点，不能领卡"
    message_en = "The card is not at this outlet and cannot be picked up here"


class CardAlreadyHeld(Conflict):
    code = "CARD_ALREADY_HELD"
    message_zh = "该人员已持有有效社会保障卡（一人一卡）"
    message_en = "The person already holds a valid card (one person, one card)"


class ApplicationPending(Conflict):
    code = "APPLICATION_PENDING"
    message_zh = "该人员已有办理中的申领"
    message_en = "The person already has an application in progress"


class ReplacementRequested(Conflict):
    code = "REPLACEMENT_REQUESTED"
    message_zh = "已申请补卡，不能解除挂失"
    message_en = "A replacement has been requested; the loss can no longer be lifted"


class FormalLossRequired(Conflict):
    code = "FORMAL_LOSS_REQUIRED"
    message_zh = "补卡前须先办理正式挂失"
    message_en = "A replacement needs a formal loss report first"


class PinFormatInvalid(ValidationFailed):
    code = "PIN_FORMAT_INVALID"
    message_zh = "密码须为 6 位数字"
    message_en = "The PIN must be 6 digits"


class PinTooWeak(ValidationFailed):
    code = "PIN_TOO_WEAK"
    message_zh = "不能使用初始密码 123456"
    message_en = "The initial PIN 123456 may not be used"


class CardLocked(Conflict):
    code = "CARD_LOCKED"
    message_zh = "密码错误次数过多，卡应用已锁定"
    message_en = "Too many wrong PINs: the card application is locked"


class CancelReasonInvalid(ValidationFailed):
    code = "CANCEL_REASON_INVALID"
    message_zh = "注销原因须为死亡、出境定居或转出"
    message_en = "Cancellation reason must be death, emigration or transfer out"


class EmployerCodeInvalid(ValidationFailed):
    code = "EMPLOYER_CODE_INVALID"
    message_zh = "统一社会信用代码无效"
    message_en = "The unified social credit code is invalid"


class IdempotencyMismatch(Conflict):
    code = "IDEMPOTENCY_KEY_REUSED"
    message_zh = "幂等键已用于不同的请求"
    message_en = "The idempotency key was already used for a different request"


class BulkTooLarge(ValidationFailed):
    code = "BULK_TOO_LARGE"
    message_zh = "批量申领一次最多 5000 人"
    message_en = "A bulk application takes at most 5,000 persons"


class CardNotOfPerson(Conflict):
    code = "CARD_NOT_OF_PERSON"
    message_zh = "该卡不属于当前办理业务的人员"
    message_en = "The card does not belong to the person being served"
