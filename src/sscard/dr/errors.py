"""Errors of the disaster-recovery reports."""

from __future__ import annotations

from sscard.errors import DomainError


class ToolAnswerInvalid(DomainError):
    """Patroni's REST API or ``pgbackrest info`` answered something that is not the documented shape."""

    code = "DR_TOOL_ANSWER_INVALID"
    http_status = 502
    message_zh = "容灾组件返回的内容无法识别"
    message_en = "A disaster-recovery tool answered something that is not in its documented format"
