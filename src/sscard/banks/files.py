"""The one batch-file format between the bureau and the cooperating banks (docs/banks.md): writing and checking
batch files (ours → bank) and return files (bank → ours), for pay-outs (credit, 代发) and withholding (debit, 代扣).

UTF-8 text, ``|``-delimited, ``\\n`` line ends, no ``|``/CR/LF inside a field::

    batch   H|SSB1|bank_code|kind|batch_id|period|count|total_fen|created
            D|line_no|ref|account_no|name|id_number|amount_fen          (line_no = 1..count, in order)
            T|count|total_fen|sha256|key_ref|mac
    return  H|SSR1|bank_code|kind|batch_id|period|count|total_fen|created    (the batch's header echoed)
            R|line_no|ref|account_no|amount_fen|status|reason           (status S or F; reason iff F)
            T|count|total_fen|ok_count|ok_fen|failed_count|failed_fen|sha256|key_ref|mac

``sha256`` is the lower-case hex SHA-256 of every byte before the trailer line (header and details): the
content's identity. ``key_ref`` is ``bank:<bank_code>:v<version>``, the bank's file key from
``sscard.kms.partners``; ``mac`` is the lower-case hex HMAC-SM3 under that key of every byte before the MAC
(the trailer up to and including the ``|`` after ``key_ref``). Both directions use the bank's key: the bureau
signs batches and checks returns, the bank checks batches and signs returns. The MAC is checked on the raw bytes
before anything else is read, against the key of the bank the caller expects (the return against the bank the
batch was sent to), never the bank the file names.

Public contract (names are stable; the funds packages code against them):

- ``Kind`` (credit | debit), ``Reason`` (the per-line failure codes), ``BatchHeader``, ``BatchLine``,
  ``BatchFile``, ``ReturnLine``, ``ReturnFile``.
- ``new_header(bank_code, kind, batch_id, period, lines, created=None) -> BatchHeader`` (count/total from lines)
- ``write_batch(header, lines, keys=None) -> bytes``; ``parse_batch(data, keys=None, bank_code=None) ->
  BatchFile`` (``bank_code``: the bank receiving it, whose key must have made the MAC; default the header's)
- ``write_return(header, results, created=None, keys=None) -> bytes`` (``header`` = the batch's header)
- ``parse_return(data, sent, keys=None) -> ReturnFile`` where ``sent`` is the ``BatchHeader`` sent or,
  stricter, the whole ``BatchFile`` sent (then every answered line must carry the sent ref, account and amount).
- ``keys``: a ``sscard.kms.partners.PartnerKeys``; default ``partners.default_keys()``.

Every defect raises a subclass of ``sscard.banks.errors.BankFileRejected`` before anything is returned — the
file is taken whole or not at all: BANK_FILE_MAC, BANK_FILE_ENCODING, BANK_FILE_TRUNCATED, BANK_FILE_CHECKSUM,
BANK_FILE_MALFORMED, BANK_FILE_MISMATCH, BANK_FILE_TOTALS, BANK_FILE_UNKNOWN_LINE, BANK_FILE_DUPLICATE_LINE.

Speed: a million lines are split with ``str.split`` and checked column-wise (one ``set``, one ``sum``, one
character count per column), never with a regex per line.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import NamedTuple

from sscard import clock
from sscard.banks.errors import (
    BankFileChecksum,
    BankFileDuplicateLine,
    BankFileEncoding,
    BankFileMac,
    BankFileMalformed,
    BankFileMismatch,
    BankFileTotals,
    BankFileTruncated,
    BankFileUnknownLine,
)
from sscard.bulksql import no_gc
from sscard.kms import partners
from sscard.kms.partners import FileMacError, PartnerKeys

SEP = "|"
BATCH_MAGIC = "SSB1"
RETURN_MAGIC = "SSR1"
OK, FAILED = "S", "F"
_BANK_RE = re.compile(r"[A-Z0-9]{1,10}")
_BATCH_ID_RE = re.compile(r"[A-Za-z0-9_.:\-]{1,40}")
_PERIOD_RE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
_STAMP_RE = re.compile(r"[0-9]{14}")
_SHA_RE = re.compile(r"[0-9a-f]{64}")
_TIME_FORMAT = "%Y%m%d%H%M%S"


class Kind(enum.StrEnum):
    CREDIT = "credit"  # 代发: the bank credits the holder's account (benefits)
    DEBIT = "debit"  # 代扣: the bank debits the holder's account (contributions)


class Reason(enum.StrEnum):
    """Why the bank refused one line (stable strings, shared by files and real-time calls)."""

    NAME_MISMATCH = "NAME_MISMATCH"  # 户名不符
    ACCOUNT_CLOSED = "ACCOUNT_CLOSED"  # 销户
    ACCOUNT_FROZEN = "ACCOUNT_FROZEN"  # 冻结
    ACCOUNT_LOST = "ACCOUNT_LOST"  # 挂失
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"  # 余额不足 (debits only)
    FINANCIAL_NOT_ACTIVATED = "FINANCIAL_NOT_ACTIVATED"  # 金融功能未激活
    NO_ACCOUNT = "NO_ACCOUNT"  # 账号不存在


_REASONS = frozenset(r.value for r in Reason)


@dataclass(frozen=True, slots=True)
class BatchHeader:
    bank_code: str
    kind: Kind
    batch_id: str
    period: str  # YYYY-MM
    count: int
    total: int  # fen
    created: str  # YYYYMMDDHHMMSS, local time of the writer


class BatchLine(NamedTuple):
    line_no: int
    ref: str  # our reference: unique in the batch (the payment's idempotency key)
    account_no: str
    name: str
    id_number: str  # may be empty
    amount: int  # fen, > 0


@dataclass(frozen=True, slots=True)
class BatchFile:
    header: BatchHeader
    lines: list[BatchLine]
    checksum: str


class ReturnLine(NamedTuple):
    line_no: int
    ref: str
    account_no: str
    amount: int
    ok: bool
    reason: str | None  # a ``Reason`` value when not ok, else None


@dataclass(frozen=True, slots=True)
class ReturnFile:
    header: BatchHeader  # the batch's header as echoed by the bank; ``created`` is when the bank answered
    lines: list[ReturnLine]  # one per sent line, in the bank's order
    ok_count: int
    ok_amount: int
    failed_count: int
    failed_amount: int
    checksum: str

    def failures(self) -> list[ReturnLine]:
        return [line for line in self.lines if not line.ok]


def stamp(moment: dt.datetime | None = None) -> str:
    """YYYYMMDDHHMMSS in the bureau's local time (the ``created`` field)."""
    return (moment or clock.now()).astimezone(clock.local_zone()).strftime(_TIME_FORMAT)


