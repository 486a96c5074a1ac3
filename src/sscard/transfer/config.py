"""Where this centre stands in the exchange (env ``SSCARD_TRANSFER_*``): its own city code, the partner cities it
exchanges with and their base URLs, and the bank account transfers are paid into here (docs/transfer.md)."""

from __future__ import annotations

import re

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

CITY_RE = re.compile(r"[1-9][0-9]{5}")  # a GB/T 2260 prefecture code, e.g. 441800 清远市


class TransferSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SSCARD_TRANSFER_", env_file=".env", extra="ignore")

    city: str = "441800"  # this centre's city (行政区划代码)
    city_name: str = "清远市"
    partners: dict[str, str] = Field(default_factory=dict)  # city code → base URL of its centre
    bank_code: str = "ICBC"  # the bank transfers are paid out through and into
    account_no: str = "SIF441800"  # this centre's collection account at that bank (基金收入户)
    account_name: str = "清远市社会保险基金"
    timeout_seconds: float = 30.0

    @field_validator("city")
    @classmethod
    def _city(cls, value: str) -> str:
        if not CITY_RE.fullmatch(value):
            raise ValueError("a six-digit city code")
        return value

    @field_validator("partners")
    @classmethod
    def _partners(cls, value: dict[str, str]) -> dict[str, str]:
        for code, url in value.items():
            if not CITY_RE.fullmatch(code) or not url.startswith(("http://", "https://")):
                raise ValueError(f"partner {code!r}: a six-digit city code and an http(s) URL")
        return value
