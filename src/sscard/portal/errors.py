"""Errors of the portal: query passwords, cardholder login and sessions, contact data."""

from sscard.errors import DomainError, NotFound, ValidationFailed


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
    message_zh = ("此卡已挂失、注销或尚未激活，不能在自助终端使用。请取走您的卡片，到服务窗口办理，"
                  "或用身份证号登录网上服务")
    message_en = ("This card is reported lost, cancelled or not activated and cannot be used at a kiosk. Please "
                  "take your card, and go to a service counter or log in online with your ID number")


class CardUnreadable(DomainError):
    code = "KIOSK_CARD_UNREADABLE"
    http_status = 422
    message_zh = "未能读取卡片，请确认卡片已插好后重试"
    message_en = "The card could not be read; check that it is inserted and try again"


class AddressInvalid(ValidationFailed):
    code = "ADDRESS_INVALID"
    message_zh = "地址须为 1 至 200 个字符，且不含控制字符"
    message_en = "The address must be 1 to 200 characters without control characters"


class KioskLoginFailed(PortalLoginFailed):
    # The same code as online; the words match what the kiosk did: it read the card, the holder typed only the
    # password.
    message_zh = ("查询密码错误，或错误次数过多已暂时锁定，请稍后再试"
                  "（忘记查询密码的，请持身份证和社保卡到服务窗口重置）")
    message_en = ("Wrong query password for this card, or temporarily locked after too many wrong tries; try again "
                  "later (forgotten it? Bring your ID card and this card to a service counter)")


class CertificateNotFound(NotFound):
    # One answer for a malformed, an unknown and a mistyped code: the public page is no oracle.
    code = "CERTIFICATE_NOT_FOUND"
    message_zh = "未找到此验证码对应的证明，请核对验证码"
    message_en = "No certificate has this verification code; check the code"


class CertificateKindInvalid(ValidationFailed):
    code = "CERTIFICATE_KIND_INVALID"
    message_zh = "请选择要打印的证明种类"
    message_en = "Choose which certificate to print"


class CardOrderInvalid(ValidationFailed):
    code = "CARD_ORDER_INVALID"
    message_zh = "请选择补换卡的种类，并填写邮寄地址或选择领卡网点"
    message_en = "Choose what card to order, and give a mailing address or choose the outlet to collect it at"


class OutletUnknown(ValidationFailed):
    code = "CARD_ORDER_OUTLET_UNKNOWN"
    message_zh = "请从列表中选择领卡网点"
    message_en = "Choose the outlet from the list"
