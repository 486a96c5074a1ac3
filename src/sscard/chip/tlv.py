"""TLV helpers: the 1-byte tag / 1-byte length records of social-security EFs, and BER-TLV for PBOC/EMV."""

from __future__ import annotations


def simple_tlv(tag: int, value: bytes) -> bytes:
    """A social-security record: tag (1 byte), length (1 byte), value."""
    if len(value) > 255:
        raise ValueError("simple TLV value longer than 255 bytes")
    return bytes((tag, len(value))) + value


def ber(tag: int, value: bytes) -> bytes:
    """BER-TLV with a 1- or 2-byte tag and definite length (short or 81/82 long form)."""
    tag_bytes = tag.to_bytes(2 if tag > 0xFF else 1, "big")
    n = len(value)
    if n < 0x80:
        length = bytes((n,))
    elif n <= 0xFF:
        length = bytes((0x81, n))
    else:
        length = bytes((0x82,)) + n.to_bytes(2, "big")
    return tag_bytes + length + value


def parse_ber(data: bytes) -> list[tuple[int, bytes]]:
    """Parse one level of BER-TLV into (tag, value) pairs; raises ValueError on truncation."""
    out: list[tuple[int, bytes]] = []
    i = 0
    while i < len(data):
        if data[i] in (0x00, 0xFF):  # padding between objects
            i += 1
            continue
        tag = data[i]
        i += 1
        if tag & 0x1F == 0x1F:
            if i >= len(data):
                raise ValueError("truncated tag")
            tag = (tag << 8) | data[i]
            i += 1
        if i >= len(data):
            raise ValueError("truncated length")
        n = data[i]
        i += 1
        if n & 0x80:
            k = n & 0x7F
            if k not in (1, 2) or i + k > len(data):
                raise ValueError("bad length")
            n = int.from_bytes(data[i : i + k], "big")
            i += k
        if i + n > len(data):
            raise ValueError("truncated value")
        out.append((tag, data[i : i + n]))
        i += n
    return out


def find_ber(data: bytes, tag: int) -> bytes | None:
    """Depth-first search for the first value with ``tag`` in nested BER-TLV (constructed tags recursed)."""
    try:
        items = parse_ber(data)
    except ValueError:
        return None
    for t, v in items:
        if t == tag:
            return v
        first = t >> 8 if t > 0xFF else t
        if first & 0x20:
            found = find_ber(v, tag)
            if found is not None:
                return found
    return None


def dol_length(dol: bytes) -> int:
    """Total value length requested by a data-object list (tag, length pairs, e.g. CDOL1)."""
    total = 0
    i = 0
    while i < len(dol):
        if dol[i] & 0x1F == 0x1F:
            i += 1
        i += 1
        total += dol[i]
        i += 1
    return total
