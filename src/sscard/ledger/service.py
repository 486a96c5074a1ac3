"""The ledger's use cases, all inside the caller's transaction: other domains call this module only.

Every function takes the caller's ``Session`` and never commits: a settlement, a contribution or a fee writes
its business record and its transfer in one transaction (invariant 2). A ``DomainError`` from here is raised
before anything is written, except for the one race documented in ``transfers``; either way the caller's
unit of work rolls back on it.

The code lives by concept: accounts (``sscard.ledger.accounts``), which accounts the platform keeps
(``sscard.ledger.chart``), the posting rules every writer applies (``sscard.ledger.rules``), transfers and
pending post/void (``sscard.ledger.posting``, with PostgreSQL's statements in ``sscard.ledger.hot``), bulk
posting (``sscard.ledger.bulk``) and reads (``sscard.ledger.reads``).
"""

from __future__ import annotations

from sscard.ledger.accounts import balance, create_account, get_or_create_account
from sscard.ledger.posting import post_pending, transfer, transfers, void_pending
from sscard.ledger.reads import accounts_not_matching_journal, check_zero_sum, history, lookup_transfer, posted_from
from sscard.ledger.rules import MAX_BATCH, TOTAL_MAX

__all__ = [
    "MAX_BATCH",
    "TOTAL_MAX",
    "accounts_not_matching_journal",
    "balance",
    "check_zero_sum",
    "create_account",
    "get_or_create_account",
    "history",
    "lookup_transfer",
    "post_pending",
    "posted_from",
    "transfer",
    "transfers",
    "void_pending",
]
