"""The card package's use cases, in one place for callers: each public function is one transaction (``…_in``:
inside the caller's), checks the actor's permission, and audits; what it changed carries the record's
``audit_seq``.

The use cases live by concept — ``issuance`` (applications), ``handover`` (production steps and pickup),
``lifecycle`` (activation, losses, unlocking, cancellation), ``pins`` (the medical PIN), ``queries`` (reads)
— on the helpers in ``records``; state rules live in ``states`` and what a card offers in ``operations``.
This module only gathers them, so that ``from sscard.cards import service as cards`` keeps serving every caller.
"""

from __future__ import annotations

from sscard.cards.handover import advance_production, advance_production_batch, at_outlet_of, pick_up
from sscard.cards.issuance import (
    Applied,
    apply_bulk,
    apply_bulk_in,
    apply_data_change_exchange_in,
    apply_exchange,
    apply_for_holder_in,
    apply_new,
    apply_new_in,
    apply_replacement,
    quote_fee,
)
from sscard.cards.lifecycle import (
    activate,
    activate_in,
    cancel,
    cancel_in,
    cancel_person_cards_in,
    lapse_temporary_losses,
    lift_loss,
    lift_own_temporary_loss,
    report_formal_loss,
    report_temporary_loss,
    unlock,
)
from sscard.cards.pins import PinCheck, change_own_pin, change_pin, verify_pin, verify_pin_at_settlement
from sscard.cards.queries import cards_of_person, get_card, require_holder
from sscard.cards.records import on_status_change, valid_card_of, valid_card_statuses_of, valid_cards_of_persons

__all__ = [
    "Applied",
    "PinCheck",
    "activate",
    "activate_in",
    "advance_production",
    "advance_production_batch",
    "apply_bulk",
    "apply_bulk_in",
    "apply_data_change_exchange_in",
    "apply_exchange",
    "apply_for_holder_in",
    "apply_new",
    "apply_new_in",
    "apply_replacement",
    "at_outlet_of",
    "cancel",
    "cancel_in",
    "cancel_person_cards_in",
    "cards_of_person",
    "change_own_pin",
    "change_pin",
    "get_card",
    "lapse_temporary_losses",
    "lift_loss",
    "lift_own_temporary_loss",
    "on_status_change",
    "pick_up",
    "quote_fee",
    "report_formal_loss",
    "report_temporary_loss",
    "require_holder",
    "unlock",
    "valid_card_of",
    "valid_card_statuses_of",
    "valid_cards_of_persons",
    "verify_pin",
    "verify_pin_at_settlement",
]
