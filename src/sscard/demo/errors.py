"""Errors of the demo seed."""

from __future__ import annotations

from sscard.errors import DomainError


class NotADemoDatabase(DomainError):
    code = "NOT_A_DEMO_DATABASE"
    http_status = 409
    message_zh = "该数据库不是由 sscard demo 创建的，拒绝写入演示账号"
    message_en = "This database was not created by `sscard demo`; demo operators are not written into it"