def new_header(bank_code: str, kind: Kind | str, batch_id: str, period: str, lines: Sequence[BatchLine],
               created: dt.datetime | None = None) -> BatchHeader:
    """The header for these lines (count and total counted from them)."""
    return BatchHeader(bank_code, Kind(kind), batch_id, period, len(lines), sum(line.amount for line in lines),
                       stamp(created))


# ---------------------------------------------------------------------------------------------------- writing


def write_batch(header: BatchHeader, lines: Sequence[BatchLine], keys: PartnerKeys | None = None) -> bytes:
    """Lay out a batch file; refuses (``BankFileRejected``) lines that would not parse back identically."""
    _check_header(header, BATCH_MAGIC)
    n = len(lines)
    if [line.line_no for line in lines] != list(range(1, n + 1)):
        raise BankFileMalformed("line numbers must run 1..count in order")
    amounts = [line.amount for line in lines]
    _check_amounts(amounts)
    if (n, sum(amounts)) != (header.count, header.total):
        raise BankFileTotals(f"header says {header.count} lines / {header.total} fen, the lines hold "
                             f"{n} / {sum(amounts)}")
    if len({line.ref for line in lines}) != n:
        raise BankFileDuplicateLine("the same reference twice in one batch")
    body = "".join([f"D|{ln.line_no}|{ln.ref}|{ln.account_no}|{ln.name}|{ln.id_number}|{ln.amount}\n"
                    for ln in lines])
    # Column-wise check instead of one per field: any separator or line break inside a field shows up here.
    if body.count(SEP) != 6 * n or body.count("\n") != n or "\r" in body:
        raise BankFileMalformed("a field contains '|' or a line break")
    if not all(line.ref and line.account_no and line.name for line in lines):
        raise BankFileMalformed("reference, account number and name must not be empty")
    return _seal(_header_line(header, BATCH_MAGIC) + body, f"T|{n}|{header.total}|", header.bank_code, keys)


