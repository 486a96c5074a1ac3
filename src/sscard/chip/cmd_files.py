"""File commands: SELECT, READ RECORD (by number and by tag), READ BINARY, UPDATE RECORD/BINARY (with
line-protection MAC when CLA = 04)."""

from __future__ import annotations

from sscard.chip import apdu as sw
from sscard.chip import secure
from sscard.chip.apdu import CardError, Command
from sscard.chip.cos import VirtualCard, register
from sscard.chip.fs import DedicatedFile, ElementaryFile


def _find_aid(root: DedicatedFile, aid: bytes) -> DedicatedFile | None:
    for df in root.walk():
        if df.aid and df.aid == aid:
            return df
    return None


@register(0xA4, {0x00})
def select(card: VirtualCard, cmd: Command) -> bytes:
    if cmd.p2 not in (0x00, 0x0C):
        raise CardError(sw.SW_WRONG_P1P2)
    target: DedicatedFile | ElementaryFile | None
    if cmd.p1 == 0x04:
        if not 1 <= len(cmd.data) <= 16:
            raise CardError(sw.SW_WRONG_LENGTH)
        target = _find_aid(card.mf, cmd.data)
    elif cmd.p1 in (0x00, 0x01, 0x02):
        if len(cmd.data) != 2:
            raise CardError(sw.SW_WRONG_LENGTH)
        fid = int.from_bytes(cmd.data, "big")
        target = None
        if fid == 0x3F00 and cmd.p1 == 0x00:
            target = card.mf
        else:
            target = card.current_df.children.get(fid)
            parent = card.current_df.parent
            if target is None and cmd.p1 == 0x00 and parent is not None:
                sibling = parent.children.get(fid)
                target = sibling if isinstance(sibling, DedicatedFile) else None
        if cmd.p1 == 0x01 and not isinstance(target, DedicatedFile):
            target = None
        if cmd.p1 == 0x02 and not isinstance(target, ElementaryFile):
            target = None
    elif cmd.p1 == 0x03:
        if cmd.data:
            raise CardError(sw.SW_WRONG_LENGTH)
        target = card.current_df.parent
    else:
        raise CardError(sw.SW_WRONG_P1P2)
    if target is None:
        raise CardError(sw.SW_FILE_NOT_FOUND)
    if isinstance(target, ElementaryFile):
        card.current_ef = target
        return b""
    card.enter_df(target)
    return b"" if cmd.p2 == 0x0C else card.fci(target)


def _ef_for(card: VirtualCard, sfi: int) -> ElementaryFile:
    if sfi == 0:
        if card.current_ef is None:
            raise CardError(sw.SW_NO_CURRENT_EF)
        return card.current_ef
    if sfi == 31:
        raise CardError(sw.SW_WRONG_P1P2)
    ef = card.current_df.ef_by_sfi(sfi)
    if ef is None:
        raise CardError(sw.SW_FILE_NOT_FOUND)
    card.current_ef = ef
    return ef


def _answer(data: bytes, le: int | None) -> bytes:
    if le is None or le == 256 or le == len(data):
        return data
    raise CardError(sw.sw_wrong_le(len(data)))


def _record_by_tag(ef: ElementaryFile, tag: int) -> bytes | None:
    for rec in ef.records:
        if rec and rec[0] == tag:
            return rec
    return None


@register(0xB2, {0x00})
def read_record(card: VirtualCard, cmd: Command) -> bytes:
    mode, sfi = cmd.p2 & 0x07, cmd.p2 >> 3
    if mode == 0x04:
        ef = _ef_for(card, sfi)
        if ef.kind != "record":
            raise CardError(sw.SW_FILE_STRUCTURE)
        if not card.allowed(ef.read):
            raise CardError(sw.SW_SECURITY)
        if not 1 <= cmd.p1 <= len(ef.records):
            raise CardError(sw.SW_RECORD_NOT_FOUND)
        return _answer(ef.records[cmd.p1 - 1], cmd.le)
    if mode != 0x00:
        raise CardError(sw.SW_WRONG_P1P2)
    # Read the first record carrying the data-item tag P1 (social-security "read by tag" addressing).
    # With SFI 0 the current EF is searched first, then the DF's other record EFs (readers send 00B2080000
    # for 社会保障号码 whatever EF they touched last).
    if sfi == 0:
        others = sorted((ef for ef in card.current_df.efs() if ef.kind == "record"), key=lambda e: e.fid)
        current = [card.current_ef] if card.current_ef is not None and card.current_ef.kind == "record" else []
        candidates = current + [ef for ef in others if ef is not card.current_ef]
    else:
        candidates = [_ef_for(card, sfi)]
    for ef in candidates:
        if ef.kind != "record":
            raise CardError(sw.SW_FILE_STRUCTURE)
        rec = _record_by_tag(ef, cmd.p1)
        if rec is not None:
            if not card.allowed(ef.read):
                raise CardError(sw.SW_SECURITY)
            return _answer(rec, cmd.le)
    raise CardError(sw.SW_RECORD_NOT_FOUND)


