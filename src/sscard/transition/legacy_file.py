"""The legacy medical card file (LMC1): the old medical-card system's card register with each card's personal
medical account balance, handed over once (or in tranches) for the move to the social security card
(docs/transition.md, where a vendor finds everything needed to produce it).

Text, ``|``-delimited, ``\\n`` line ends, no ``|``/CR/LF inside a field, in the encoding the header declares
(``UTF-8`` or ``GB18030``: the old systems wrote GBK/GB18030; the header itself is ASCII)::

    H|LMC1|source|file_id|as_of|encoding|count|total_fen|created
    C|line_no|legacy_card_no|id_number|name|balance_fen|status        (line_no = 1..count, in order)
    T|count|total_fen|sha256|key_ref|mac

- ``source``: the old system's code (A-Z 0-9, ≤ 18), whose partner key ``legacy:<source>`` MACs the file;
  ``file_id``: the old system's id for this hand-over (A-Z a-z 0-9 _ . : -, ≤ 40), imported once;
  ``as_of``: YYYYMMDD, the day the balances were struck; ``created``: YYYYMMDDHHMMSS (the writer's local time).
- ``legacy_card_no``: the old card's number (A-Z 0-9, 4-20); ``id_number``: the holder's 公民身份号码, 18
  characters (15-digit old numbers are upgraded); ``name``: 1-50 characters; ``balance_fen``: the personal
  medical account's balance in whole fen (0 allowed); ``status``: 1 正常, 2 挂失, 9 注销 in the old system.
- ``sha256``: lower-case hex SHA-256 of every byte before the trailer line; ``key_ref`` = ``legacy:<source>:v<n>``
  and ``mac`` = lower-case hex HMAC-SM3 under that key of every byte before the MAC (``sscard.kms.partners``).

The MAC is checked on the raw bytes first, against the key of the source the caller expects (default: the one
the header names). Every defect raises a subclass of ``LegacyFileRejected`` before anything is returned:
LEGACY_FILE_MAC, LEGACY_FILE_ENCODING, LEGACY_FILE_TRUNCATED, LEGACY_FILE_CHECKSUM, LEGACY_FILE_MALFORMED,
LEGACY_FILE_TOTALS, LEGACY_FILE_DUPLICATE_LINE, LEGACY_CARD_CONFLICT (one old card, two ID numbers).

Speed: four million lines are split once and checked column-wise (one ``set``, one ``sum``, one join per
column), as ``sscard.banks.files`` does; the result keeps columns, not an object per line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import NamedTuple

from sscard import clock
from sscard.bulksql import no_gc
from sscard.kms import partners
from sscard.kms.partners import FileMacError, PartnerKeys
from sscard.registry import idnumber
from sscard.transition.errors import (
    LegacyCardConflict,
    LegacyFileChecksum,
    LegacyFileDuplicateLine,
    LegacyFileEncoding,
    LegacyFileMac,
    LegacyFileMalformed,
    LegacyFileTotals,
    LegacyFileTruncated,
)

SEP = "|"
MAGIC = "LMC1"
ENCODINGS = ("UTF-8", "GB18030")
STATUSES = {"1": "normal", "2": "lost", "9": "cancelled"}
NAME_MAX = 50
_SOURCE_RE = re.compile(r"[A-Z0-9]{1,18}")
_FILE_ID_RE = re.compile(r"[A-Za-z0-9_.:\-]{1,40}")
_DATE_RE = re.compile(r"[0-9]{8}")
_STAMP_RE = re.compile(r"[0-9]{14}")
_SHA_RE = re.compile(r"[0-9a-f]{64}")
_CARD_RE = re.compile(r"[0-9A-Z]{4,20}")
_ID18_RE = re.compile(r"[0-9]{17}[0-9X]")
_ID15_RE = re.compile(r"[0-9]{15}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Header:
    source: str
    file_id: str
    as_of: str  # YYYYMMDD
    encoding: str  # UTF-8 | GB18030
    count: int
    total: int  # fen
    created: str  # YYYYMMDDHHMMSS


class Line(NamedTuple):
    line_no: int
    legacy_card_no: str
    id_number: str
    name: str
    balance: int  # fen, ≥ 0
    status: str  # 1 | 2 | 9


@dataclass(frozen=True, slots=True)
class LegacyFile:
    """A checked file, kept as columns (four million ``Line`` objects would cost more than the parse)."""

    header: Header
    cards: list[str]
    id_numbers: list[str]  # normalised: 18 characters, upper-case X
    names: list[str]
    balances: list[int]
    statuses: list[str]
    checksum: str

    def __len__(self) -> int:
        return len(self.cards)

    def lines(self) -> Iterator[Line]:
        for i, row in enumerate(zip(self.cards, self.id_numbers, self.names, self.balances, self.statuses,
                                    strict=True), start=1):
            yield Line(i, *row)


def partner(source: str) -> str:
    """The partner-key name of an old system."""
    return f"legacy:{source}"


def new_header(source: str, file_id: str, as_of: str, lines: Sequence[Line], encoding: str = "UTF-8",
               created: str | None = None) -> Header:
    """The header for these lines (count and total counted from them)."""
    stamp = created or clock.now().astimezone(clock.local_zone()).strftime("%Y%m%d%H%M%S")
    return Header(source, file_id, as_of, encoding, len(lines), sum(line.balance for line in lines), stamp)


# ---------------------------------------------------------------------------------------------------- writing


def write_file(header: Header, lines: Sequence[Line], keys: PartnerKeys | None = None) -> bytes:
    """Lay out and MAC a file (what the old system's vendor produces; tests, the bench and the sample use it).
    Refuses lines that would not parse back identically."""
    _check_header(header)
    n = len(lines)
    if (n, sum(line.balance for line in lines)) != (header.count, header.total):
        raise LegacyFileTotals(f"header says {header.count} lines / {header.total} fen, the lines hold {n} / "
                               f"{sum(line.balance for line in lines)}")
    body = "".join([f"C|{ln.line_no}|{ln.legacy_card_no}|{ln.id_number}|{ln.name}|{ln.balance}|{ln.status}\n"
                    for ln in lines])
    if body.count(SEP) != 6 * n or body.count("\n") != n or "\r" in body:
        raise LegacyFileMalformed("a field contains '|' or a line break")
    if not all(_CARD_RE.fullmatch(ln.legacy_card_no) and 0 < len(ln.name) <= NAME_MAX and ln.balance >= 0
               and ln.status in STATUSES for ln in lines) or _CONTROL_RE.search("".join(ln.name for ln in lines)):
        raise LegacyFileMalformed("a card number, name, balance or status would not read back")
    head = (f"H|{MAGIC}|{header.source}|{header.file_id}|{header.as_of}|{header.encoding}|{header.count}|"
            f"{header.total}|{header.created}\n")
    try:
        data = (head + body).encode(header.encoding.lower())
    except UnicodeEncodeError as exc:
        raise LegacyFileEncoding(f"a name cannot be written in {header.encoding}") from exc
    prefix = f"T|{n}|{header.total}|{partners.content_digest(data)}|".encode("ascii")
    try:
        mac = (keys or partners.default_keys()).seal(partner(header.source), (data, prefix))
    except partners.PartnerKeyUnknown as exc:
        raise LegacyFileMac(f"cannot sign: {exc.detail}") from None
    return b"".join((data, prefix, mac))


def _check_header(h: Header) -> None:
    problems = [what for what, ok in (
        ("source (A-Z 0-9, ≤ 18)", isinstance(h.source, str) and _SOURCE_RE.fullmatch(h.source)),
        ("file id (A-Z a-z 0-9 _ . : -, ≤ 40)", isinstance(h.file_id, str) and _FILE_ID_RE.fullmatch(h.file_id)),
        ("as of (YYYYMMDD)", isinstance(h.as_of, str) and _DATE_RE.fullmatch(h.as_of) and _real_date(h.as_of)),
        ("encoding (UTF-8 or GB18030)", h.encoding in ENCODINGS),
        ("created (YYYYMMDDHHMMSS)", isinstance(h.created, str) and _STAMP_RE.fullmatch(h.created)),
        ("count", type(h.count) is int and h.count >= 0),
        ("total", type(h.total) is int and h.total >= 0),
    ) if not ok]
    if problems:
        raise LegacyFileMalformed(f"{MAGIC} header: bad " + ", ".join(problems))


def _real_date(value: str) -> bool:
    import datetime as dt

    try:
        dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------------------------------- reading


def peek_source(data: bytes) -> str:
    """The source in a file's header, read from the raw first line (nothing else is read before the MAC)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise LegacyFileMalformed("a legacy card file is bytes")
    first = bytes(data[:300]).split(b"\n", 1)[0].split(b"|")
    source = first[2].decode("ascii", "replace") if len(first) > 2 else ""
    if len(first) < 2 or first[0] != b"H" or first[1] != MAGIC.encode() or not _SOURCE_RE.fullmatch(source):
        raise LegacyFileMalformed(f"the first line is not an {MAGIC} header naming a source")
    return source


def parse_file(data: bytes, keys: PartnerKeys | None = None, source: str | None = None) -> LegacyFile:
    """Check and read a whole file: the MAC must be under the key of ``source`` (the old system the caller
    expects it from; default the one the header names)."""
    with no_gc():
        return parse_opened(open_file(data, keys, source))


def parse_opened(opened: Opened) -> LegacyFile:
    """The detail lines of a checked file, read whole (``read_chunks``) and kept as columns; a card given twice
    is refused here (LEGACY_FILE_DUPLICATE_LINE, or LEGACY_CARD_CONFLICT with two ID numbers)."""
    with no_gc():
        cards: list[str] = []
        ids: list[str] = []
        names: list[str] = []
        balances: list[int] = []
        statuses: list[str] = []
        for chunk in read_chunks(opened):
            cards += chunk.cards
            ids += chunk.id_numbers
            names += chunk.names
            balances += chunk.balances
            statuses += chunk.statuses
        if len(set(cards)) != len(cards):
            _duplicates(cards, ids)
        return LegacyFile(opened.header, cards, ids, names, balances, statuses, opened.checksum)


@dataclass(frozen=True, slots=True)
class Opened:
    """A file whose MAC, checksum, header and trailer were checked; its detail lines not read yet
    (``read_chunks``)."""

    header: Header
    checksum: str
    data: bytes
    body: tuple[int, int]  # the byte range of the detail lines
    trailer: tuple[int, int]  # the trailer's count and total


@dataclass(frozen=True, slots=True)
class Chunk:
    """Consecutive checked detail lines, as columns; ``text`` is their decoded text as it stands in the file
    (``|``-delimited lines) and ``as_written`` says that the columns are that text split (no ID number was
    normalised), so a caller may hand the text on as it is instead of joining the columns again."""

    first: int  # the line number of the first line
    cards: list[str]
    id_numbers: list[str]
    names: list[str]
    balances: list[int]
    statuses: list[str]
    text: str
    as_written: bool

    def __len__(self) -> int:
        return len(self.cards)


CHUNK_BYTES = 4 << 20  # about 70,000 lines a chunk: the columns of one chunk at a time, never the file's


def open_file(data: bytes, keys: PartnerKeys | None = None, source: str | None = None) -> Opened:
    """Check everything of a file but its detail lines: the MAC on the raw bytes first, then the checksum, the
    header and the trailer (the refusals of ``parse_file`` that do not need the lines)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise LegacyFileMalformed("a legacy card file is bytes")
    data = bytes(data)
    if not data.endswith(b"\n"):
        raise LegacyFileTruncated("the file does not end with a complete line")
    start = data.rfind(b"\n", 0, len(data) - 1) + 1
    if start == 0 or data[start:start + 2] != b"T|":
        raise LegacyFileTruncated("the last line is not a trailer (T|…)")
    expected = source or peek_source(data)
    try:
        (keys or partners.default_keys()).check_file(data, partner(expected))
    except FileMacError as exc:
        raise LegacyFileMac(str(exc)) from None
    # The header is ASCII whatever the encoding: it says how to read the rest.
    head_end = data.find(b"\n")
    try:
        head_fields = data[:head_end].decode("ascii").split(SEP)
    except UnicodeDecodeError:
        raise LegacyFileMalformed("the header line is not ASCII") from None
    if len(head_fields) != 9 or head_fields[0] != "H" or head_fields[1] != MAGIC:
        raise LegacyFileMalformed(f"the first line is not an {MAGIC} header (9 fields)")
    encoding = head_fields[5]
    if encoding not in ENCODINGS:
        raise LegacyFileMalformed(f"encoding {encoding[:12]!r} is neither UTF-8 nor GB18030")
    trailer = data[start:-1].decode("ascii", "replace").split(SEP)
    if len(trailer) != 6 or not _SHA_RE.fullmatch(trailer[3]):
        raise LegacyFileTruncated("the trailer is incomplete or its checksum is not a SHA-256 hex digest")
    if partners.content_digest(memoryview(data)[:start]) != trailer[3]:
        raise LegacyFileChecksum("the content does not match the trailer checksum (changed, added or removed bytes)")
    header = Header(head_fields[2], head_fields[3], head_fields[4], encoding,
                    _digits(head_fields[6], "header count"), _digits(head_fields[7], "header total"), head_fields[8])
    _check_header(header)
    if header.source != expected:
        raise LegacyFileMac(f"the header names {header.source}, the file was expected from {expected}")
    t_count, t_total = _digits(trailer[1], "trailer count"), _digits(trailer[2], "trailer total")
    return Opened(header, trailer[3], data, (head_end + 1, start), (t_count, t_total))


def read_chunks(opened: Opened, chunk_bytes: int = CHUNK_BYTES) -> Iterator[Chunk]:
    """The detail lines, checked, a chunk at a time (cut at line ends: no byte 0x0A is part of a multi-byte
    character in UTF-8 or GB18030). After the last chunk the counts and totals of the header, the trailer and
    the lines are compared (LEGACY_FILE_TOTALS): a caller that takes every chunk has a file checked whole.
    A card given twice is the caller's to find (``parse_file`` does it in memory; an import, in its table)."""
    data, encoding, h = opened.data, opened.header.encoding.lower(), opened.header
    at, end = opened.body
    n = total = 0
    while at < end:
        cut = end if end - at <= chunk_bytes else data.find(b"\n", at + chunk_bytes, end) + 1
        try:
            text = data[at:cut].decode(encoding, errors="strict")
        except UnicodeDecodeError as exc:
            raise LegacyFileEncoding(f"not {h.encoding} text (byte {at + exc.start})") from None
        if "\r" in text:
            raise LegacyFileMalformed("lines end with LF only; a CR was found")
        chunk = _chunk(text, n + 1)
        n += len(chunk)
        total += sum(chunk.balances)
        at = cut
        yield chunk
    t_count, t_total = opened.trailer
    if not h.count == t_count == n or not h.total == t_total == total:
        raise LegacyFileTotals(f"header {h.count} / {h.total} fen, trailer {t_count} / {t_total} fen, "
                               f"lines {n} / {total} fen")


def _chunk(text: str, first: int) -> Chunk:
    """Lines ``first``… checked column-wise (one pass in C per rule; the loop naming the line runs only for a
    defect), reported by their line number in the file."""
    details = text.split("\n")[:-1]
    tags, numbers, cards, raw_ids, names, raw_balances, statuses = _columns(details, first)
    n = len(details)
    if numbers != list(map(str, range(first, first + n))):
        raise LegacyFileMalformed("line numbers must run 1..count in order")
    joined = "".join(cards)
    if not (joined.isascii() and joined.isalnum() and joined.upper() == joined
            and min(map(len, cards)) >= 4 and max(map(len, cards)) <= 20):
        bad = next(i for i, c in enumerate(cards) if not _CARD_RE.fullmatch(c))
        raise LegacyFileMalformed(f"line {first + bad}: the legacy card number is not 4-20 of 0-9 A-Z")
    ids = _id_numbers(raw_ids, first)
    if min(map(len, names)) == 0 or max(map(len, names)) > NAME_MAX:
        bad = next(i for i, v in enumerate(names) if not 0 < len(v) <= NAME_MAX)
        raise LegacyFileMalformed(f"line {first + bad}: the name must be 1-{NAME_MAX} characters")
    if _CONTROL_RE.search("".join(names)):
        bad = next(i for i, v in enumerate(names) if _CONTROL_RE.search(v))
        raise LegacyFileMalformed(f"line {first + bad}: the name holds a control character")
    balances = _balances(raw_balances, first)
    if not set(statuses) <= STATUSES.keys():
        bad = next(i for i, s in enumerate(statuses) if s not in STATUSES)
        raise LegacyFileMalformed(f"line {first + bad}: status {statuses[bad][:3]!r} is not 1, 2 or 9")
    del tags
    return Chunk(first, cards, ids, names, balances, statuses, text, ids is raw_ids)


def _columns(details: list[str], first: int) -> list[list[str]]:
    counts = set(map(str.count, details, repeat(SEP)))
    if counts != {6}:
        bad = next(i for i, line in enumerate(details) if line.count(SEP) != 6)
        raise LegacyFileMalformed(f"detail {first + bad} does not have 7 fields")
    flat = SEP.join(details).split(SEP)
    columns = [flat[i::7] for i in range(7)]
    if set(columns[0]) != {"C"}:
        bad = next(i for i, t in enumerate(columns[0]) if t != "C")
        raise LegacyFileMalformed(f"detail {first + bad} is not a C| line")
    return columns


def _id_numbers(raw: list[str], first: int) -> list[str]:
    """18 characters with an upper-case X; a 15-digit old number is upgraded (GB 11643-1999). The check digit is
    not checked here: a number that matches nobody goes to the exceptions queue, with the reason. ``raw`` itself
    is returned when nothing needed normalising."""
    if all(map(_ID18_RE.fullmatch, raw)):
        return raw
    ids = [v.upper() for v in raw]
    if all(map(_ID18_RE.fullmatch, ids)):
        return ids
    out = []
    for i, v in enumerate(ids):
        if _ID18_RE.fullmatch(v):
            out.append(v)
        elif _ID15_RE.fullmatch(v):
            out.append(idnumber.upgrade_15(v))
        else:
            raise LegacyFileMalformed(f"line {first + i}: the ID number is not 18 characters (or 15 digits)")
    return out


def _duplicates(cards: list[str], ids: list[str]) -> None:
    seen: dict[str, int] = {}
    for i, card in enumerate(cards):
        first = seen.setdefault(card, i)
        if first == i:
            continue
        if ids[first] != ids[i]:
            raise LegacyCardConflict(f"lines {first + 1} and {i + 1}: one legacy card is claimed by two ID numbers "
                                     f"({idnumber.mask(ids[first])}, {idnumber.mask(ids[i])})")
        raise LegacyFileDuplicateLine(f"lines {first + 1} and {i + 1}: the same legacy card twice")


def _digits(value: str, what: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise LegacyFileMalformed(f"{what} is not a whole number: {value[:20]!r}")
    return int(value)


def _balances(values: list[str], first: int) -> list[int]:
    """Whole numbers ≥ 0, checked as one column (ASCII digits only, 1-18 of them)."""
    joined = "".join(values)
    if not (joined.isascii() and joined.isdigit()) or min(map(len, values)) == 0 or max(map(len, values)) > 18:
        bad = next(i for i, v in enumerate(values) if not (v.isascii() and v.isdigit()) or not 0 < len(v) <= 18)
        raise LegacyFileMalformed(f"line {first + bad}: the balance is not a whole number of fen")
    return list(map(int, values))
