"""Bank statements of the funds' accounts: ISO 20022 camt.053 (XML) and a plain CSV variant, each signed with the
bank's partner file key (docs/treasury.md "Statement files").

A signed statement is the document followed by one MAC line, the layout of every exchange file
(``sscard.kms.partners``)::

    <the camt.053 XML document or the CSV text, ending in a line break>
    SSMAC|<sha256 of the document>|bank:<bank code>:v<version>|<HMAC-SM3 over everything before the MAC>

The MAC is checked on the raw bytes first, against the key of the bank the caller names (never the bank the
file names); then the SHA-256, then the document. The MAC line may also come as a detached file: the
document's bytes followed by that file's bytes are the signed statement (``join_detached``).

camt.053 (``urn:iso:std:iso:20022:tech:xsd:camt.053.001.02``) is parsed with lxml (libxml2) and validated
against the schema vendored in ``xsd/`` (licence note beside it). lxml rather than the standard library's
ElementTree, which cannot validate against an XSD, or xmlschema, a pure-Python validator about ten times slower
on a statement of 50,000 entries: libxml2 parses and validates in C, is maintained, and its parser here resolves
no entities, reads no DTD and fetches nothing from the network. One ``Stmt`` per document; only booked entries
(``Sts`` BOOK); amounts in CNY with at most two decimals become integer fen (never a float).

CSV (``SSCSV1``, UTF-8, comma-separated, RFC 4180 quoting by the standard ``csv`` module)::

    H,SSCSV1,<bank code>,<account no>,<statement id>,<from YYYY-MM-DD>,<to YYYY-MM-DD>,<currency>,
      <opening fen>,<closing fen>,<count>                          (one record: the header)
    D,<line no>,<booking date>,<value date>,<C|D>,<amount fen>,<reference>,<bank reference>,<description>

Every defect raises a ``TreasuryStatementRejected`` subclass (MAC, MALFORMED, SCHEMA, TOTALS) before anything
is returned.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from lxml import etree

from sscard.kms import partners
from sscard.kms.partners import FileMacError, PartnerKeys
from sscard.treasury.errors import (
    TreasuryStatementMac,
    TreasuryStatementMalformed,
    TreasuryStatementSchema,
    TreasuryStatementTotals,
)

NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"
XSD_PATH = Path(__file__).parent / "xsd" / "camt.053.001.02.xsd"
MAC_TAG = "SSMAC"
CSV_MAGIC = "SSCSV1"
MAX_BYTES = 64 * 1024 * 1024  # a statement larger than this is refused before it is parsed
_AMOUNT_RE = re.compile(r"[0-9]{1,16}(\.[0-9]{1,2})?")
_FEN_RE = re.compile(r"-?[0-9]{1,18}")
_SAFE_RE = re.compile(r"[A-Za-z0-9_.:/\-]{0,64}")  # references as the ledger keeps them
_BANK_RE = re.compile(r"[A-Z0-9]{1,10}")
_Q = "{" + NS + "}"


class Line(NamedTuple):
    line_no: int
    booking_date: dt.date
    value_date: dt.date
    direction: str  # C (money in) | D (money out)
    amount: int  # fen, > 0
    reference: str  # EndToEndId: our reference (what the ledger transfer carries)
    bank_ref: str  # AcctSvcrRef
    description: str


@dataclass(frozen=True, slots=True)
class Statement:
    format: str  # camt053 | csv
    message_id: str
    statement_id: str
    account_no: str
    currency: str
    from_date: dt.date
    to_date: dt.date
    opening: int  # fen, signed: positive = money on the account
    closing: int
    lines: list[Line]
    checksum: str  # SHA-256 of the document
    key_ref: str

    def signed(self, line: Line) -> int:
        return line.amount if line.direction == "C" else -line.amount


# ---------------------------------------------------------------------------------------------------- signing


def sign(document: bytes, bank_code: str, keys: PartnerKeys | None = None) -> bytes:
    """The signed statement: ``document`` (ending in a line break) and its MAC line under the bank's key."""
    if not document.endswith(b"\n"):
        document += b"\n"
    prefix = f"{MAC_TAG}|{partners.content_digest(document)}|".encode("ascii")
    try:
        mac = (keys or partners.default_keys()).seal(f"bank:{bank_code}", (document, prefix))
    except partners.PartnerKeyUnknown as exc:
        raise TreasuryStatementMac(f"cannot sign: {exc.detail}") from None
    return document + prefix + mac


def join_detached(document: bytes, mac_line: bytes) -> bytes:
    """A statement whose MAC line came as a file of its own, as one signed statement."""
    return document + mac_line


