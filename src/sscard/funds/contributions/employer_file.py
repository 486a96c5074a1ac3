"""The employer contribution file (单位缴费文件): layout, writing and whole-file checking (docs/contributions.md).

UTF-8 text, ``|``-delimited, ``\\n`` line ends, no ``|``/CR/LF inside a field::

    H|SSE1|uscc|employer_name|bank_code|period|count|total_fen|created
    D|line_no|id_number|name|insurance|base_fen|employer_fen|employee_fen     (line_no = 1..count, in order)
    T|count|total_fen|sha256|key_ref|mac

``insurance`` is pension, medical or unemployment; ``total_fen`` = Σ (employer_fen + employee_fen);
``sha256`` is the lower-case hex SHA-256 of every byte before the trailer (the content's identity);
``key_ref`` = ``employer:<uscc>:v<n>`` names the employer's file key (``sscard.kms.partners``) and ``mac`` is the
hex HMAC-SM3 under it of every byte before the MAC. The MAC is checked on the raw bytes first, under the key of
the employer the header names (``EMPLOYER_FILE_MAC``: missing, wrong, or keyed for another partner). Any defect
refuses the whole file (``EmployerFileRejected`` subclasses) before anything is applied. The USCC is checked
with ``stdnum.cn.uscc`` (GB 32100-2015 check character).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from stdnum.cn import uscc as stdnum_uscc

from sscard.funds.contributions.errors import (
    EmployerFileChecksum,
    EmployerFileDuplicateLine,
    EmployerFileEncoding,
    EmployerFileMac,
    EmployerFileMalformed,
    EmployerFileTotals,
    EmployerFileTruncated,
    EmployerFileUscc,
)
from sscard.kms import partners
from sscard.kms.partners import FileMacError, PartnerKeys

MAGIC = "SSE1"
SEP = "|"
INSURANCES = ("pension", "medical", "unemployment")
_BANK_RE = re.compile(r"[A-Z0-9]{1,10}")
_PERIOD_RE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
_STAMP_RE = re.compile(r"[0-9]{14}")
_SHA_RE = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class EmployerHeader:
    uscc: str
    employer_name: str
    bank_code: str  # the bank the employer pays through: the money arrives in its clearing account
    period: str
    count: int
    total: int
    created: str  # YYYYMMDDHHMMSS


class EmployerLine(NamedTuple):
    line_no: int
    id_number: str
    name: str
    insurance: str
    base_fen: int
    employer_fen: int
    employee_fen: int


@dataclass(frozen=True, slots=True)
class EmployerFile:
    header: EmployerHeader
    lines: list[EmployerLine]
    checksum: str


def partner(uscc: str) -> str:
    """The partner-key name of an employer."""
    return f"employer:{uscc}"


def write(header: EmployerHeader, lines: Sequence[EmployerLine], keys: PartnerKeys | None = None) -> bytes:
    """Lay out a file (employers' software and tests) MACed under the employer's key; the result parses back
    to the same content."""
    head = (f"H|{MAGIC}|{header.uscc}|{header.employer_name}|{header.bank_code}|{header.period}|{header.count}|"
            f"{header.total}|{header.created}\n")
    body = "".join(f"D|{ln.line_no}|{ln.id_number}|{ln.name}|{ln.insurance}|{ln.base_fen}|{ln.employer_fen}|"
                   f"{ln.employee_fen}\n" for ln in lines)
    data = (head + body).encode("utf-8")
    prefix = f"T|{header.count}|{header.total}|{partners.content_digest(data)}|".encode("ascii")
    try:
        mac = (keys or partners.default_keys()).seal(partner(header.uscc), (data, prefix))
    except partners.PartnerKeyUnknown as exc:
        raise EmployerFileMac(f"cannot sign: {exc.detail}") from None
    return b"".join((data, prefix, mac))


def peek_uscc(data: bytes) -> str:
    """The USCC in the raw header (whose key must have made the MAC); nothing else is read."""
    first = bytes(data[:300]).split(b"\n", 1)[0].split(b"|")
    if len(first) < 3 or first[:2] != [b"H", MAGIC.encode()]:
        raise EmployerFileMalformed(f"the first line is not an {MAGIC} header")
    return first[2].decode("ascii", "replace")


def parse(data: bytes, keys: PartnerKeys | None = None) -> EmployerFile:
    """Check and read a whole file: MAC (before anything else), encoding, trailer, checksum, header, USCC, lines,
    duplicates, totals."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise EmployerFileMalformed("an employer file is bytes")
    data = bytes(data)
    if not data.endswith(b"\n"):
        raise EmployerFileTruncated("the file does not end with a complete line")
    if data[data.rfind(b"\n", 0, len(data) - 1) + 1:][:2] != b"T|":
        raise EmployerFileTruncated("the last line is not a trailer (T|…)")
    try:
        (keys or partners.default_keys()).check_file(data, partner(peek_uscc(data)))
    except FileMacError as exc:
        raise EmployerFileMac(str(exc)) from None
    try:
        text = bytes(data).decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise EmployerFileEncoding(f"not UTF-8 text (byte {exc.start})") from exc
    if not text.endswith("\n"):
        raise EmployerFileTruncated("the file does not end with a complete line")
    if "\r" in text:
        raise EmployerFileMalformed("lines end with LF only; a CR was found")
    lines = text[:-1].split("\n")
    if len(lines) < 2 or not lines[-1].startswith("T|"):
        raise EmployerFileTruncated("the last line is not a trailer (T|…)")
    trailer = lines[-1].split(SEP)
    if len(trailer) != 6 or not _SHA_RE.fullmatch(trailer[3]):
        raise EmployerFileTruncated("the trailer is incomplete or its checksum is not a SHA-256 hex digest")
    body = "".join(line + "\n" for line in lines[:-1]).encode("utf-8")
    if partners.content_digest(body) != trailer[3]:
        raise EmployerFileChecksum("the content does not match the trailer checksum")
    header = _header(lines[0])
    details = [_detail(index, line) for index, line in enumerate(lines[1:-1], start=1)]
    if [d.line_no for d in details] != list(range(1, len(details) + 1)):
        if len({d.line_no for d in details}) != len(details):
            raise EmployerFileDuplicateLine("a line number appears twice")
        raise EmployerFileMalformed("line numbers must run 1..count in order")
    seen: set[tuple[str, str]] = set()
    for d in details:
        if (d.id_number, d.insurance) in seen:
            raise EmployerFileDuplicateLine(f"line {d.line_no}: the same person and insurance twice",
                                            line=d.line_no)
        seen.add((d.id_number, d.insurance))
    total = sum(d.employer_fen + d.employee_fen for d in details)
    t_count, t_total = _number(trailer[1], "trailer count"), _number(trailer[2], "trailer total")
    if not header.count == t_count == len(details) or not header.total == t_total == total:
        raise EmployerFileTotals(f"header {header.count} / {header.total} fen, trailer {t_count} / {t_total} fen, "
                                 f"lines {len(details)} / {total} fen")
    return EmployerFile(header, details, trailer[3])


def _header(line: str) -> EmployerHeader:
    parts = line.split(SEP)
    if len(parts) != 9 or parts[0] != "H" or parts[1] != MAGIC:
        raise EmployerFileMalformed(f"the first line is not an {MAGIC} header")
    uscc = parts[2]
    if not stdnum_uscc.is_valid(uscc) or uscc != uscc.strip().upper():
        raise EmployerFileUscc(f"USCC {uscc[:20]!r} fails its check character", uscc=uscc[:20])
    name = parts[3].strip()
    if not name or len(name) > 100:
        raise EmployerFileMalformed("the employer name is empty or longer than 100 characters")
    if not _BANK_RE.fullmatch(parts[4]) or not _PERIOD_RE.fullmatch(parts[5]) or not _STAMP_RE.fullmatch(parts[8]):
        raise EmployerFileMalformed("bad bank code, period (YYYY-MM) or created (YYYYMMDDHHMMSS)")
    return EmployerHeader(uscc, name, parts[4], parts[5], _number(parts[6], "header count"),
                          _number(parts[7], "header total"), parts[8])


def _detail(index: int, line: str) -> EmployerLine:
    parts = line.split(SEP)
    if len(parts) != 8 or parts[0] != "D":
        raise EmployerFileMalformed(f"detail {index} is not a D| line with 8 fields", line=index)
    if parts[4] not in INSURANCES:
        raise EmployerFileMalformed(f"detail {index}: insurance {parts[4][:20]!r} is not one of "
                                    f"{', '.join(INSURANCES)}", line=index)
    if not parts[2] or not parts[3].strip():
        raise EmployerFileMalformed(f"detail {index}: ID number and name are required", line=index)
    return EmployerLine(_number(parts[1], "line number"), parts[2], parts[3], parts[4],
                        _number(parts[5], "base"), _number(parts[6], "employer amount"),
                        _number(parts[7], "employee amount"))


def _number(value: str, what: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 15:
        raise EmployerFileMalformed(f"{what} is not a whole number: {value[:20]!r}")
    return int(value)
