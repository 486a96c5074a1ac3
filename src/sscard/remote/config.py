"""Where this centre stands in cross-region settlement (env ``SSCARD_REMOTE_*``) and the hub's own settings
(env ``SSCARD_HUB_*``), docs/cross-region.md.

Time bound: a hospital's settlement with a card of another 统筹区 is answered within ``deadline_seconds``
(default 5 s): the centre sends to the hub with a per-attempt timeout of ``attempt_seconds`` (default 2 s) and
asks again with the same message id while the deadline allows; then ``REMOTE_CENTRE_UNAVAILABLE``. The hub's
own forward timeout (``SSCARD_HUB_FORWARD_SECONDS``, default 1.5 s) is shorter than an attempt, so the hub
answers "unavailable" before the centre gives up on it."""

from __future__ import annotations

import re

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REGION_RE = re.compile(r"[1-9][0-9]{5}")  # 统筹区 code (GB/T 2260 prefecture), e.g. 441800 清远市
HUB_REGION = "440000"  # the provincial platform (广东省) signs under city:440000<centre>


class RemoteSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SSCARD_REMOTE_", env_file=".env", extra="ignore")

    region: str = "441800"
    region_name: str = "清远市"
    hub_url: str = ""  # the provincial hub's base URL; empty: no cross-region settlement
    hub_region: str = HUB_REGION
    attempt_seconds: float = Field(default=2.0, gt=0, le=60)
    deadline_seconds: float = Field(default=5.0, gt=0, le=120)
    bank_code: str = "ICBC"  # the clearing is paid through this bank
    account_no: str = "SIF441800"  # this centre's fund account at that bank (清算户)
    account_name: str = "清远市医疗保险基金"

    @field_validator("region", "hub_region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not REGION_RE.fullmatch(value):
            raise ValueError("a six-digit 统筹区 code")
        return value


class HubSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SSCARD_HUB_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./var/hub.db"
    region: str = HUB_REGION
    forward_seconds: float = Field(default=1.5, gt=0, le=60)
    # centres registered at start: {"441800": {"name": "清远市", "url": "http://…"}, …} (also `sscard hub register`)
    centres: dict[str, dict[str, str]] = Field(default_factory=dict)
    # the token of the hub's administration routes (clearing, the reconciliation queue): `Authorization: Bearer
    # <token>`; unset, only the documented DEMO_ADMIN_TOKEN works, and only outside production mode
    admin_token: str = Field(default="", repr=False)


DEMO_ADMIN_TOKEN = "sscard-demo-hub-admin"  # public (docs/cross-region.md): dev and demo modes only
