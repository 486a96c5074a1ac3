"""What the transition's use cases answer: an import's split, the reconciliation report, a queued card."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ImportOut(_Out):
    import_id: int
    source: str
    file_id: str
    as_of: dt.date
    encoding: str
    line_count: int
    total_fen: int
    carried_count: int
    carried_fen: int
    exception_count: int
    exception_fen: int
    accounts_opened: int
    transfers_posted: int
    audit_seq: int


class ReportOut(_Out):
    """余额核对表 of one import: the old system's totals against what the new system holds, to the fen.

    ``old_*``: the file (header = lines, checked at import). ``journal_*``: the ledger's own transfers from the
    transition account for this file (``ledger.posted_from``). ``queued_*``: cards still in the exceptions
    queue (their balances not carried yet). ``difference_fen`` = old − (journal + queued): zero when every fen
    of the old system is accounted for."""

    import_id: int
    source: str
    file_id: str
    as_of: dt.date
    imported_at: dt.datetime
    imported_by: str
    old_count: int
    old_fen: int
    carried_count: int  # cards carried (zero balances included: they need no transfer)
    carried_fen: int
    journal_transfers: int
    journal_fen: int
    queued_count: int
    queued_fen: int
    difference_fen: int
    transition_account: str
    transition_account_debit_fen: int  # every file of the source: what the new system took over from it
    by_reason: dict[str, tuple[int, int]]  # exception reason → (cards, fen)
    reconciled: bool
    generated_at: dt.datetime


class ExceptionOut(_Out):
    legacy_card_no_masked: str
    id_number_masked: str
    name_masked: str
    balance_fen: int
    reason: str
    file_id: str
    line_no: int


class ResolvedOut(_Out):
    legacy_card_no_masked: str
    person_id: int
    balance_fen: int
    transfer_id: str | None
    audit_seq: int


class WindowOut(_Out):
    opens: dt.date
    closes: dt.date  # inclusive
    open_today: bool
