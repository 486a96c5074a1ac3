"""Authentication and authorisation errors."""

from sscard.errors import Conflict, DomainError, NotFound


class AuthenticationFailed(DomainError):
    code = "AUTH_FAILED"
    http_status = 401
    message_zh = "用户名或密码错误，或令牌无效"
    message_en = "Wrong user name or password, or an invalid token"


class OperatorLocked(DomainError):
    code = "OPERATOR_LOCKED"
    http_status = 403
    message_zh = "操作员账号已锁定或停用"
    message_en = "The operator account is locked or disabled"


class PermissionDenied(DomainError):
    code = "PERMISSION_DENIED"
    http_status = 403
    message_zh = "当前角色无权执行此操作"
    message_en = "Your role is not allowed to do this"


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
    message_zh = "密码太短（至少 8 位）"
    message_en = "The password is too short (at least 8 characters)"
