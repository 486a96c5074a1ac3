"""Bank statements refused with their stable codes, whole (nothing imported), and both parsers fuzzed."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from sscard.access import SYSTEM_ACTOR, Role
from sscard.auth import service as auth
from sscard.treasury import service, statements
from sscard.treasury.errors import TreasuryStatementRejected
from sscard.treasury.models import TreasuryBalanceCheck, TreasuryStatement, TreasuryStatementLine
from sscard.treasury.statements import Line
from support.city import PASSWORD, City

D = dt.date
LINES = [Line(1, D(2026, 5, 4), D(2026, 5, 4), "C", 150_000, "COL-A", "B1", "归集"),
         Line(2, D(2026, 5, 6), D(2026, 5, 6), "D", 2_000, "", "B2", "手续费")]


def camt(account_no: str = "3003001", statement_id: str = "S-MAY", start: D = D(2026, 5, 1),
         end: D = D(2026, 5, 31), bank: str = "ICBC", lines: list[Line] = LINES) -> bytes:
    return statements.write_camt053(bank, account_no, statement_id, start, end, 0, lines, dt.datetime(2026, 6, 1))


def document(data: bytes) -> bytes:
    """The signed statement's document, without its MAC line."""
    return data[:data.rindex(b"\n", 0, len(data) - 1) + 1]


def resigned(data: bytes, old: bytes, new: bytes, bank: str = "ICBC") -> bytes:
    """An edit the bank itself could have made: the document changed and signed again with its key."""
    body = document(data)
    assert old in body
    return statements.sign(body.replace(old, new, 1), bank)


@pytest.fixture(scope="module")
def treasury_city(city: City) -> tuple[City, object]:
    maker = auth.actor_of(auth.create_operator(city.db, SYSTEM_ACTOR, f"acct-bad-{city.dialect}", "x",
                                               Role.ACCOUNTANT, PASSWORD))
    service.open_account(city.db, city.admin, "UNE-ICBC-COL", "unemployment", "ICBC", "collection", "3003001",
                         "失业保险基金收入户")
    return city, maker


def _counts(city: City) -> tuple[int, int, int]:
    with city.db.unit_of_work() as session:
        return tuple(session.execute(select(func.count()).select_from(t)).scalar_one()  # type: ignore[return-value]
                     for t in (TreasuryStatement, TreasuryStatementLine, TreasuryBalanceCheck))


