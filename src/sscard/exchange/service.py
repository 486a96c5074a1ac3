"""The exchange package's use cases in one place for callers (``from sscard.exchange import service as exchange``):
the catalogue, departments, keys and agreements (``admin``), a department's signed requests (``serving``),
subscriptions through the outbox (``outbox``) and transparency (``reports``)."""

from __future__ import annotations

from sscard.exchange.admin import (
    approve,
    catalogue,
    create_department,
    get_agreement,
    issue_key,
    list_agreements,
    list_departments,
    list_keys,
    reject,
    request_agreement,
    revoke,
    revoke_key,
    set_endpoint,
)
from sscard.exchange.outbox import deliver, emit_in, outbox_rows
from sscard.exchange.reports import holder_uses, usage_report
from sscard.exchange.serving import (
    Granted,
    SignedRequest,
    bulk_answer,
    bulk_start,
    grant_for_department,
    purge_nonces,
    query,
    refuse_bulk,
    verify,
    verify_many,
)

__all__ = [
    "Granted",
    "SignedRequest",
    "approve",
    "bulk_answer",
    "bulk_start",
    "catalogue",
    "create_department",
    "deliver",
    "emit_in",
    "get_agreement",
    "grant_for_department",
    "holder_uses",
    "issue_key",
    "list_agreements",
    "list_departments",
    "list_keys",
    "outbox_rows",
    "purge_nonces",
    "query",
    "refuse_bulk",
    "reject",
    "request_agreement",
    "revoke",
    "revoke_key",
    "set_endpoint",
    "usage_report",
    "verify",
    "verify_many",
]
