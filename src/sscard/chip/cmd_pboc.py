"""PBOC debit application commands (online-only, no offline data authentication): GET PROCESSING OPTIONS,
GENERATE AC (ARQC from the AC session key) and GET DATA."""

from __future__ import annotations

from sscard.chip import apdu as sw
from sscard.chip import secure
from sscard.chip.apdu import CardError, Command
from sscard.chip.cos import PbocData, VirtualCard, register
from sscard.chip.tlv import ber


def _app(card: VirtualCard) -> PbocData:
    if card.pboc is None or card.current_df.aid != card.pboc.aid:
        raise CardError(sw.SW_CONDITIONS)
    return card.pboc


@register(0xA8, {0x80})
def get_processing_options(card: VirtualCard, cmd: Command) -> bytes:
    app = _app(card)
    if cmd.p1 or cmd.p2:
        raise CardError(sw.SW_WRONG_P1P2)
    if len(cmd.data) < 2 or cmd.data[0] != 0x83 or cmd.data[1] != len(cmd.data) - 2:
        raise CardError(sw.SW_WRONG_DATA)
    if app.atc >= 0xFFFF:
        raise CardError(sw.SW_CONDITIONS)
    app.atc += 1
    card.gpo_done = True
    return ber(0x77, ber(0x82, app.aip) + ber(0x94, app.afl))


def arqc_input(cdol1_data: bytes, aip: bytes, atc: int, cvr: bytes) -> bytes:
    """The data the application cryptogram covers: CDOL1 data ‖ AIP ‖ ATC ‖ CVR."""
    return cdol1_data + aip + atc.to_bytes(2, "big") + cvr


@register(0xAE, {0x80})
def generate_ac(card: VirtualCard, cmd: Command) -> bytes:
    app = _app(card)
    if not card.gpo_done:
        raise CardError(sw.SW_CONDITIONS)
    requested = cmd.p1 & 0xC0
    if requested == 0xC0 or cmd.p1 & 0x2F or cmd.p2:
        raise CardError(sw.SW_WRONG_P1P2)
    if len(cmd.data) != app.cdol1_len:
        raise CardError(sw.SW_WRONG_LENGTH)
    key = card.current_df.find_key_by_usage("pboc_ac")
    if key is None:
        raise CardError(sw.SW_REF_NOT_FOUND)
    cid = 0x00 if requested == 0x00 else 0x80  # online-only card: a TC request is answered with an ARQC
    session = secure.pboc_session_key(key.algorithm, key.value, app.atc)
    ac = secure.pboc_application_cryptogram(key.algorithm, session, arqc_input(cmd.data, app.aip, app.atc, app.cvr))
    card.gpo_done = False
    iad = bytes((0x07, 0x01, 0x01)) + app.cvr
    return ber(
        0x77,
        ber(0x9F27, bytes((cid,))) + ber(0x9F36, app.atc.to_bytes(2, "big")) + ber(0x9F26, ac) + ber(0x9F10, iad),
    )


@register(0xCA, {0x80})
def get_data(card: VirtualCard, cmd: Command) -> bytes:
    app = _app(card)
    tag = (cmd.p1 << 8) | cmd.p2
    if tag == 0x9F36:
        return ber(tag, app.atc.to_bytes(2, "big"))
    if tag == 0x9F13:
        return ber(tag, bytes(2))
    if tag == 0x9F17:
        pin = card.current_df.find_pin(0x80)
        if pin is None:
            raise CardError(sw.SW_REF_NOT_FOUND)
        return ber(tag, bytes((pin.tries_left,)))
    raise CardError(sw.SW_REF_NOT_FOUND)