def open_signed(data: bytes, bank_code: str, keys: PartnerKeys | None = None) -> tuple[bytes, str, str]:
    """Check the MAC (under ``bank_code``'s key) and the SHA-256; the document, its digest and the key ref."""
    if not isinstance(data, bytes) or len(data) > MAX_BYTES:
        raise TreasuryStatementMalformed(f"a statement is at most {MAX_BYTES} bytes")
    if not _BANK_RE.fullmatch(bank_code or ""):
        raise TreasuryStatementMac("the bank code is A-Z 0-9, at most 10")
    try:
        ref_start = (keys or partners.default_keys()).check_file(data, f"bank:{bank_code}")
    except FileMacError as exc:
        raise TreasuryStatementMac(str(exc)) from None
    except partners.PartnerKeyUnknown as exc:
        raise TreasuryStatementMac(f"no key for bank {bank_code}: {exc.detail}") from None
    line_start = data.rfind(b"\n", 0, ref_start) + 1
    document, fields = data[:line_start], data[line_start:ref_start].split(b"|")
    if len(fields) != 3 or fields[0] != MAC_TAG.encode() or fields[2] != b"":
        raise TreasuryStatementMalformed("the last line must be SSMAC|<sha256>|<key ref>|<mac>")
    checksum = partners.content_digest(document)
    if fields[1] != checksum.encode("ascii"):
        raise TreasuryStatementMac("the SHA-256 in the MAC line does not match the document")
    key_ref = data[ref_start:data.rindex(b"|")].decode("ascii")
    return document, checksum, key_ref


def parse(data: bytes, bank_code: str, keys: PartnerKeys | None = None) -> Statement:
    """A signed statement, camt.053 or CSV (told apart by the first byte: ``<`` or ``H``), checked whole."""
    document, checksum, key_ref = open_signed(data, bank_code, keys)
    head = document.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"<":
        return parse_camt053(document, checksum, key_ref)
    if head == b"H":
        return parse_csv(document, checksum, key_ref, bank_code)
    raise TreasuryStatementMalformed("neither a camt.053 XML document nor an SSCSV1 file")


# ---------------------------------------------------------------------------------------------------- camt.053


@lru_cache(maxsize=1)
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_PATH)))


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                           remove_blank_text=True)


def _fen(text: str | None, what: str) -> int:
    if text is None or not _AMOUNT_RE.fullmatch(text):
        raise TreasuryStatementMalformed(f"{what}: an amount in yuan with at most two decimals")
    return int(Decimal(text) * 100)


