"""Process configuration (pydantic-settings): database URL, secrets, server options.

Policy numbers (fees, loss periods, PIN thresholds) are *not* here: they are effective-dated rows in the
database (``sscard.policy``), because they change over time and must be auditable.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_database_url() -> str:
    return f"sqlite:///{Path('var').absolute() / 'sscard.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SSCARD_", env_file=".env", extra="ignore")

    database_url: str = Field(default_factory=_default_database_url)
    # Lifetime of an API bearer token, in seconds.
    token_ttl_seconds: int = 8 * 3600
    # Key-encryption key for master keys at rest (hex, 32 bytes for AES-256-GCM). The default is for demo
    # and tests only; production sets SSCARD_KMS_KEK_HEX from a secret store.
    kms_kek_hex: str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
    # Secret key for the HMAC that protects stored medical PINs (hex). Demo/test default; set it in production.
    pin_pepper_hex: str = "5353434152442d70696e2d7065707065722d64656d6f2d6f6e6c792d30303031"
    # Secret key of the audit chain's HMAC-SHA256 (hex, at least 32 bytes) and of the anchor checkpoints. The
    # database never holds it, so a DBA cannot recompute the chain. Demo/test default; production sets
    # SSCARD_AUDIT_KEY_HEX from a secret store, before ``sscard migrate`` (the migration seals the old chain).
    audit_key_hex: str = "5353434152442d61756469742d636861696e2d6b65792d64656d6f2d6f6e6c79"
    # Directory of the audit anchors: signed checkpoints of the chain head, one new file each, written by the
    # jobs and ``sscard audit anchor``; put it on storage the database administrators cannot rewrite (an
    # append-only or WORM mount). Unset: no anchors are written, and truncation of the tail cannot be detected.
    audit_anchor_dir: str | None = None
    # Local time zone of the bureau: business dates (fee tables, policy dates) are local dates.
    timezone: str = "Asia/Shanghai"
    log_json: bool = True
    # Threads per server process that run settlements (2207). Few: they share one interpreter lock and the pool
    # and payable rows; bench/settlement.py on 2 cores: 2 threads 542-554/s, 3 553/s, 4 521/s (A/B medians),
    # and PostgreSQL CPU per settlement 1.16-1.2 / 1.29 / 1.40 ms. More cores and workers may want more.
    settle_threads: int = Field(default=2, ge=1, le=64)
    echo_sql: bool = False


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