BAD = {
    "unsigned": (lambda: document(camt()), "TREASURY_STATEMENT_MAC"),
    "signed by another bank": (lambda: statements.sign(document(camt()), "BOC"), "TREASURY_STATEMENT_MAC"),
    "changed after signing": (lambda: camt().replace(b"150000", b"150001").replace(b"1500.00", b"1500.01"),
                              "TREASURY_STATEMENT_MAC"),
    "not XML": (lambda: resigned(camt(), b"<BkToCstmrStmt>", b"<BkToCstmrStmt"), "TREASURY_STATEMENT_MALFORMED"),
    "a DOCTYPE with an entity": (
        lambda: resigned(camt(), b"<Document", b'<!DOCTYPE d [<!ENTITY x "y">]><Document'),
        "TREASURY_STATEMENT_MALFORMED"),
    "not the schema": (lambda: resigned(camt(), b"<Sts>BOOK</Sts>", b"<Sts>BOOK</Sts><Oops/>"),
                       "TREASURY_STATEMENT_SCHEMA"),
    "another message type": (lambda: resigned(camt(), b"camt.053.001.02", b"camt.052.001.02"),
                             "TREASURY_STATEMENT_SCHEMA"),
    "pending entries": (lambda: resigned(camt(), b"<Sts>BOOK</Sts>", b"<Sts>PDNG</Sts>"),
                        "TREASURY_STATEMENT_MALFORMED"),
    "three decimals": (lambda: resigned(camt(), b">1500.00<", b">1500.001<"), "TREASURY_STATEMENT_MALFORMED"),
    "closing does not add up": (lambda: resigned(camt(), b"<Amt Ccy=\"CNY\">1480.00</Amt>",
                                                 b"<Amt Ccy=\"CNY\">1480.01</Amt>"), "TREASURY_STATEMENT_TOTALS"),
    "summary count wrong": (lambda: resigned(camt(), b"<NbOfNtries>2</NbOfNtries>", b"<NbOfNtries>3</NbOfNtries>"),
                            "TREASURY_STATEMENT_TOTALS"),
    "booked outside the period": (lambda: resigned(camt(), b"<Dt>2026-05-04</Dt>", b"<Dt>2026-06-04</Dt>"),
                                  "TREASURY_STATEMENT_MALFORMED"),
    "unknown account": (lambda: camt(account_no="9999999"), "TREASURY_STATEMENT_UNKNOWN_ACCOUNT"),
    "another bank's account number": (lambda: camt(bank="BOC"), "TREASURY_STATEMENT_UNKNOWN_ACCOUNT"),
    "CSV without MAC": (lambda: document(statements.write_csv("ICBC", "3003001", "C1", D(2026, 5, 1),
                                                              D(2026, 5, 31), 0, LINES)), "TREASURY_STATEMENT_MAC"),
    "CSV count wrong": (lambda: resigned(statements.write_csv("ICBC", "3003001", "C1", D(2026, 5, 1), D(2026, 5, 31),
                                                              0, LINES), b",148000,2\n", b",148000,3\n"),
                        "TREASURY_STATEMENT_TOTALS"),
    "CSV bad direction": (
        lambda: resigned(statements.write_csv("ICBC", "3003001", "C1", D(2026, 5, 1), D(2026, 5, 31), 0, LINES),
                         b",C,150000,", b",X,150000,"),
        "TREASURY_STATEMENT_MALFORMED"),
    "neither format": (lambda: statements.sign(b"hello\n", "ICBC"), "TREASURY_STATEMENT_MALFORMED"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_statement_is_refused_whole_with_its_code(treasury_city: tuple[City, object], case: str) -> None:
    city, maker = treasury_city
    make, code = BAD[case]
    before = _counts(city)
    with pytest.raises(TreasuryStatementRejected) as refused:
        service.import_statement(city.db, maker, make(), "BOC" if case == "another bank's account number" else "ICBC")  # type: ignore[arg-type]
    assert refused.value.code == code
    assert _counts(city) == before


def test_duplicates_and_overlapping_periods_are_refused(treasury_city: tuple[City, object]) -> None:
    city, maker = treasury_city
    first = camt(statement_id="S-JUL", start=D(2026, 7, 1), end=D(2026, 7, 31),
                 lines=[x._replace(booking_date=x.booking_date.replace(month=7)) for x in LINES])
    service.import_statement(city.db, maker, first, "ICBC")  # type: ignore[arg-type]
    before = _counts(city)
    for data, code in (
            (first, "TREASURY_STATEMENT_DUPLICATE"),
            (camt(statement_id="S-JUL", start=D(2026, 8, 1), end=D(2026, 8, 31), lines=[]),
             "TREASURY_STATEMENT_DUPLICATE"),
            (camt(statement_id="S-JUL2", start=D(2026, 7, 31), end=D(2026, 8, 2), lines=[]),
             "TREASURY_STATEMENT_OVERLAP")):
        with pytest.raises(TreasuryStatementRejected) as refused:
            service.import_statement(city.db, maker, data, "ICBC")  # type: ignore[arg-type]
        assert refused.value.code == code
    assert _counts(city) == before
    # The CSV variant of the next month imports beside it.
    nxt = statements.write_csv("ICBC", "3003001", "S-AUG", D(2026, 8, 1), D(2026, 8, 31), -2_000 + 150_000, [])
    assert service.import_statement(city.db, maker, nxt, "ICBC").format == "csv"  # type: ignore[arg-type]


def test_a_detached_mac_line_makes_the_same_signed_statement() -> None:
    data = camt()
    body = document(data)
    assert statements.parse(statements.join_detached(body, data[len(body):]), "ICBC").closing == 148_000


# ---------------------------------------------------------------------------------------------------- fuzz

_FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(st.binary(max_size=600))
def test_fuzz_any_bytes_are_parsed_or_refused_with_a_code(data: bytes) -> None:
    for parse in (statements.parse_camt053, statements.parse_csv):
        with contextlib.suppress(TreasuryStatementRejected):
            parse(data)
    with contextlib.suppress(TreasuryStatementRejected):
        statements.parse(statements.sign(data, "ICBC"), "ICBC")


_VALID = document(camt())
_CSV = document(statements.write_csv("ICBC", "3003001", "C1", D(2026, 5, 1), D(2026, 5, 31), 0, LINES))


@_FUZZ
@given(st.sampled_from([_VALID, _CSV]), st.integers(0, 10_000), st.binary(min_size=0, max_size=8),
       st.integers(0, 8))
def test_fuzz_edited_statements_are_parsed_or_refused(base: bytes, at: int, insert: bytes, cut: int) -> None:
    """An edit anywhere in a valid document (signed again): a statement that still adds up, or a code."""
    at %= len(base)
    edited = base[:at] + insert + base[at + cut:]
    try:
        parsed = statements.parse(statements.sign(edited, "ICBC"), "ICBC")
    except TreasuryStatementRejected:
        return
    assert parsed.opening + sum(parsed.signed(x) for x in parsed.lines) == parsed.closing
    assert all(x.amount > 0 and parsed.from_date <= x.booking_date <= parsed.to_date for x in parsed.lines)


_line = st.builds(Line, st.just(0), st.dates(D(2026, 5, 1), D(2026, 5, 31)), st.dates(D(2026, 5, 1), D(2026, 6, 5)),
                  st.sampled_from("CD"), st.integers(1, 10**12),
                  st.from_regex(r"[A-Za-z0-9_.:/\-]{0,20}", fullmatch=True),
                  st.from_regex(r"[A-Z0-9]{0,12}", fullmatch=True), st.text(max_size=30).filter(
                      lambda s: s == s.strip() and "\x00" not in s and all(c.isprintable() for c in s)))


@_FUZZ
@given(st.lists(_line, max_size=12), st.integers(-10**9, 10**9))
def test_fuzz_what_is_written_is_read_back(lines: list[Line], opening: int) -> None:
    lines = [x._replace(line_no=n) for n, x in enumerate(lines, start=1)]
    for data in (statements.write_camt053("ICBC", "3003001", "S", D(2026, 5, 1), D(2026, 5, 31), opening, lines,
                                          dt.datetime(2026, 6, 1)),
                 statements.write_csv("ICBC", "3003001", "S", D(2026, 5, 1), D(2026, 5, 31), opening, lines)):
        parsed = statements.parse(data, "ICBC")
        assert (parsed.opening, parsed.lines) == (opening, lines)
