"""Exchange-file layouts with the banks and the card maker (docs/production.md): GB18030 text, '|'-delimited,
one header line, detail lines numbered 1..n, one trailer line with the totals, a SHA-256 over the details and
the partner's MAC: ``T|count|ok|failed|sha256|key_ref|mac``, where ``key_ref`` names the partner key
(``bank:<bank_code>:v<n>`` for KH/KR, ``maker:CARDMAKER:v<n>`` for ZK/ZR, from ``sscard.kms.partners``) and
``mac`` is the hex HMAC-SM3 under it of every byte before the MAC. The MAC is checked on the raw bytes first
(``PRODUCTION_FILE_MAC``), before anything is decoded.

Every defect of a file (MAC, encoding, truncation, wrong totals, duplicate or missing lines) raises
``FileRejected`` before anything is applied, so a file is taken whole or not at all.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sscard.kms import partners
from sscard.kms.partners import FileMacError, PartnerKeys
from sscard.production.errors import FileMacInvalid, FileRejected

ENCODING = "gb18030"
SEP = "|"
VERSION = "2.0"  # 2.0: the trailer carries the partner's key ref and HMAC-SM3
MAKER_PARTNER = "maker:CARDMAKER"  # the card maker's partner key (one maker serves the city)
OK = "00"  # result code of a successful return record

# File type → detail field names (after the record tag "D" and the sequence number).
LAYOUTS: dict[str, tuple[str, ...]] = {
    # 开户申请 (ours → bank)
    "KH": ("card_no", "id_number", "name", "name_substituted", "sex", "birth_date", "region_code", "phone"),
    # 开户回盘 (bank → ours)
    "KR": ("card_no", "id_number", "result", "account_no", "reason"),
    # 制卡数据 (ours → maker): sensitive fields only inside the encrypted payload
    "ZK": ("card_no", "region_code", "photo_ref", "payload"),
    # 制卡回盘 (maker → ours)
    "ZR": ("card_no", "result", "chip_serial", "atr", "reason"),
}
RETURNS = frozenset({"KR", "ZR"})
_DIGITS = re.compile(r"[0-9]{1,9}")
_STAMP = re.compile(r"[0-9]{14}")
_FORBIDDEN = re.compile(r"[|\r\n]")


@dataclass(frozen=True)
class Header:
    file_type: str
    batch_no: str
    bank_code: str
    created: str  # YYYYMMDDHHMMSS, local time
    count: int
    extra: str  # type-specific: the transport salt of a ZK file, else empty


@dataclass(frozen=True)
class Trailer:
    count: int
    ok: int
    failed: int
    sha256: str


@dataclass(frozen=True)
class ExchangeFile:
    header: Header
    records: list[dict[str, str]]
    trailer: Trailer


def _clean(value: str) -> str:
    if _FORBIDDEN.search(value):
        raise FileRejected("a field contains the delimiter or a line break", field=value[:20])
    return value


def partner_for(file_type: str, bank_code: str) -> str:
    """Whose key MACs a file of this type: the bank's for KH/KR, the card maker's for ZK/ZR."""
    return MAKER_PARTNER if file_type in ("ZK", "ZR") else f"bank:{bank_code}"


def write(file_type: str, batch_no: str, bank_code: str, created: dt.datetime, records: Sequence[Sequence[str]],
          extra: str = "", keys: PartnerKeys | None = None) -> bytes:
    """Lay out a file; for return files the ok/failed totals are counted from the ``result`` column. The MAC
    is made under the key of ``partner_for(file_type, bank_code)``."""
    fields = LAYOUTS[file_type]
    lines = []
    ok = 0
    for seq, rec in enumerate(records, start=1):
        if len(rec) != len(fields):
            raise FileRejected(f"record {seq} has {len(rec)} fields, {file_type} needs {len(fields)}")
        if file_type in RETURNS and rec[fields.index("result")] == OK:
            ok += 1
        lines.append(SEP.join(["D", str(seq), *(_clean(v) for v in rec)]) + "\n")
    body = "".join(lines).encode(ENCODING)
    count = len(lines)
    failed = count - ok if file_type in RETURNS else 0
    if file_type not in RETURNS:
        ok = count
    head = SEP.join(["H", file_type, _clean(batch_no), _clean(bank_code), created.strftime("%Y%m%d%H%M%S"),
                     str(count), VERSION, _clean(extra)]) + "\n"
    head_bytes = head.encode(ENCODING)
    tail = SEP.join(["T", str(count), str(ok), str(failed), partners.content_digest(body), ""]).encode(ENCODING)
    try:
        mac = (keys or partners.default_keys()).seal(partner_for(file_type, bank_code), (head_bytes, body, tail))
    except partners.PartnerKeyUnknown as exc:
        raise FileMacInvalid(f"cannot sign: {exc.detail}") from None
    return b"".join((head_bytes, body, tail, mac))


def _int(value: str, what: str) -> int:
    if not _DIGITS.fullmatch(value):
        raise FileRejected(f"{what} is not a number: {value[:20]!r}")
    return int(value)


def _header(line: str, expected: str) -> Header:
    parts = line.split(SEP)
    if len(parts) != 8 or parts[0] != "H":
        raise FileRejected("the first line is not a header (H|type|batch|bank|time|count|version|extra)")
    if parts[1] != expected:
        raise FileRejected(f"file type {parts[1][:10]!r}, expected {expected}")
    if parts[6] != VERSION:
        raise FileRejected(f"layout version {parts[6][:10]!r} is not {VERSION}")
    if not _STAMP.fullmatch(parts[4]):
        raise FileRejected("the header's creation time is not YYYYMMDDHHMMSS")
    return Header(parts[1], parts[2], parts[3], parts[4], _int(parts[5], "the header count"), parts[7])


def _trailer(line: str) -> Trailer:
    parts = line.split(SEP)[:-2]  # the key ref and the MAC were checked before anything was decoded
    if len(parts) != 5 or parts[0] != "T":
        raise FileRejected("the file is truncated: the last line is not a trailer "
                           "(T|count|ok|failed|sha256|key_ref|mac)")
    if not re.fullmatch(r"[0-9a-f]{64}", parts[4]):
        raise FileRejected("the trailer checksum is not a SHA-256 hex digest")
    return Trailer(_int(parts[1], "the trailer count"), _int(parts[2], "the trailer ok total"),
                   _int(parts[3], "the trailer failed total"), parts[4])


def peek_header(data: bytes) -> tuple[str, str, str]:
    """(file type, batch number, bank code) from the raw first line — enough to know whose key must have made
    the MAC; nothing else of the file is read."""
    first = bytes(data[:300]).split(b"\n", 1)[0].split(b"|")
    if len(first) < 4 or first[0] != b"H":
        raise FileRejected("the first line is not a header (H|type|batch|bank|time|count|version|extra)")
    return first[1].decode("ascii", "replace"), first[2].decode("ascii", "replace"), first[3].decode("ascii", "replace")


def check_mac(data: bytes, partner: str, keys: PartnerKeys | None = None) -> None:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise FileRejected("an exchange file is bytes")
    try:
        (keys or partners.default_keys()).check_file(bytes(data), partner)
    except FileMacError as exc:
        raise FileMacInvalid(str(exc)) from None


def parse(data: bytes, expected_type: str, keys: PartnerKeys | None = None, partner: str | None = None) -> ExchangeFile:
    """Check and read a whole file; any defect raises ``FileRejected`` with the reason. The MAC is checked
    first, under ``partner``'s key (default: ``partner_for`` the type and the bank the header names)."""
    if expected_type not in LAYOUTS:
        raise FileRejected(f"unknown file type {expected_type}")
    if not isinstance(data, bytes | bytearray | memoryview):
        raise FileRejected("an exchange file is bytes")
    data = bytes(data)
    if not data.endswith(b"\n"):
        raise FileRejected("the file is truncated: it does not end with a complete line")
    check_mac(data, partner or partner_for(expected_type, peek_header(data)[2]), keys)
    try:
        text = data.decode(ENCODING, errors="strict")
    except UnicodeDecodeError as exc:
        raise FileRejected(f"not {ENCODING} text (byte {exc.start})") from exc
    if not text.endswith("\n"):
        raise FileRejected("the file is truncated: it does not end with a complete line")
    lines = text[:-1].split("\n")
    if len(lines) < 2:
        raise FileRejected("the file is truncated: a header and a trailer are required")
    header = _header(lines[0], expected_type)
    trailer = _trailer(lines[-1])
    details = lines[1:-1]
    digest = partners.content_digest("".join(d + "\n" for d in details).encode(ENCODING))
    if digest != trailer.sha256:
        raise FileRejected("the detail lines do not match the trailer checksum (changed or truncated)")
    if not header.count == trailer.count == len(details):
        raise FileRejected(f"wrong totals: header {header.count}, trailer {trailer.count}, "
                           f"{len(details)} detail lines")
    fields = LAYOUTS[expected_type]
    records: list[dict[str, str]] = []
    seen_lines: set[str] = set()
    seen_cards: set[str] = set()
    ok = 0
    for index, line in enumerate(details, start=1):
        if line in seen_lines:
            raise FileRejected(f"line {index + 1} duplicates an earlier line")
        seen_lines.add(line)
        parts = line.split(SEP)
        if len(parts) != len(fields) + 2 or parts[0] != "D":
            raise FileRejected(f"line {index + 1}: {len(parts)} fields, expected D|seq + {len(fields)}")
        if _int(parts[1], f"line {index + 1} sequence") != index:
            raise FileRejected(f"line {index + 1}: sequence {parts[1][:9]} where {index} was expected")
        record = dict(zip(fields, parts[2:], strict=True))
        if record["card_no"] in seen_cards:
            raise FileRejected(f"line {index + 1}: card {record['card_no'][:12]} appears twice")
        seen_cards.add(record["card_no"])
        if expected_type in RETURNS and record["result"] == OK:
            ok += 1
        records.append(record)
    expected_ok = ok if expected_type in RETURNS else len(records)
    if (trailer.ok, trailer.failed) != (expected_ok, len(records) - expected_ok):
        raise FileRejected(f"wrong totals: trailer says {trailer.ok} ok / {trailer.failed} failed, "
                           f"the records say {expected_ok} / {len(records) - expected_ok}")
    return ExchangeFile(header, records, trailer)
