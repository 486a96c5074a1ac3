"""The base of every domain error: a stable code, a Chinese and an English message, an HTTP status.

Interfaces map these at the edge (API → JSON 4xx, CLI → exit 2); the domain never imports HTTP.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """An expected, user-facing failure of a use case. Subclasses set ``code`` and the two messages."""

    code: ClassVar[str] = "DOMAIN_ERROR"
    http_status: ClassVar[int] = 400
    message_zh: ClassVar[str] = "业务处理失败"
    message_en: ClassVar[str] = "The operation failed"

    def __init__(self, detail: str | None = None, **context: Any) -> None:
        self.detail = detail
        self.context = context
        super().__init__(f"{self.code}: {detail or self.message_en}")

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        message = self.message_en if lang == "en" else self.message_zh
        body: dict[str, Any] = {
            "code": self.code,
            "message": message,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }
        if self.detail:
            body["detail"] = self.detail
        if self.context:
            body["context"] = {k: _jsonable(v) for k, v in self.context.items()}
        return body


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


class NotFound(DomainError):
    code = "NOT_FOUND"
    http_status = 404
    message_zh = "记录不存在"
    message_en = "Record not found"


class ValidationFailed(DomainError):
    code = "VALIDATION_ERROR"
    http_status = 422
    message_zh = "输入数据不合法"
    message_en = "The input is invalid"


class Conflict(DomainError):
    code = "CONFLICT"
    http_status = 409
    message_zh = "与现有数据冲突"
    message_en = "Conflicts with existing data"