def write_return(header: BatchHeader, results: Sequence[ReturnLine], created: dt.datetime | None = None,
                 keys: PartnerKeys | None = None) -> bytes:
    """Lay out the return file answering the batch with ``header``; the trailer splits ok and failed totals."""
    _check_header(header, RETURN_MAGIC)
    n = len(results)
    amounts = [r.amount for r in results]
    _check_amounts(amounts)
    ok_count = ok_amount = 0
    for r in results:
        if r.ok:
            if r.reason:
                raise BankFileMalformed(f"line {r.line_no}: a successful line carries no reason")
            ok_count += 1
            ok_amount += r.amount
        elif r.reason not in _REASONS:
            raise BankFileMalformed(f"line {r.line_no}: unknown reason {str(r.reason)[:30]!r}")
    body = "".join([f"R|{r.line_no}|{r.ref}|{r.account_no}|{r.amount}|{OK if r.ok else FAILED}|{r.reason or ''}\n"
                    for r in results])
    if body.count(SEP) != 6 * n or body.count("\n") != n or "\r" in body:
        raise BankFileMalformed("a field contains '|' or a line break")
    total = sum(amounts)
    answered = BatchHeader(header.bank_code, header.kind, header.batch_id, header.period, header.count,
                           header.total, stamp(created))
    return _seal(_header_line(answered, RETURN_MAGIC) + body,
                 f"T|{n}|{total}|{ok_count}|{ok_amount}|{n - ok_count}|{total - ok_amount}|", header.bank_code, keys)


def _header_line(h: BatchHeader, magic: str) -> str:
    return f"H|{magic}|{h.bank_code}|{h.kind.value}|{h.batch_id}|{h.period}|{h.count}|{h.total}|{h.created}\n"


def partner(bank_code: str) -> str:
    """The partner-key name of a bank."""
    return f"bank:{bank_code}"


def _seal(text: str, trailer_prefix: str, bank_code: str, keys: PartnerKeys | None) -> bytes:
    data = text.encode("utf-8")
    prefix = f"{trailer_prefix}{partners.content_digest(data)}|".encode("ascii")
    try:
        mac = (keys or partners.default_keys()).seal(partner(bank_code), (data, prefix))
    except partners.PartnerKeyUnknown as exc:
        raise BankFileMac(f"cannot sign: {exc.detail}") from None
    return b"".join((data, prefix, mac))


def _check_header(h: BatchHeader, magic: str) -> None:
    problems = [what for what, ok in (
        ("bank code (A-Z 0-9, ≤ 10)", _BANK_RE.fullmatch(h.bank_code)),
        ("batch id (A-Z a-z 0-9 _ . : -, ≤ 40)", _BATCH_ID_RE.fullmatch(h.batch_id)),
        ("period (YYYY-MM)", _PERIOD_RE.fullmatch(h.period)),
        ("created (YYYYMMDDHHMMSS)", _STAMP_RE.fullmatch(h.created)),
        ("kind", isinstance(h.kind, Kind)),
        ("count", type(h.count) is int and h.count >= 0),
        ("total", type(h.total) is int and h.total >= 0),
    ) if not ok]
    if problems:
        raise BankFileMalformed(f"{magic} header: bad " + ", ".join(problems))


def _check_amounts(amounts: Sequence[int]) -> None:
    if amounts and (not all(type(a) is int for a in amounts) or min(amounts) <= 0):
        raise BankFileMalformed("every amount must be a positive whole number of fen")


# ---------------------------------------------------------------------------------------------------- reading


def parse_batch(data: bytes, keys: PartnerKeys | None = None, bank_code: str | None = None) -> BatchFile:
    """Check and read a whole batch file (the bank side of the exchange): the MAC must be under the key of
    ``bank_code`` (the bank receiving it; default the bank its header names)."""
    with no_gc():
        header_text, details, trailer, checksum = _open(data, 6, bank_code or peek_bank_code(data), keys)
        header = _parse_header(header_text, BATCH_MAGIC)
        _tags, numbers, refs, accounts, names, ids, raw_amounts = _columns(details, "D")
        n = len(details)
        if len(set(numbers)) != n:
            raise BankFileDuplicateLine("a line number appears twice")
        if numbers != [str(i) for i in range(1, n + 1)]:
            raise BankFileMalformed("line numbers must run 1..count in order")
        if len(set(refs)) != n:
            raise BankFileDuplicateLine("a reference appears twice")
        amounts = _amounts(raw_amounts)
        _need_text(refs, "reference")
        _need_text(accounts, "account number")
        _need_text(names, "name")
        total = sum(amounts)
        t_count, t_total = _digits(trailer[0], "trailer count"), _digits(trailer[1], "trailer total")
        if not header.count == t_count == n or not header.total == t_total == total:
            raise BankFileTotals(f"header {header.count} / {header.total} fen, trailer {t_count} / {t_total} fen, "
                                 f"lines {n} / {total} fen")
        lines = list(map(BatchLine._make, zip(range(1, n + 1), refs, accounts, names, ids, amounts, strict=True)))
        return BatchFile(header, lines, checksum)


