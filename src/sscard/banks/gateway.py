"""The one interface to a cooperating bank (``BankGateway``), its per-bank configuration and ``gateway_for``.

Public contract (names are stable; the funds packages code against them):

- ``BankGateway`` protocol, per bank:
  ``submit(batch_file: bytes) -> str`` hands a batch file (``sscard.banks.files``) to the bank and returns its
  handle; submitting the same file again returns the same handle and applies nothing twice (a crash between
  submit and recording the handle is safe); another file under a used batch id is ``BANK_BATCH_CONFLICT``; a
  defective file raises ``BankFileRejected``.
  ``fetch_return(handle) -> bytes | None`` is the return file, or None while the bank is still working.
  ``account_status(account_no) -> AccountStatus``; ``debit(account_no, name, amount, ref) -> CallResult`` and
  ``credit(...)`` are real-time single movements, idempotent by ``ref`` (a retry returns the first result).
- ``AccountState`` (normal | frozen | closed | lost), ``AccountStatus``, ``CallResult`` (``ok`` + ``reason``, a
  ``sscard.banks.files.Reason`` value when refused).
- ``BankSettings`` (env ``SSCARD_BANK_*``): ``mode`` embedded | http, ``url`` of the loopback simulated bank
  service, per-bank overrides ``modes`` / ``urls`` (JSON, e.g. ``SSCARD_BANK_URLS='{"ICBC": "http://127.0.0.1:8766"}'``).
- ``gateway_for(bank_code, settings=None, db=None) -> BankGateway``: the embedded simulated bank (default; it
  keeps its state in the ``simbank_*`` tables of ``db``) or the HTTP client of the loopback service.

The protocol and its value types are defined in ``sscard.banks.protocol`` (re-exported here), which both
implementations import: this module chooses between them, so they must not import it back.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from sscard.banks.errors import BankUnknown
from sscard.banks.files import Reason
from sscard.banks.protocol import AccountState, AccountStatus, BankGateway, CallResult
from sscard.db import Database

__all__ = ["AccountState", "AccountStatus", "BankGateway", "BankSettings", "CallResult", "Reason", "gateway_for"]


class BankSettings(BaseSettings):
    """How to reach each bank. Default: every bank is the embedded simulated bank in the main database."""

    model_config = SettingsConfigDict(env_prefix="SSCARD_BANK_", env_file=".env", extra="ignore")

    mode: str = "embedded"  # embedded | http
    url: str = "http://127.0.0.1:8765"  # the loopback simulated bank (``sscard bank serve``)
    modes: dict[str, str] = Field(default_factory=dict)  # per bank code: embedded | http
    urls: dict[str, str] = Field(default_factory=dict)  # per bank code: base URL
    timeout_seconds: float = 300.0  # a million-line file takes seconds; leave room on a loaded machine

    def mode_for(self, bank_code: str) -> str:
        return self.modes.get(bank_code, self.mode)

    def url_for(self, bank_code: str) -> str:
        return self.urls.get(bank_code, self.url)


@lru_cache(maxsize=4)
def _database(url: str) -> Database:
    """One engine per URL for gateways asked for without a database (not one per call)."""
    return Database(url)


def gateway_for(bank_code: str, settings: BankSettings | None = None, db: Database | None = None) -> BankGateway:
    """The configured gateway of ``bank_code``. The embedded simulated bank needs ``db`` (the database holding
    the ``simbank_*`` tables; default: the configured main database)."""
    settings = settings or BankSettings()
    mode = settings.mode_for(bank_code)
    if mode == "http":
        from sscard.banks.http_client import HttpGateway

        return HttpGateway(bank_code, settings.url_for(bank_code), timeout=settings.timeout_seconds)
    if mode == "embedded":
        from sscard.banks.simulated import EmbeddedGateway

        if db is None:
            from sscard.config import get_settings

            db = _database(get_settings().database_url)
        return EmbeddedGateway(db, bank_code)
    raise BankUnknown(f"bank {bank_code}: mode {mode!r} is neither embedded nor http", bank=bank_code)
