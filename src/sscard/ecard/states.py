"""The e-card's status and how it follows the chip card's (the state machine as data, in one place).

The card package tells its e-card what the chip card's status now means (``CardSignal``); the e-card never reads
card tables. ``ENDED`` is final: a new card of the same person gets a new e-card when the holder activates it."""

from __future__ import annotations

import enum


class EcardStatus(enum.StrEnum):
    ACTIVE = "active"  # 正常: codes are issued and verify
    SUSPENDED = "suspended"  # 暂停: the card is lost, or a new card is not yet activated
    ENDED = "ended"  # 注销: the card was cancelled (death, emigration, transfer out)


class CardSignal(enum.StrEnum):
    """What a change of the chip card's application status means for its e-card."""

    IN_USE = "in_use"  # 正常 or PIN-locked (应用锁定): the holder has a working card
    NOT_IN_USE = "not_in_use"  # temporarily or formally lost, or sealed (a new card not yet activated)
    ENDED = "ended"  # cancelled


ES = EcardStatus
# operation → {from: to}; a missing "from" is refused with ECARD_STATE_INVALID (or, for a code, ECARD_CODE_REVOKED).
EDGES: dict[str, dict[EcardStatus, EcardStatus]] = {
    CardSignal.IN_USE.value: {ES.ACTIVE: ES.ACTIVE, ES.SUSPENDED: ES.ACTIVE},
    CardSignal.NOT_IN_USE.value: {ES.ACTIVE: ES.SUSPENDED, ES.SUSPENDED: ES.SUSPENDED},
    CardSignal.ENDED.value: {ES.ACTIVE: ES.ENDED, ES.SUSPENDED: ES.ENDED},
    # a replacement or exchange card picked up: the e-card moves to it and waits for its activation
    "move_to_new_card": {ES.ACTIVE: ES.SUSPENDED, ES.SUSPENDED: ES.SUSPENDED},
    "issue_code": {ES.ACTIVE: ES.ACTIVE},
    "add_family_member": {ES.ACTIVE: ES.ACTIVE, ES.SUSPENDED: ES.SUSPENDED},
}
LIVE = frozenset({ES.ACTIVE, ES.SUSPENDED})
