"""Process configuration (pydantic-settings): database URL, secrets, server options, the run mode.

Policy numbers (fees, loss periods, PIN thresholds) are *not* here: they are effective-dated rows in the
database (``sscard.policy``), because they change over time and must be auditable.

The run mode (``SSCARD_MODE``) is ``production`` unless set: then every secret must be set, hex, long enough and
not one of the public defaults below, or the process refuses to start (``require_safe``, exit status 2 in the
CLI). ``demo`` (``make demo``) and ``dev`` (the test suite, a developer's machine) accept the public defaults.
"""

from __future__ import annotations

import secrets
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_database_url() -> str:
    return f"sqlite:///{Path('var').absolute() / 'sscard.db'}"


class Mode(StrEnum):
    PRODUCTION = "production"
    DEMO = "demo"
    DEV = "dev"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SSCARD_", env_file=".env", extra="ignore")

    # production (the default) refuses public, empty or short secrets; demo and dev accept the public defaults.
    mode: Mode = Mode.PRODUCTION
    database_url: str = Field(default_factory=_default_database_url)
    # Lifetime of an API bearer token, in seconds.
    token_ttl_seconds: int = 8 * 3600
    # Key-encryption key for master keys at rest (hex, 32 bytes for AES-256-GCM). The default is public, for
    # demo and tests only; production sets SSCARD_KMS_KEK_HEX from a secret store.
    kms_kek_hex: str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
    # Secret key for the HMAC that protects stored medical PINs (hex). Public demo/test default.
    pin_pepper_hex: str = "5353434152442d70696e2d7065707065722d64656d6f2d6f6e6c792d30303031"
    # Secret key of the audit chain's HMAC-SHA256 (hex, at least 32 bytes) and of the anchor checkpoints. The
    # database never holds it, so a DBA cannot recompute the chain. Demo/test default; production sets
    # SSCARD_AUDIT_KEY_HEX from a secret store, before ``sscard migrate`` (the migration seals the old chain).
    audit_key_hex: str = "5353434152442d61756469742d636861696e2d6b65792d64656d6f2d6f6e6c79"
    # Directory of the audit anchors: signed checkpoints of the chain head, one new file each, written by the
    # jobs and ``sscard audit anchor``; put it on storage the database administrators cannot rewrite (an
    # append-only or WORM mount). Unset: no anchors are written, and truncation of the tail cannot be detected.
    audit_anchor_dir: str | None = None
    # Key for signed cookies, CSRF-bound values and person references (hex, >= 32 bytes). Empty: a random key
    # per process, allowed in demo/dev only (every worker would have its own).
    web_secret_hex: str = ""
    # Local time zone of the bureau: business dates (fee tables, policy dates) are local dates.
    timezone: str = "Asia/Shanghai"
    photo_dir: Path = Path("var/photos")  # the collected photos (the collection import's photo directory)
    log_json: bool = True
    # Threads per server process that run settlements (2207). Few: they share one interpreter lock and the pool
    # and payable rows; bench/settlement.py on 2 cores: 2 threads 542-554/s, 3 553/s, 4 521/s (A/B medians),
    # and PostgreSQL CPU per settlement 1.16-1.2 / 1.29 / 1.40 ms. More cores and workers may want more.
    settle_threads: int = Field(default=2, ge=1, le=64)
    echo_sql: bool = False
    # Request body limits in bytes, checked before a body is parsed (Content-Length and streamed bodies):
    # JSON bodies, the settlement messages (bills with many lines) and file uploads/imports.
    max_json_bytes: int = Field(default=1 << 20, ge=1024)
    max_settlement_bytes: int = Field(default=4 << 20, ge=1024)
    max_upload_bytes: int = Field(default=64 << 20, ge=1024)


# Every secret the process holds, as Settings field names. A field missing from Settings (added by a later
# change) is skipped; each is checked the same way: hex, at least MIN_SECRET_BYTES, not the public default.
SECRET_FIELDS = ("kms_kek_hex", "pin_pepper_hex", "web_secret_hex", "audit_key_hex")
MIN_SECRET_BYTES = 32
EXACT_BYTES = {"kms_kek_hex": 32}  # AES-256-GCM
# Fewer distinct byte values than this in a 32-byte key is not random (00…00, abab…ab, a counting pattern).
MIN_DISTINCT_BYTES = 12


class InsecureSettings(RuntimeError):
    """The process must not start with these settings; the message names each variable and what is wrong."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("refusing to start: " + "; ".join(problems))


def env_name(field: str) -> str:
    return f"SSCARD_{field.upper()}"


def _public_default(field: str) -> str | None:
    info = Settings.model_fields.get(field)
    default = None if info is None else info.default
    return default if isinstance(default, str) and default else None


def secret_problem(field: str, value: str, strict: bool = True) -> str | None:
    """What is wrong with one secret (None if nothing). ``strict`` (production): empty, the public default,
    short or patterned values are refused too; otherwise only a value that cannot work (not hex, wrong size)."""
    name = env_name(field)
    if not value:
        return f"{name} is not set (empty)" if strict else None
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        return f"{name} is not hex"
    exact = EXACT_BYTES.get(field)
    if exact is not None and len(raw) != exact:
        return f"{name} must be {exact} bytes ({exact * 2} hex digits), got {len(raw)}"
    if not strict:
        return None
    if value.lower() == (_public_default(field) or "").lower():
        return f"{name} is the public default from the source code"
    if len(raw) < MIN_SECRET_BYTES:
        return f"{name} is too short: {len(raw)} bytes, at least {MIN_SECRET_BYTES} needed"
    if len(set(raw)) < MIN_DISTINCT_BYTES:
        return f"{name} is not random (only {len(set(raw))} distinct byte values)"
    return None


def secret_problems(settings: Settings, strict: bool | None = None) -> list[str]:
    """Problems of every secret; ``strict`` defaults to the mode (production strict, demo/dev lenient)."""
    if strict is None:
        strict = settings.mode is Mode.PRODUCTION
    problems = []
    for field in SECRET_FIELDS:
        if field not in type(settings).model_fields:
            continue
        problem = secret_problem(field, str(getattr(settings, field) or ""), strict)
        if problem:
            problems.append(problem)
    return problems


def require_safe(settings: Settings | None = None) -> Settings:
    """The settings, if the process may start with them; otherwise ``InsecureSettings``."""
    settings = settings or get_settings()
    problems = secret_problems(settings)
    if problems:
        if settings.mode is Mode.PRODUCTION:
            problems.append("set each from a secret store (e.g. `python -c 'import secrets; "
                            "print(secrets.token_hex(32))'`), or SSCARD_MODE=demo / SSCARD_MODE=dev on a "
                            "machine with no real data")
        raise InsecureSettings(problems)
    return settings


def web_secret(settings: Settings | None = None) -> bytes:
    """The web key: SSCARD_WEB_SECRET_HEX; unset in demo/dev, a random key for this process."""
    settings = settings or get_settings()
    problem = secret_problem("web_secret_hex", settings.web_secret_hex, settings.mode is Mode.PRODUCTION)
    if problem:
        raise InsecureSettings([problem])
    return bytes.fromhex(settings.web_secret_hex) if settings.web_secret_hex else secrets.token_bytes(32)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
