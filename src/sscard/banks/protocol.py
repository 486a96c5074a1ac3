"""What a bank gateway is (``BankGateway``) and the values it answers with; ``sscard.banks.gateway`` documents
the contract and chooses the implementation (embedded simulated bank or HTTP client), which import this module.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from sscard.banks.files import Reason

__all__ = ["AccountState", "AccountStatus", "BankGateway", "CallResult"]


class AccountState(enum.StrEnum):
    NORMAL = "normal"  # 正常
    FROZEN = "frozen"  # 冻结
    CLOSED = "closed"  # 销户
    LOST = "lost"  # 挂失


@dataclass(frozen=True, slots=True)
class AccountStatus:
    bank_code: str
    account_no: str
    exists: bool
    state: AccountState | None = None  # None when the account does not exist
    financial_activated: bool = False
    holder_name: str | None = None


@dataclass(frozen=True, slots=True)
class CallResult:
    ok: bool
    ref: str
    reason: Reason | None = None  # why the bank refused (None when ok)
    replayed: bool = False  # True when ``ref`` had been seen: the first answer, nothing moved again


@runtime_checkable
class BankGateway(Protocol):
    bank_code: str

    def submit(self, batch_file: bytes) -> str: ...

    def fetch_return(self, handle: str) -> bytes | None: ...

    def account_status(self, account_no: str) -> AccountStatus: ...

    def debit(self, account_no: str, name: str, amount: int, ref: str) -> CallResult: ...

    def credit(self, account_no: str, name: str, amount: int, ref: str) -> CallResult: ...