def parse_return(data: bytes, sent: BatchHeader | BatchFile, keys: PartnerKeys | None = None) -> ReturnFile:
    """Check and read a whole return file against the batch that was sent (its MAC under the key of the bank
    the batch was sent to)."""
    with no_gc():
        return _parse_return(data, sent, keys)


def _parse_return(data: bytes, sent: BatchHeader | BatchFile, keys: PartnerKeys | None) -> ReturnFile:
    sent_header = sent.header if isinstance(sent, BatchFile) else sent
    header_text, details, trailer, checksum = _open(data, 10, sent_header.bank_code, keys)
    header = _parse_header(header_text, RETURN_MAGIC)
    mine = (sent_header.bank_code, sent_header.kind, sent_header.batch_id, sent_header.period)
    theirs = (header.bank_code, header.kind, header.batch_id, header.period)
    if mine != theirs:
        raise BankFileMismatch(f"the return is for {'/'.join(map(str, theirs))}, "
                               f"the batch was {'/'.join(map(str, mine))}")
    if (header.count, header.total) != (sent_header.count, sent_header.total):
        raise BankFileTotals(f"the return header says {header.count} / {header.total} fen, "
                             f"the batch sent {sent_header.count} / {sent_header.total} fen")
    _tags, raw_numbers, refs, accounts, raw_amounts, statuses, reasons = _columns(details, "R")
    n = len(details)
    numbers = _amounts(raw_numbers, what="line number")
    if len(set(numbers)) != n:
        raise BankFileDuplicateLine("a line is answered twice")
    if len(set(refs)) != n:
        raise BankFileDuplicateLine("a reference is answered twice")
    if numbers and max(numbers) > sent_header.count:
        raise BankFileUnknownLine(f"line {max(numbers)} was never sent (the batch has {sent_header.count})")
    amounts = _amounts(raw_amounts)
    if isinstance(sent, BatchFile):
        _match_sent(numbers, refs, accounts, amounts, sent.lines)
    if n != sent_header.count:
        raise BankFileTotals(f"{n} lines answered, {sent_header.count} sent")
    total = sum(amounts)
    if total != sent_header.total:
        raise BankFileTotals(f"the lines hold {total} fen, the batch sent {sent_header.total} fen")
    ok_flags = [s == OK for s in statuses]
    # Column checks: successes carry no reason, failures a known one, and nothing else is a status.
    if not set(statuses) <= {OK, FAILED} or any(r for r, ok in zip(reasons, ok_flags, strict=True) if ok) \
            or not {r for r, ok in zip(reasons, ok_flags, strict=True) if not ok} <= _REASONS:
        bad = next(i for i, (s, r) in enumerate(zip(statuses, reasons, strict=True))
                   if not ((s == OK and not r) or (s == FAILED and r in _REASONS)))
        raise BankFileMalformed(f"line {numbers[bad]}: status {statuses[bad][:3]!r} with reason {reasons[bad][:30]!r}")
    ok_count = sum(ok_flags)
    ok_amount = sum(a for a, ok in zip(amounts, ok_flags, strict=True) if ok)
    counted = (n, total, ok_count, ok_amount, n - ok_count, total - ok_amount)
    stated = tuple(_digits(v, "trailer total") for v in trailer[:6])
    if stated != counted:
        raise BankFileTotals("trailer count/total/ok/ok fen/failed/failed fen "
                             f"{'/'.join(map(str, stated))}, the lines add up to {'/'.join(map(str, counted))}")
    why = [None if ok else r for r, ok in zip(reasons, ok_flags, strict=True)]
    lines = list(map(ReturnLine._make, zip(numbers, refs, accounts, amounts, ok_flags, why, strict=True)))
    return ReturnFile(header, lines, ok_count, ok_amount, n - ok_count, total - ok_amount, checksum)


def _match_sent(numbers: list[int], refs: list[str], accounts: list[str], amounts: list[int],
                sent: list[BatchLine]) -> None:
    for number, ref, account, amount in zip(numbers, refs, accounts, amounts, strict=True):
        line = sent[number - 1]
        if line.ref != ref or line.account_no != account or line.amount != amount:
            raise BankFileUnknownLine(f"line {number} does not match the line sent (ref {ref[:64]})")


