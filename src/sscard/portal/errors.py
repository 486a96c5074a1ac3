"""Errors of the portal: query passwords, cardholder login and sessions, contact data, operators' TOTP."""

from sscard.errors import DomainError, ValidationFailed


class QueryPasswordInvalid(ValidationFailed):
    code = "QUERY_PASSWORD_INVALID"
    message_zh = "查询密码须为 6 至 12 位数字，且不能是同一数字或连续数字"
    message_en = "The query password must be 6 to 12 digits, not all the same digit and not a run such as 123456"


class QueryPasswordMismatch(ValidationFailed):
    code = "QUERY_PASSWORD_MISMATCH"
    message_zh = "两次输入的新密码不一致"
    message_en = "The two new passwords differ"


class PortalLoginFailed(DomainError):
    code = "PORTAL_LOGIN_FAILED"
    http_status = 401
    message_zh = "卡号/身份证号或查询密码错误（未设置查询密码的，请到柜面激活或设置）"
    message_en = ("Wrong card or ID number, or wrong query password (no query password yet? "
                  "Set one at a service counter)")


class PortalLocked(DomainError):
    code = "PORTAL_LOCKED"
    http_status = 403
    message_zh = "查询密码错误次数过多，已锁定。请持身份证到柜面重置查询密码"
    message_en = "Locked after too many wrong query passwords. Bring your ID card to a counter to reset it"


class PortalSessionInvalid(DomainError):
    code = "PORTAL_SESSION_INVALID"
    http_status = 401
    message_zh = "登录已过期，请重新登录"
    message_en = "Your session has expired; please log in again"


class CardNotForKiosk(DomainError):
    code = "KIOSK_CARD_REFUSED"
    http_status = 403
    message_zh = "此卡已挂失或注销，不能在自助终端登录；请用身份证号登录网上服务"
    message_en = "This card is reported lost or cancelled and cannot log in at a kiosk; use your ID number online"


class CardUnreadable(DomainError):
    code = "KIOSK_CARD_UNREADABLE"
    http_status = 422
    message_zh = "未能读取卡片，请确认卡片已插好后重试"
    message_en = "The card could not be read; check that it is inserted and try again"


class AddressInvalid(ValidationFailed):
    code = "ADDRESS_INVALID"
    message_zh = "地址须为 1 至 200 个字符，且不含控制字符"
    message_en = "The address must be 1 to 200 characters without control characters"


class TotpInvalid(DomainError):
    code = "TOTP_INVALID"
    http_status = 401
    message_zh = "动态验证码错误或已使用"
    message_en = "Wrong or already used one-time code"


class TotpNotEnrolled(DomainError):
    code = "TOTP_NOT_ENROLLED"
    http_status = 409
    message_zh = "尚未开始绑定动态验证码"
    message_en = "No one-time code enrolment has been started"
