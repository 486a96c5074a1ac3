"""Authentication errors (``PermissionDenied``, the authorisation error, is in ``sscard.access``)."""

from sscard.errors import Conflict, DomainError, NotFound


class AuthenticationFailed(DomainError):
    code = "AUTH_FAILED"
    http_status = 401
    # One answer for an unknown user, a wrong password, a disabled or a temporarily locked account.
    message_zh = "用户名或密码错误、账号暂时锁定，或令牌无效；请稍后再试或联系主管"
    message_en = ("Wrong user name or password, a temporarily locked account, or an invalid token; "
                  "try again later or ask a supervisor")


class OperatorLocked(DomainError):
    code = "OPERATOR_LOCKED"
    http_status = 403
    message_zh = "操作员账号已锁定或停用"
    message_en = "The operator account is locked or disabled"


class OperatorExists(Conflict):
    code = "OPERATOR_EXISTS"
    message_zh = "操作员用户名已存在"
    message_en = "An operator with this user name exists"


class OutletExists(Conflict):
    code = "OUTLET_EXISTS"
    message_zh = "网点编码已存在"
    message_en = "An outlet with this code exists"


class OperatorNotFound(NotFound):
    code = "OPERATOR_NOT_FOUND"
    message_zh = "操作员不存在"
    message_en = "Operator not found"


class OutletNotFound(NotFound):
    code = "OUTLET_NOT_FOUND"
    message_zh = "网点不存在"
    message_en = "Outlet not found"


class WeakPassword(DomainError):
    code = "WEAK_PASSWORD"
    http_status = 422
    message_zh = "密码太弱：长度不足（见策略 auth.min_password_length）、过于常见、含用户名或字符单一"
    message_en = ("The password is too weak: too short (policy auth.min_password_length), too common, "
                  "containing the user name, or too few different characters")


class TotpRequired(DomainError):
    code = "TOTP_REQUIRED"
    http_status = 401
    message_zh = "此账号已启用动态验证码，请同时提供 6 位验证码"
    message_en = "This account has a second factor: send the 6-digit one-time code as well"


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
