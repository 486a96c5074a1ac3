"""Security commands: GET CHALLENGE, EXTERNAL/INTERNAL AUTHENTICATE, VERIFY, CHANGE PIN and RELOAD PIN."""

from __future__ import annotations

import secrets

from sscard.chip import apdu as sw
from sscard.chip import secure
from sscard.chip.apdu import CardError, Command
from sscard.chip.cmd_pboc import in_debit_application, issuer_authenticate
from sscard.chip.cos import VirtualCard, register
from sscard.chip.fs import Key, Pin
from sscard.crypto import diversify


@register(0x84, {0x00})
def get_challenge(card: VirtualCard, cmd: Command) -> bytes:
    if cmd.p1 or cmd.p2:
        raise CardError(sw.SW_WRONG_P1P2)
    if cmd.data or cmd.le not in (4, 8, 16):
        raise CardError(sw.SW_WRONG_LENGTH)
    card.challenge = secrets.token_bytes(cmd.le)
    return card.challenge


def _key(card: VirtualCard, kid: int, usage: str) -> Key:
    key = card.current_df.find_key(kid)
    if key is None or key.usage != usage:
        raise CardError(sw.SW_REF_NOT_FOUND)
    if key.tries_left == 0:
        raise CardError(sw.SW_BLOCKED)
    return key


@register(0x82, {0x00})
def external_authenticate(card: VirtualCard, cmd: Command) -> bytes:
    if in_debit_application(card):  # issuer authentication: the bank's ARPC for the last ARQC
        return issuer_authenticate(card, cmd)
    if cmd.p1 != 0:
        raise CardError(sw.SW_WRONG_P1P2)
    key = _key(card, cmd.p2, "ext_auth")
    if len(cmd.data) != secure.block_size(key.algorithm):
        raise CardError(sw.SW_WRONG_LENGTH)
    if card.challenge is None:
        raise CardError(sw.SW_RANDOM_INVALID)
    env = card.env_fid
    if env is None:
        raise CardError(sw.SW_CONDITIONS)
    if cmd.data != secure.auth_cryptogram(key.algorithm, key.value, card.challenge):
        key.tries_left -= 1
        raise CardError(sw.SW_BLOCKED if key.tries_left == 0 else sw.sw_tries_left(key.tries_left))
    key.tries_left = key.max_tries
    card.state.keys.add((env, cmd.p2))
    return b""


@register(0x88, {0x00})
def internal_authenticate(card: VirtualCard, cmd: Command) -> bytes:
    """Data = [8-byte process factor ‖] one block of terminal random; answer E_K(block), where K is the IRK
    or, with a factor, the IRK diversified by it."""
    if cmd.p1 != 0:
        raise CardError(sw.SW_WRONG_P1P2)
    key = _key(card, cmd.p2, "int_auth")
    size = secure.block_size(key.algorithm)
    if len(cmd.data) == size:
        return secure.encrypt(key.algorithm, key.value, cmd.data)
    if len(cmd.data) == 8 + size:
        session = diversify(key.value, cmd.data[:8], key.algorithm)
        return secure.encrypt(key.algorithm, session, cmd.data[8:])
    raise CardError(sw.SW_WRONG_LENGTH)


def _pin(card: VirtualCard, ref: int) -> Pin:
    pin = card.current_df.find_pin(ref)
    if pin is None:
        raise CardError(sw.SW_REF_NOT_FOUND)
    return pin


def _parse_pin(data: bytes, ref: int) -> str:
    if ref == 0x80 and len(data) == 8 and data[0] >> 4 == 0x2:  # ISO 9564 format-2 plaintext PIN block
        n = data[0] & 0x0F
        digits = data[1:].hex().upper()
        if not 4 <= n <= 12 or not digits[:n].isdigit() or set(digits[n:]) - {"F"}:
            raise CardError(sw.SW_WRONG_DATA)
        return digits[:n]
    pin = secure.bcd_to_pin(data)
    if pin is None:
        raise CardError(sw.SW_WRONG_DATA)
    return pin


def _check_pin(card: VirtualCard, pin: Pin, candidate: str) -> None:
    if pin.tries_left == 0:
        raise CardError(sw.SW_BLOCKED)
    if not secrets.compare_digest(candidate, pin.value):
        pin.tries_left -= 1
        raise CardError(sw.SW_BLOCKED if pin.tries_left == 0 else sw.sw_tries_left(pin.tries_left))
    pin.tries_left = pin.max_tries


@register(0x20, {0x00})
def verify(card: VirtualCard, cmd: Command) -> bytes:
    if cmd.p1 != 0:
        raise CardError(sw.SW_WRONG_P1P2)
    pin = _pin(card, cmd.p2)
    env = card.env_fid
    if env is None:
        raise CardError(sw.SW_CONDITIONS)
    if not cmd.data:  # query the try counter
        if pin.tries_left == 0:
            raise CardError(sw.SW_BLOCKED)
        if (env, cmd.p2) in card.state.pins:
            return b""
        raise CardError(sw.sw_tries_left(pin.tries_left))
    card.state.pins.discard((env, cmd.p2))
    _check_pin(card, pin, _parse_pin(cmd.data, cmd.p2))
    card.state.pins.add((env, cmd.p2))
    return b""


@register(0x5E, {0x80})
def change_or_reload_pin(card: VirtualCard, cmd: Command) -> bytes:
    """P1 = 01: CHANGE PIN, data old ‖ FF ‖ new. P1 = 00: RELOAD PIN, data new ‖ MAC4."""
    pin = _pin(card, cmd.p2)
    if cmd.p1 == 0x01:
        sep = cmd.data.find(b"\xff")
        if sep <= 0:
            raise CardError(sw.SW_WRONG_DATA)
        old, new = secure.bcd_to_pin(cmd.data[:sep]), secure.bcd_to_pin(cmd.data[sep + 1 :])
        if old is None or new is None:
            raise CardError(sw.SW_WRONG_DATA)
        _check_pin(card, pin, old)
        pin.value = new
        return b""
    if cmd.p1 == 0x00:
        if len(cmd.data) < 6:
            raise CardError(sw.SW_WRONG_LENGTH)
        key = card.current_df.find_key_by_usage("pin_reload")
        if key is None:
            raise CardError(sw.SW_REF_NOT_FOUND)
        if key.tries_left == 0:
            raise CardError(sw.SW_BLOCKED)
        new_bcd, mac = cmd.data[:-4], cmd.data[-4:]
        new = secure.bcd_to_pin(new_bcd)
        if new is None:
            raise CardError(sw.SW_WRONG_DATA)
        if mac != secure.reload_pin_mac(key.algorithm, key.value, new_bcd):
            key.tries_left -= 1
            raise CardError(sw.SW_MAC_INCORRECT)
        key.tries_left = key.max_tries
        pin.value, pin.tries_left = new, pin.max_tries
        return b""
    raise CardError(sw.SW_WRONG_P1P2)
