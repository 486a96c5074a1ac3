"""PBOC debit application commands (online-only, no offline data authentication): GET PROCESSING OPTIONS,
GENERATE AC (ARQC from the AC session key), issuer authentication (EXTERNAL AUTHENTICATE with the ARPC, routed
here by ``cmd_auth``) and GET DATA.

The CVR the card returns in the IAD (and covers with the ARQC) tells the issuer how the holder was verified in
this session: offline PIN performed (byte 2 bit 3), failed (bit 2), try limit exceeded (byte 3 bit 7) — the
PBOC 2.0 / EMV CCD layout. The issuer refuses a purchase on those bits (``sscard.banks.cardauth``)."""

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
    cvr = _cvr(card, app)
    session = secure.pboc_session_key(key.algorithm, key.value, app.atc)
    ac = secure.pboc_application_cryptogram(key.algorithm, session, arqc_input(cmd.data, app.aip, app.atc, cvr))
    card.gpo_done = False
    card.last_arqc = (app.atc, ac) if cid == 0x80 else None
    iad = bytes((0x07, 0x01, 0x01)) + cvr
    return ber(
        0x77,
        ber(0x9F27, bytes((cid,))) + ber(0x9F36, app.atc.to_bytes(2, "big")) + ber(0x9F26, ac) + ber(0x9F10, iad),
    )


CVR_PIN_PERFORMED, CVR_PIN_FAILED, CVR_PIN_LIMIT = 0x04, 0x02, 0x40  # byte 2, byte 2, byte 3


def _cvr(card: VirtualCard, app: PbocData) -> bytes:
    """``app.cvr`` with the offline-PIN bits of this session: verified, or a wrong PIN not yet put right."""
    pin = card.current_df.find_pin(0x80)
    env = card.env_fid
    if pin is None or env is None:
        return app.cvr
    cvr = bytearray(app.cvr)
    if (env, 0x80) in card.state.pins:
        cvr[1] |= CVR_PIN_PERFORMED
    elif pin.tries_left < pin.max_tries:
        cvr[1] |= CVR_PIN_PERFORMED | CVR_PIN_FAILED
        if pin.tries_left == 0:
            cvr[2] |= CVR_PIN_LIMIT
    return bytes(cvr)


def issuer_authenticate(card: VirtualCard, cmd: Command) -> bytes:
    """EXTERNAL AUTHENTICATE in the debit application: data = ARPC (8) ‖ ARC (2) for the last ARQC. 9000 when
    the issuer's answer is genuine (method 1 ARPC under the same AC session key), 6300 otherwise."""
    app = _app(card)
    if cmd.p1 or cmd.p2:
        raise CardError(sw.SW_WRONG_P1P2)
    if len(cmd.data) != 10:
        raise CardError(sw.SW_WRONG_LENGTH)
    if card.last_arqc is None:
        raise CardError(sw.SW_CONDITIONS)
    key = card.current_df.find_key_by_usage("pboc_ac")
    if key is None:
        raise CardError(sw.SW_REF_NOT_FOUND)
    atc, arqc = card.last_arqc
    card.last_arqc = None  # one answer per cryptogram
    session = secure.pboc_session_key(key.algorithm, key.value, atc)
    if cmd.data[:8] != secure.pboc_arpc(key.algorithm, session, arqc, cmd.data[8:]):
        app.cvr = app.cvr[:1] + bytes((app.cvr[1] | 0x08,)) + app.cvr[2:]  # issuer authentication failed (b4)
        raise CardError(0x6300)
    if app.cvr[1] & 0x08:
        app.cvr = app.cvr[:1] + bytes((app.cvr[1] & ~0x08 & 0xFF,)) + app.cvr[2:]
    return b""


def in_debit_application(card: VirtualCard) -> bool:
    return card.pboc is not None and card.current_df.aid == card.pboc.aid


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