def peek_bank_code(data: bytes) -> str:
    """The bank code in a file's header, read from the raw first line (nothing else is read before the MAC)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise BankFileMalformed("a bank file is bytes")
    first = bytes(data[:200]).split(b"\n", 1)[0].split(b"|")
    code = first[2].decode("ascii", "replace") if len(first) > 2 else ""
    if not _BANK_RE.fullmatch(code):
        raise BankFileMalformed("the first line is not a header naming a bank")
    return code


def _open(data: bytes, trailer_fields: int, bank_code: str,
          keys: PartnerKeys | None) -> tuple[str, list[str], list[str], str]:
    """Verify the MAC, decode, find the trailer, verify the checksum: (header line, detail lines, trailer fields,
    checksum)."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise BankFileMalformed("a bank file is bytes")
    data = bytes(data)
    if not data.endswith(b"\n"):
        raise BankFileTruncated("the file does not end with a complete line")
    if data[data.rfind(b"\n", 0, len(data) - 1) + 1:][:2] != b"T|":
        raise BankFileTruncated("the last line is not a trailer (T|…)")
    try:
        (keys or partners.default_keys()).check_file(data, partner(bank_code))
    except FileMacError as exc:
        raise BankFileMac(str(exc)) from None
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise BankFileEncoding(f"not UTF-8 text (byte {exc.start})") from exc
    if not text.endswith("\n"):
        raise BankFileTruncated("the file does not end with a complete line")
    if "\r" in text:
        raise BankFileMalformed("lines end with LF only; a CR was found")
    start = data.rfind(b"\n", 0, len(data) - 1) + 1
    text_start = text.rfind("\n", 0, len(text) - 1) + 1
    trailer = text[text_start:-1].split(SEP)
    if start == 0 or trailer[0] != "T":
        raise BankFileTruncated("the last line is not a trailer (T|…)")
    if len(trailer) != trailer_fields or not _SHA_RE.fullmatch(trailer[-3]):
        raise BankFileTruncated("the trailer is incomplete or its checksum is not a SHA-256 hex digest")
    if partners.content_digest(data[:start]) != trailer[-3]:
        raise BankFileChecksum("the content does not match the trailer checksum (changed, added or removed bytes)")
    lines = text[:text_start].split("\n")[:-1]
    return lines[0], lines[1:], trailer[1:-3], trailer[-3]


def _parse_header(line: str, magic: str) -> BatchHeader:
    parts = line.split(SEP)
    if len(parts) != 9 or parts[0] != "H" or parts[1] != magic:
        raise BankFileMalformed(f"the first line is not an {magic} header")
    try:
        kind = Kind(parts[3])
    except ValueError:
        raise BankFileMalformed(f"kind {parts[3][:10]!r} is neither credit nor debit") from None
    header = BatchHeader(parts[2], kind, parts[4], parts[5], _digits(parts[6], "header count"),
                         _digits(parts[7], "header total"), parts[8])
    _check_header(header, magic)
    return header


def _columns(details: list[str], tag: str) -> list[list[str]]:
    """The seven columns of the detail lines, from one split of the whole text (no list per line)."""
    if not details:
        return [[] for _ in range(7)]
    counts = set(map(str.count, details, repeat(SEP)))
    if counts != {6}:
        bad = next(i for i, line in enumerate(details) if line.count(SEP) != 6)
        raise BankFileMalformed(f"detail {bad + 1} does not have 7 fields")
    flat = SEP.join(details).split(SEP)
    columns = [flat[i::7] for i in range(7)]
    if set(columns[0]) != {tag}:
        bad = next(i for i, t in enumerate(columns[0]) if t != tag)
        raise BankFileMalformed(f"detail {bad + 1} is not a {tag}| line")
    return columns


def _digits(value: str, what: str) -> int:
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise BankFileMalformed(f"{what} is not a whole number: {value[:20]!r}")
    return int(value)


def _amounts(values: list[str], what: str = "amount") -> list[int]:
    """Whole positive numbers, checked as one column (ASCII digits only, ≤ 18 of them, not zero)."""
    if not values:
        return []
    joined = "".join(values)
    if not (joined.isascii() and joined.isdigit()) or min(map(len, values)) == 0 or max(map(len, values)) > 18:
        bad = next(v for v in values if not (v.isascii() and v.isdigit()) or not 0 < len(v) <= 18)
        raise BankFileMalformed(f"{what} is not a whole number: {bad[:20]!r}")
    numbers = list(map(int, values))
    if min(numbers) <= 0:
        raise BankFileMalformed(f"every {what} must be above zero")
    return numbers


def _need_text(values: list[str], what: str) -> None:
    if values and min(map(len, values)) == 0:
        raise BankFileMalformed(f"a line has an empty {what}")