@register(0xB0, {0x00})
def read_binary(card: VirtualCard, cmd: Command) -> bytes:
    if cmd.p1 & 0x80:
        if cmd.p1 & 0x60:
            raise CardError(sw.SW_WRONG_P1P2)
        ef, offset = _ef_for(card, cmd.p1 & 0x1F), cmd.p2
    else:
        ef, offset = _ef_for(card, 0), (cmd.p1 << 8) | cmd.p2
    if ef.kind != "binary":
        raise CardError(sw.SW_FILE_STRUCTURE)
    if not card.allowed(ef.read):
        raise CardError(sw.SW_SECURITY)
    if offset > len(ef.content):
        raise CardError(sw.SW_WRONG_OFFSET)
    available = len(ef.content) - offset
    want = 256 if cmd.le is None else cmd.le
    if want > available and want != 256:
        raise CardError(sw.sw_wrong_le(available))
    return bytes(ef.content[offset : offset + min(want, available)])


def _checked_payload(card: VirtualCard, cmd: Command, ef: ElementaryFile) -> bytes:
    """Strip and verify the line-protection MAC (CLA 04), then enforce the write access rule."""
    data, mac_ok = cmd.data, False
    if cmd.cla == 0x04:
        if len(data) < 5:
            raise CardError(sw.SW_WRONG_LENGTH)
        kid = ef.write.mac_key()
        key = card.current_df.find_key(kid) if kid is not None else None
        if key is None or key.usage != "mac":
            raise CardError(sw.SW_MAC_INCORRECT)
        if key.tries_left == 0:
            raise CardError(sw.SW_BLOCKED)
        if card.challenge is None:
            raise CardError(sw.SW_RANDOM_INVALID)
        payload, mac = data[:-4], data[-4:]
        expected = secure.line_mac(key.algorithm, key.value, card.challenge, cmd.header + bytes((len(data),)) + payload)
        if mac != expected:
            key.tries_left -= 1
            raise CardError(sw.SW_MAC_INCORRECT)
        key.tries_left = key.max_tries
        data, mac_ok = payload, True
    if not card.allowed(ef.write, mac_ok=mac_ok):
        raise CardError(sw.SW_SECURITY)
    return data


@register(0xDC, {0x00, 0x04})
def update_record(card: VirtualCard, cmd: Command) -> bytes:
    if cmd.p2 & 0x07 != 0x04:
        raise CardError(sw.SW_WRONG_P1P2)
    if not cmd.data:
        raise CardError(sw.SW_WRONG_LENGTH)
    ef = _ef_for(card, cmd.p2 >> 3)
    if ef.kind != "record":
        raise CardError(sw.SW_FILE_STRUCTURE)
    if not 1 <= cmd.p1 <= len(ef.records):
        raise CardError(sw.SW_RECORD_NOT_FOUND)
    payload = _checked_payload(card, cmd, ef)
    old = ef.records[cmd.p1 - 1]
    if len(payload) != len(old):
        raise CardError(sw.SW_WRONG_LENGTH)
    if payload[0] != old[0] or payload[1] != len(payload) - 2:
        raise CardError(sw.SW_WRONG_DATA)
    ef.records[cmd.p1 - 1] = payload
    return b""


@register(0xD6, {0x00, 0x04})
def update_binary(card: VirtualCard, cmd: Command) -> bytes:
    if not cmd.data:
        raise CardError(sw.SW_WRONG_LENGTH)
    if cmd.p1 & 0x80:
        if cmd.p1 & 0x60:
            raise CardError(sw.SW_WRONG_P1P2)
        ef, offset = _ef_for(card, cmd.p1 & 0x1F), cmd.p2
    else:
        ef, offset = _ef_for(card, 0), (cmd.p1 << 8) | cmd.p2
    if ef.kind != "binary":
        raise CardError(sw.SW_FILE_STRUCTURE)
    payload = _checked_payload(card, cmd, ef)
    if offset + len(payload) > len(ef.content):
        raise CardError(sw.SW_WRONG_OFFSET)
    ef.content[offset : offset + len(payload)] = payload
    return b""
