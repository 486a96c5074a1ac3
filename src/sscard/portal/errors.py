"""Errors of the portal: query passwords, cardholder login and sessions, contact data."""

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
    # One answer for an unknown card or ID number, a wrong query password and a temporarily locked login.
    code = "PORTAL_LOGIN_FAILED"
    http_status = 401
    message_zh = ("卡号/身份证号或查询密码错误，或错误次数过多已暂时锁定，请稍后再试"
                  "（未设置或忘记查询密码的，请持身份证到柜面设置或重置）")
    message_en = ("Wrong card or ID number or query password, or temporarily locked after too many wrong "
                  "tries; try again later (no or a forgotten query password? Bring your ID card to a counter)")


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