def _date(text: str | None, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat((text or "")[:10])
    except ValueError:
        raise TreasuryStatementMalformed(f"{what}: not a date") from None


def _text(node: etree._Element, path: str) -> str | None:
    found = node.find(path)
    return None if found is None else (found.text or "")


def parse_camt053(document: bytes, checksum: str = "", key_ref: str = "") -> Statement:
    """Parse and validate one camt.053.001.02 document (already authenticated)."""
    try:
        tree = etree.fromstring(document, _parser())
    except etree.XMLSyntaxError as exc:
        raise TreasuryStatementMalformed(f"not well-formed XML: {str(exc)[:120]}") from None
    if tree.getroottree().docinfo.doctype:  # type: ignore[union-attr]  # (lxml-stubs: DocInfo | Any)
        raise TreasuryStatementMalformed("a statement carries no DOCTYPE")
    if tree.tag != f"{_Q}Document":
        raise TreasuryStatementSchema(f"the root is {str(tree.tag)[:80]}, not camt.053.001.02 Document")
    xsd = schema()
    if not xsd.validate(tree):
        raise TreasuryStatementSchema(str(xsd.error_log).splitlines()[-1][-200:] if str(xsd.error_log) else "invalid")
    q = _Q
    statements = tree.findall(f"{q}BkToCstmrStmt/{q}Stmt")
    if len(statements) != 1:
        raise TreasuryStatementMalformed("one Stmt per document")
    stmt = statements[0]
    message_id = _text(tree, f"{q}BkToCstmrStmt/{q}GrpHdr/{q}MsgId") or ""
    account_no = _text(stmt, f"{q}Acct/{q}Id/{q}Othr/{q}Id") or _text(stmt, f"{q}Acct/{q}Id/{q}IBAN") or ""
    currency = _text(stmt, f"{q}Acct/{q}Ccy") or "CNY"
    balances: dict[str, tuple[int, dt.date]] = {}
    for bal in stmt.iterfind(f"{q}Bal"):
        code = _text(bal, f"{q}Tp/{q}CdOrPrtry/{q}Cd") or ""
        amount_node = bal.find(f"{q}Amt")
        assert amount_node is not None  # the schema requires it
        amount = _fen(amount_node.text, f"balance {code}")
        if amount_node.get("Ccy") != currency:
            raise TreasuryStatementMalformed(f"balance {code} is in {amount_node.get('Ccy')}, not {currency}")
        sign_ = -1 if _text(bal, f"{q}CdtDbtInd") == "DBIT" else 1
        day = _date(_text(bal, f"{q}Dt/{q}Dt") or _text(bal, f"{q}Dt/{q}DtTm"), f"balance {code} date")
        if code in ("OPBD", "PRCD"):
            code = "OPBD"
        if code in balances:
            raise TreasuryStatementMalformed(f"two {code} balances")
        balances[code] = (sign_ * amount, day)
    if "OPBD" not in balances or "CLBD" not in balances:
        raise TreasuryStatementMalformed("a statement needs its opening (OPBD/PRCD) and closing (CLBD) balances")
    period_from = _text(stmt, f"{q}FrToDt/{q}FrDtTm")
    period_to = _text(stmt, f"{q}FrToDt/{q}ToDtTm")
    from_date = _date(period_from, "FrDtTm") if period_from else balances["OPBD"][1]
    to_date = _date(period_to, "ToDtTm") if period_to else balances["CLBD"][1]
    lines = []
    for n, entry in enumerate(stmt.iterfind(f"{q}Ntry"), start=1):
        amount_node = entry.find(f"{q}Amt")
        assert amount_node is not None
        if amount_node.get("Ccy") != currency:
            raise TreasuryStatementMalformed(f"entry {n} is in {amount_node.get('Ccy')}, not {currency}")
        if _text(entry, f"{q}Sts") != "BOOK":
            raise TreasuryStatementMalformed(f"entry {n}: only booked entries (Sts BOOK) belong in a statement")
        if _text(entry, f"{q}RvslInd") == "true":
            raise TreasuryStatementMalformed(f"entry {n}: reversals are sent as entries of the other direction")
        amount = _fen(amount_node.text, f"entry {n}")
        if amount <= 0:
            raise TreasuryStatementMalformed(f"entry {n}: the amount must be more than zero")
        booking = _date(_text(entry, f"{q}BookgDt/{q}Dt") or _text(entry, f"{q}BookgDt/{q}DtTm"),
                        f"entry {n} booking date")
        value = _text(entry, f"{q}ValDt/{q}Dt") or _text(entry, f"{q}ValDt/{q}DtTm")
        reference = _text(entry, f"{q}NtryDtls/{q}TxDtls/{q}Refs/{q}EndToEndId") or ""
        lines.append(Line(n, booking, _date(value, f"entry {n} value date") if value else booking,
                          "C" if _text(entry, f"{q}CdtDbtInd") == "CRDT" else "D", amount,
                          reference, _text(entry, f"{q}AcctSvcrRef") or "",
                          (_text(entry, f"{q}AddtlNtryInf") or "")[:140]))
    statement = Statement("camt053", message_id, _text(stmt, f"{q}Id") or "", account_no, currency, from_date,
                          to_date, balances["OPBD"][0], balances["CLBD"][0], lines, checksum, key_ref)
    summary = stmt.find(f"{q}TxsSummry/{q}TtlNtries/{q}NbOfNtries")
    if summary is not None and summary.text != str(len(lines)):
        raise TreasuryStatementTotals(f"TxsSummry says {summary.text} entries, the statement has {len(lines)}")
    for side, direction in (("TtlCdtNtries", "C"), ("TtlDbtNtries", "D")):
        total = _text(stmt, f"{q}TxsSummry/{q}{side}/{q}Sum")
        if total is not None and _fen(total, side) != sum(x.amount for x in lines if x.direction == direction):
            raise TreasuryStatementTotals(f"TxsSummry {side} {total} does not add up")
    return _checked(statement)


def _checked(s: Statement) -> Statement:
    """The checks both formats share: references, period, dates inside it, opening + lines = closing."""
    if not s.statement_id or not s.account_no:
        raise TreasuryStatementMalformed("the statement id and the account number must not be empty")
    if s.currency != "CNY":
        raise TreasuryStatementMalformed(f"statements are in CNY, not {s.currency[:3]}")
    if s.to_date < s.from_date:
        raise TreasuryStatementMalformed("the period ends before it starts")
    for line in s.lines:
        if not _SAFE_RE.fullmatch(line.reference):  # empty for what the bank did alone (charges, interest)
            raise TreasuryStatementMalformed(f"entry {line.line_no}: the reference (EndToEndId) must be up to "
                                             "64 of A-Z a-z 0-9 _ . : / -")
        if not s.from_date <= line.booking_date <= s.to_date:
            raise TreasuryStatementMalformed(f"entry {line.line_no}: booked outside the statement's period")
    net = sum(x.amount if x.direction == "C" else -x.amount for x in s.lines)
    if s.opening + net != s.closing:
        raise TreasuryStatementTotals(f"opening {s.opening} + entries {net} ≠ closing {s.closing} (fen)")
    return s


def _yuan(fen: int) -> str:
    return f"{abs(fen) // 100}.{abs(fen) % 100:02d}"


def write_camt053(bank_code: str, account_no: str, statement_id: str, from_date: dt.date, to_date: dt.date,
                  opening: int, lines: Sequence[Line], created: dt.datetime, bic: str | None = None,
                  keys: PartnerKeys | None = None) -> bytes:
    """A signed camt.053.001.02 statement as a bank would send it (the simulated bank, the examples, tests)."""
    root = etree.Element(f"{_Q}Document", nsmap={None: NS})  # type: ignore[dict-item]  # the default namespace
    body = etree.SubElement(root, f"{_Q}BkToCstmrStmt")
    header = etree.SubElement(body, f"{_Q}GrpHdr")
    etree.SubElement(header, f"{_Q}MsgId").text = f"{bank_code}-{statement_id}"[:35]
    etree.SubElement(header, f"{_Q}CreDtTm").text = created.strftime("%Y-%m-%dT%H:%M:%S")
    stmt = etree.SubElement(body, f"{_Q}Stmt")
    etree.SubElement(stmt, f"{_Q}Id").text = statement_id
    etree.SubElement(stmt, f"{_Q}CreDtTm").text = created.strftime("%Y-%m-%dT%H:%M:%S")
    period = etree.SubElement(stmt, f"{_Q}FrToDt")
    etree.SubElement(period, f"{_Q}FrDtTm").text = f"{from_date.isoformat()}T00:00:00"
    etree.SubElement(period, f"{_Q}ToDtTm").text = f"{to_date.isoformat()}T23:59:59"
    acct = etree.SubElement(stmt, f"{_Q}Acct")
    other = etree.SubElement(etree.SubElement(acct, f"{_Q}Id"), f"{_Q}Othr")
    etree.SubElement(other, f"{_Q}Id").text = account_no
    etree.SubElement(acct, f"{_Q}Ccy").text = "CNY"
    servicer = etree.SubElement(etree.SubElement(acct, f"{_Q}Svcr"), f"{_Q}FinInstnId")
    if bic:
        etree.SubElement(servicer, f"{_Q}BIC").text = bic
    else:
        etree.SubElement(servicer, f"{_Q}Nm").text = bank_code
    closing = opening + sum(x.amount if x.direction == "C" else -x.amount for x in lines)
    for code, amount, day in (("OPBD", opening, from_date), ("CLBD", closing, to_date)):
        bal = etree.SubElement(stmt, f"{_Q}Bal")
        etree.SubElement(etree.SubElement(etree.SubElement(bal, f"{_Q}Tp"), f"{_Q}CdOrPrtry"), f"{_Q}Cd").text = code
        amt = etree.SubElement(bal, f"{_Q}Amt", Ccy="CNY")
        amt.text = _yuan(amount)
        etree.SubElement(bal, f"{_Q}CdtDbtInd").text = "CRDT" if amount >= 0 else "DBIT"
        etree.SubElement(etree.SubElement(bal, f"{_Q}Dt"), f"{_Q}Dt").text = day.isoformat()
    summary = etree.SubElement(stmt, f"{_Q}TxsSummry")
    totals = etree.SubElement(summary, f"{_Q}TtlNtries")
    etree.SubElement(totals, f"{_Q}NbOfNtries").text = str(len(lines))
    for side, direction in (("TtlCdtNtries", "C"), ("TtlDbtNtries", "D")):
        part = [x for x in lines if x.direction == direction]
        node = etree.SubElement(summary, f"{_Q}{side}")
        etree.SubElement(node, f"{_Q}NbOfNtries").text = str(len(part))
        etree.SubElement(node, f"{_Q}Sum").text = _yuan(sum(x.amount for x in part))
    for line in lines:
        entry = etree.SubElement(stmt, f"{_Q}Ntry")
        amt = etree.SubElement(entry, f"{_Q}Amt", Ccy="CNY")
        amt.text = _yuan(line.amount)
        etree.SubElement(entry, f"{_Q}CdtDbtInd").text = "CRDT" if line.direction == "C" else "DBIT"
        etree.SubElement(entry, f"{_Q}Sts").text = "BOOK"
        etree.SubElement(etree.SubElement(entry, f"{_Q}BookgDt"), f"{_Q}Dt").text = line.booking_date.isoformat()
        etree.SubElement(etree.SubElement(entry, f"{_Q}ValDt"), f"{_Q}Dt").text = line.value_date.isoformat()
        if line.bank_ref:
            etree.SubElement(entry, f"{_Q}AcctSvcrRef").text = line.bank_ref
        tx_code = etree.SubElement(entry, f"{_Q}BkTxCd")
        etree.SubElement(etree.SubElement(tx_code, f"{_Q}Prtry"), f"{_Q}Cd").text = \
            "RCDT" if line.direction == "C" else "ICDT"
        if line.reference:  # what the bank did alone (a charge) carries no end-to-end reference
            refs = etree.SubElement(etree.SubElement(etree.SubElement(entry, f"{_Q}NtryDtls"), f"{_Q}TxDtls"),
                                    f"{_Q}Refs")
            etree.SubElement(refs, f"{_Q}EndToEndId").text = line.reference
        if line.description:
            etree.SubElement(entry, f"{_Q}AddtlNtryInf").text = line.description
    document = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return sign(document, bank_code, keys)


# ---------------------------------------------------------------------------------------------------- CSV


def parse_csv(document: bytes, checksum: str = "", key_ref: str = "", bank_code: str | None = None) -> Statement:
    """Parse one SSCSV1 statement (already authenticated)."""
    try:
        text = document.decode("utf-8")
    except UnicodeDecodeError:
        raise TreasuryStatementMalformed("an SSCSV1 statement is UTF-8 text") from None
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise TreasuryStatementMalformed(f"not CSV: {exc}") from None
    if not rows or len(rows[0]) != 11 or rows[0][:2] != ["H", CSV_MAGIC]:
        raise TreasuryStatementMalformed("the first record is H,SSCSV1,… with 11 fields")
    _, _, bank, account_no, statement_id, from_s, to_s, currency, opening_s, closing_s, count_s = rows[0]
    if bank_code is not None and bank != bank_code:
        raise TreasuryStatementMalformed(f"the header names bank {bank[:10]}, the statement came from {bank_code}")
    lines = []
    for n, row in enumerate(rows[1:], start=1):
        if len(row) != 9 or row[0] != "D":
            raise TreasuryStatementMalformed(f"record {n + 1}: D,line_no,booking,value,C|D,fen,ref,bank ref,text")
        _, no, booking, value, direction, amount, reference, bank_ref, description = row
        if no != str(n) or direction not in ("C", "D") or not amount.isdigit() or len(amount) > 18 \
                or int(amount) <= 0 or len(bank_ref) > 35 or len(description) > 140:
            raise TreasuryStatementMalformed(f"record {n + 1}: line number {n}, C or D, a positive whole fen "
                                             "amount, bank reference ≤ 35, text ≤ 140")
        lines.append(Line(n, _date(booking, f"line {n} booking date"), _date(value, f"line {n} value date"),
                          direction, int(amount), reference, bank_ref, description))
    for what, value in (("opening", opening_s), ("closing", closing_s)):
        if not _FEN_RE.fullmatch(value):
            raise TreasuryStatementMalformed(f"the {what} balance is a whole number of fen")
    if not count_s.isdigit() or int(count_s) != len(lines):
        raise TreasuryStatementTotals(f"the header says {count_s[:10]} lines, the file has {len(lines)}")
    if len(statement_id) > 35:
        raise TreasuryStatementMalformed("the statement id is at most 35 characters")
    return _checked(Statement("csv", statement_id, statement_id, account_no, currency, _date(from_s, "from"),
                              _date(to_s, "to"), int(opening_s), int(closing_s), lines, checksum, key_ref))


def write_csv(bank_code: str, account_no: str, statement_id: str, from_date: dt.date, to_date: dt.date,
              opening: int, lines: Sequence[Line], keys: PartnerKeys | None = None) -> bytes:
    """A signed SSCSV1 statement."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    closing = opening + sum(x.amount if x.direction == "C" else -x.amount for x in lines)
    writer.writerow(["H", CSV_MAGIC, bank_code, account_no, statement_id, from_date.isoformat(),
                     to_date.isoformat(), "CNY", opening, closing, len(lines)])
    writer.writerows(["D", x.line_no, x.booking_date.isoformat(), x.value_date.isoformat(), x.direction, x.amount,
                      x.reference, x.bank_ref, x.description] for x in lines)
    return sign(out.getvalue().encode("utf-8"), bank_code, keys)
