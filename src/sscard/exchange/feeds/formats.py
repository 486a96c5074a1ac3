"""The feed file formats (docs/exchange-feeds.md, where a department finds everything needed to produce them).

The plaintext (FEED1): ``|``-delimited, ``\\n`` line ends, no ``|``/CR/LF inside a field, in the encoding the
header declares (``UTF-8`` or ``GB18030``; the header and trailer are ASCII)::

    H|FEED1|partner|kind|file_id|seq|encoding|count|created
    D|line_no|type|field…                                     (line_no = 1..count, in order)
    T|count|sha256                                            (SHA-256 of every byte before the trailer)

The envelope that travels (FEEDX1), one ASCII line::

    X|FEEDX1|partner|file_id|seq|iv|ciphertext|key_ref|mac

``ciphertext`` = standard Base64 (RFC 4648, with padding) of SM4-CBC(PKCS#7 padding) of the plaintext under the
partner's SM4 encryption key of the key version ``key_ref`` names (``PartnerKeys.encryption_key``), ``iv`` its
16 bytes as lower-case hex; ``key_ref`` = ``dept:<code>:v<n>`` and ``mac`` = lower-case hex HMAC-SM3 under that
version's file key over every byte before the MAC (``sscard.kms.partners`` file-MAC layout): encrypt, then MAC.

Every defect raises a subclass of ``FeedRejected`` before anything is returned, and nothing else escapes.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from sscard import clock
from sscard.errors import DomainError
from sscard.exchange.feeds.errors import (
    FeedChecksum,
    FeedDecrypt,
    FeedEncoding,
    FeedMac,
    FeedMalformed,
    FeedPartnerInvalid,
    FeedTooLarge,
    FeedTruncated,
    FeedWrongKind,
    FeedWrongPartner,
)
from sscard.kms import partners
from sscard.kms.partners import FileMacError, PartnerKeys

MAGIC, ENVELOPE = "FEED1", "FEEDX1"
ENCODINGS = ("UTF-8", "GB18030")
MAX_BYTES = 64 * 1024 * 1024
MAX_LINES = 1_000_000

# kind → (the partners that may send it, the line types it carries and their field counts)
KINDS: dict[str, tuple[frozenset[str], dict[str, int]]] = {
    "PSCHG": (frozenset({"dept:PSB"}), {"DEATH": 3, "IDCHG": 3, "NAME": 3, "MOVE": 4}),
    "CREM": (frozenset({"dept:CIVIL"}), {"CREM": 4}),
    "ASSIST": (frozenset({"dept:CIVIL"}), {"LIST": 5}),
    "ROLL": (frozenset({"dept:EDU"}), {"STU": 7}),
}
ASSIST_CATEGORIES = {"DIBAO": "dibao", "TEKUN": "tekun", "DISAB": "disability"}

_PARTNER_RE = re.compile(r"dept:[A-Z0-9]{1,18}")
FILE_ID_RE = re.compile(r"[A-Za-z0-9_.\-]{1,40}")
_SEQ_RE = re.compile(r"[1-9][0-9]{0,8}")
_COUNT_RE = re.compile(r"0|[1-9][0-9]{0,6}")
_STAMP_RE = re.compile(r"[0-9]{14}")
_DATE_RE = re.compile(r"[0-9]{8}")
_MONTH_RE = re.compile(r"[0-9]{6}")
_REGION_RE = re.compile(r"[0-9]{6}")
_HEX_RE = re.compile(r"[0-9a-f]{32}")
_SHA_RE = re.compile(r"[0-9a-f]{64}")
_B64_RE = re.compile(rb"[A-Za-z0-9+/]*={0,2}")
_PHONE_RE = re.compile(r"1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Header:
    partner: str
    kind: str
    file_id: str
    seq: int
    encoding: str
    count: int
    created: str  # YYYYMMDDHHMMSS, the sender's local time


@dataclass(frozen=True, slots=True)
class Line:
    line_no: int
    type: str
    fields: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Envelope:
    partner: str
    file_id: str
    seq: int
    key_version: int


@dataclass(frozen=True, slots=True)
class FeedFile:
    header: Header
    lines: list[Line]
    checksum: str  # SHA-256 of the plaintext before its trailer


def check_partner(partner: str) -> str:
    if not isinstance(partner, str) or not _PARTNER_RE.fullmatch(partner):
        raise FeedPartnerInvalid(str(partner)[:40])
    return partner


def new_header(partner: str, kind: str, file_id: str, seq: int, lines: Sequence[Line], encoding: str = "UTF-8",
               created: str | None = None) -> Header:
    stamp = created or clock.now().astimezone(clock.local_zone()).strftime("%Y%m%d%H%M%S")
    return Header(partner, kind, file_id, seq, encoding, len(lines), stamp)


# ---------------------------------------------------------------------------------------------------- writing


def write_plain(header: Header, lines: Sequence[Line]) -> bytes:
    """The FEED1 plaintext of these lines (what a department's system lays out before it encrypts); refuses
    what would not parse back identically."""
    if header.count != len(lines):
        raise FeedMalformed(f"the header says {header.count} lines, there are {len(lines)}")
    head = (f"H|{MAGIC}|{header.partner}|{header.kind}|{header.file_id}|{header.seq}|{header.encoding}|"
            f"{header.count}|{header.created}\n")
    body = "".join(f"D|{ln.line_no}|{ln.type}|{'|'.join(ln.fields)}\n" for ln in lines)
    try:
        data = (head + body).encode(header.encoding.lower())
    except (UnicodeEncodeError, LookupError) as exc:
        raise FeedEncoding(f"a field cannot be written in {header.encoding}") from exc
    data += f"T|{header.count}|{hashlib.sha256(data).hexdigest()}\n".encode("ascii")
    parsed = parse_plain(data)
    if parsed.header != header or parsed.lines != list(lines):
        raise FeedMalformed("the lines would not read back as written")
    return data


def seal(plain: bytes, keys: PartnerKeys | None = None, iv: bytes | None = None) -> bytes:
    """Encrypt and MAC a FEED1 plaintext into its FEEDX1 envelope under its partner's current key version
    (``iv``: 16 bytes, random unless given — the shipped example fixes it so that it is reproducible)."""
    header = parse_plain(plain).header
    return seal_bytes(plain, header.partner, header.file_id, header.seq, keys, iv)


def seal_bytes(plain: bytes, partner: str, file_id: str, seq: int, keys: PartnerKeys | None = None,
               iv: bytes | None = None) -> bytes:
    """The FEEDX1 envelope of any plaintext (a FEED1 file, or our FEEDA1 answer to one)."""
    ring = keys or partners.default_keys()
    try:
        _, key = ring.encryption_key(partner)
    except partners.PartnerKeyUnknown as exc:
        raise FeedMac(f"cannot sign: {exc.detail}") from None
    iv = iv if iv is not None else os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    enc = Cipher(algorithms.SM4(key), modes.CBC(iv)).encryptor()
    cipher = enc.update(padded) + enc.finalize()
    prefix = (f"X|{ENVELOPE}|{partner}|{file_id}|{seq}|{iv.hex()}|".encode("ascii")
              + base64.b64encode(cipher) + b"|")
    return prefix + ring.seal(partner, (prefix,))


# ---------------------------------------------------------------------------------------------------- reading


def peek(data: bytes) -> Envelope | None:
    """The clear fields of an envelope (partner, file id, sequence), or None when they cannot be read — to
    order a spool's files before anything is checked; nothing here is trusted."""
    try:
        fields = bytes(data[:200]).split(b"|", 5)
        if len(fields) < 6 or fields[0] != b"X" or fields[1] != ENVELOPE.encode():
            return None
        partner, file_id, seq = (f.decode("ascii") for f in fields[2:5])
    except (UnicodeDecodeError, TypeError):
        return None
    if not (_PARTNER_RE.fullmatch(partner) and FILE_ID_RE.fullmatch(file_id) and _SEQ_RE.fullmatch(seq)):
        return None
    return Envelope(partner, file_id, int(seq), 0)


def open_envelope(data: bytes, partner: str, keys: PartnerKeys | None = None) -> tuple[Envelope, bytes]:
    """Check an envelope from ``partner`` and return it with its plaintext: the clear fields, then the MAC on
    the raw bytes, then the decryption."""
    check_partner(partner)
    if not isinstance(data, bytes | bytearray):
        raise FeedMalformed("a feed file is bytes")
    data = bytes(data)
    if len(data) > MAX_BYTES:
        raise FeedTooLarge(f"{len(data)} bytes, at most {MAX_BYTES}")
    if not data.startswith(f"X|{ENVELOPE}|".encode()):
        raise FeedMalformed(f"the file is not a {ENVELOPE} envelope")
    if not data.endswith(b"\n"):
        raise FeedTruncated("the envelope is cut off (it is one line ending with a line feed)")
    if data.count(b"\n") != 1:
        raise FeedMalformed("the envelope is one line")
    fields = data[:-1].split(b"|")
    if len(fields) != 9:
        raise FeedTruncated(f"the envelope has {len(fields)} fields, 9 expected")
    try:
        named, file_id, seq, iv_hex, ref = (fields[i].decode("ascii") for i in (2, 3, 4, 5, 7))
    except UnicodeDecodeError:
        raise FeedMalformed("the envelope's clear fields are ASCII") from None
    if not _PARTNER_RE.fullmatch(named):
        raise FeedMalformed("the envelope does not name a dept:<code> partner")
    if named != partner:
        raise FeedWrongPartner(f"the file is from {named}, this spool is {partner}", named=named)
    if not (FILE_ID_RE.fullmatch(file_id) and _SEQ_RE.fullmatch(seq) and _HEX_RE.fullmatch(iv_hex)):
        raise FeedMalformed("the envelope's file id, sequence number or IV is not in its form")
    try:
        ring = keys or partners.default_keys()
        ring.check_file(data, partner)
    except FileMacError as exc:
        raise FeedMac(str(exc)) from None
    version = int(ref.rsplit(":v", 1)[1])
    cipher_b64 = fields[6]
    if not _B64_RE.fullmatch(cipher_b64) or len(cipher_b64) % 4 or not cipher_b64:
        raise FeedMalformed("the ciphertext is not Base64")
    try:
        cipher = base64.b64decode(cipher_b64, validate=True)
    except (binascii.Error, ValueError):
        raise FeedMalformed("the ciphertext is not Base64") from None
    if len(cipher) % 16:
        raise FeedDecrypt("the ciphertext is not whole SM4 blocks")
    try:
        _, key = ring.encryption_key(partner, version)
        dec = Cipher(algorithms.SM4(key), modes.CBC(bytes.fromhex(iv_hex))).decryptor()
        padded = dec.update(cipher) + dec.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        plain = unpadder.update(padded) + unpadder.finalize()
    except (ValueError, FileMacError):
        raise FeedDecrypt("the padding is wrong after decryption") from None
    return Envelope(partner, file_id, int(seq), version), plain


def read_file(data: bytes, partner: str, keys: PartnerKeys | None = None) -> tuple[Envelope, FeedFile]:
    """A whole envelope from ``partner`` checked and its plaintext parsed; the plaintext's header must agree
    with the envelope and the kind must be one the partner may send."""
    env, plain = open_envelope(data, partner, keys)
    feed = parse_plain(plain)
    h = feed.header
    if (h.partner, h.file_id, h.seq) != (env.partner, env.file_id, env.seq):
        raise FeedMalformed("the plaintext's header does not match its envelope (partner, file id, sequence)")
    if partner not in KINDS[h.kind][0]:
        raise FeedWrongKind(f"{partner} does not send {h.kind} files", kind=h.kind)
    return env, feed


def parse_plain(data: bytes) -> FeedFile:
    """Check and read a FEED1 plaintext."""
    if not isinstance(data, bytes | bytearray):
        raise FeedMalformed("a feed file is bytes")
    data = bytes(data)
    first_end = data.find(b"\n")
    if first_end < 0:
        raise FeedTruncated("no complete header line")
    header = _header(data[:first_end])
    if not data.endswith(b"\n"):
        raise FeedTruncated("the last line is incomplete")
    trailer_start = data.rfind(b"\n", 0, len(data) - 1) + 1
    trailer = data[trailer_start:-1]
    if trailer_start <= first_end or not trailer.startswith(b"T|"):
        raise FeedTruncated("no trailer line")
    t = trailer.split(b"|")
    if len(t) != 3 or not _COUNT_RE.fullmatch(t[1].decode("ascii", "replace")) \
            or not _SHA_RE.fullmatch(t[2].decode("ascii", "replace")):
        raise FeedMalformed("the trailer is T|count|sha256")
    body = data[:trailer_start]
    checksum = hashlib.sha256(body).hexdigest()
    if int(t[1]) != header.count:
        raise FeedTruncated(f"the header says {header.count} lines, the trailer {int(t[1])}")
    if t[2].decode("ascii") != checksum:
        raise FeedChecksum("the SHA-256 of the lines does not match the trailer")
    try:
        text = body[first_end + 1:].decode(header.encoding.lower())
    except UnicodeDecodeError:
        raise FeedEncoding(f"the lines are not valid {header.encoding}") from None
    rows = text.split("\n")[:-1] if text else []
    if len(rows) != header.count:
        raise FeedTruncated(f"the header says {header.count} lines, the file holds {len(rows)}")
    if "\r" in text:
        raise FeedMalformed("a carriage return inside the file (lines end with LF only)")
    types = KINDS[header.kind][1]
    lines = [_line(i, row, types) for i, row in enumerate(rows, start=1)]
    return FeedFile(header, lines, checksum)


def _header(raw: bytes) -> Header:
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise FeedMalformed("the header line is ASCII") from None
    f = text.split("|")
    if len(f) != 9 or f[0] != "H" or f[1] != MAGIC:
        raise FeedMalformed(f"the first line is not an {MAGIC} header of 9 fields")
    _, _, partner, kind, file_id, seq, encoding, count, created = f
    problems = [what for what, ok in (
        ("partner (dept:<code>)", _PARTNER_RE.fullmatch(partner)),
        (f"kind ({', '.join(KINDS)})", kind in KINDS),
        ("file id", FILE_ID_RE.fullmatch(file_id)),
        ("sequence number", _SEQ_RE.fullmatch(seq)),
        ("encoding (UTF-8 or GB18030)", encoding in ENCODINGS),
        ("count", _COUNT_RE.fullmatch(count) and int(count) <= MAX_LINES),
        ("created (YYYYMMDDHHMMSS)", _STAMP_RE.fullmatch(created)),
    ) if not ok]
    if problems:
        raise FeedMalformed(f"{MAGIC} header: bad " + ", ".join(problems))
    return Header(partner, kind, file_id, int(seq), encoding, int(count), created)


def _line(expected: int, row: str, types: dict[str, int]) -> Line:
    f = row.split("|")
    if len(f) < 3 or f[0] != "D" or f[1] != str(expected):
        raise FeedMalformed(f"line {expected}: not D|{expected}|type|…")
    kind = f[2]
    if kind not in types:
        raise FeedWrongKind(f"line {expected}: type {kind[:10]!r} is not one of {', '.join(types)}",
                            line_no=expected)
    fields = tuple(f[3:])
    if len(fields) != types[kind]:
        raise FeedMalformed(f"line {expected}: {kind} has {types[kind]} fields, not {len(fields)}",
                            line_no=expected)
    if _CONTROL_RE.search(row):
        raise FeedMalformed(f"line {expected}: a control character", line_no=expected)
    try:
        _check_fields(kind, fields)
    except DomainError as exc:
        raise FeedMalformed(f"line {expected}: {exc.detail or exc.code}", line_no=expected) from None
    except ValueError as exc:
        raise FeedMalformed(f"line {expected}: {str(exc)[:200]}", line_no=expected) from None
    return Line(expected, kind, fields)


def _check_fields(kind: str, f: tuple[str, ...]) -> None:
    from sscard.registry import idnumber
    from sscard.registry.service import normalise_name

    if kind == "DEATH":
        idnumber.parse(f[0])
        normalise_name(f[1])
        parse_date(f[2])
    elif kind == "IDCHG":
        if idnumber.parse(f[0]).value == idnumber.parse(f[1]).value:
            raise ValueError("the old and the new number are the same")
        normalise_name(f[2])
    elif kind == "NAME":
        idnumber.parse(f[0])
        normalise_name(f[1])
        normalise_name(f[2])
    elif kind == "MOVE":
        idnumber.parse(f[0])
        normalise_name(f[1])
        parse_date(f[2])
        if not _REGION_RE.fullmatch(f[3]):
            raise ValueError("the destination is a 6-digit division code")
    elif kind == "CREM":
        idnumber.parse(f[0])
        normalise_name(f[1])
        if parse_date(f[3]) < parse_date(f[2]):
            raise ValueError("the cremation is before the death")
    elif kind == "LIST":
        idnumber.parse(f[0])
        normalise_name(f[1])
        if f[2] not in ASSIST_CATEGORIES:
            raise ValueError(f"the category is one of {', '.join(ASSIST_CATEGORIES)}")
        start = parse_month(f[3])
        if f[4] and parse_month(f[4]) < start:
            raise ValueError("the list ends before it starts")
    elif kind == "STU":
        idnumber.parse(f[0])
        normalise_name(f[1])
        if not _REGION_RE.fullmatch(f[2]):
            raise ValueError("the region is a 6-digit division code")
        _uscc(f[3])
        idnumber.parse(f[4])
        normalise_name(f[5])
        if f[6] and not _PHONE_RE.fullmatch(f[6]):
            raise ValueError("the guardian's phone is a mainland mobile or fixed line")


def _uscc(value: str) -> None:
    from stdnum.cn import uscc
    from stdnum.exceptions import ValidationError

    try:
        uscc.validate(value)
    except ValidationError:
        raise ValueError("the school's unified social credit code is invalid") from None


def parse_date(value: str) -> dt.date:
    if not _DATE_RE.fullmatch(value):
        raise ValueError("a date is YYYYMMDD")
    return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))


def parse_month(value: str) -> str:
    """YYYYMM → the funds' period YYYY-MM."""
    if not _MONTH_RE.fullmatch(value) or not 1 <= int(value[4:]) <= 12 or int(value[:4]) < 1900:
        raise ValueError("a month is YYYYMM")
    return f"{value[:4]}-{value[4:]}"
