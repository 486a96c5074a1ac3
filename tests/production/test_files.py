"""Exchange files and data imports: a malformed file (bad encoding, truncated, wrong totals, duplicate lines) is
rejected with a clear message and nothing of it is imported; bad data rows are reported with row number and
reason while the rest goes on. Hypothesis feeds the parsers anything: they answer with a DomainError or a file."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from sscard.errors import DomainError
from sscard.kms.partners import PartnerKeys, default_keys
from sscard.production import formats, imports
from sscard.production import service as production
from sscard.production.errors import FileAlreadyImported, FileRejected
from sscard.production.models import CollectedRecord, DataImport, PopulationRecord
from support.city import City

from .builders import collection_csv, people, population_csv

STAMP = dt.datetime(2013, 6, 1, 9, 30)
ROWS = [["A00000001", "441802194001010014", "张伟", "0", "1", "19400101", "441802", "13800000000"],
        ["A00000002", "44180219400101002X", "李𠀀", "0", "2", "19400101", "441802", ""]]


def _kh() -> bytes:
    return formats.write("KH", "ICBC-20130601-0001", "ICBC", STAMP, ROWS)


def _remac(data: bytes, keys: PartnerKeys | None = None, partner: str = "bank:ICBC") -> bytes:
    """MAC a changed file again under ``partner``'s key: what only the key's holder can do."""
    start = data.rindex(b"\n", 0, len(data) - 1) + 1
    prefix = data[:start] + b"|".join(data[start:-1].split(b"|")[:-2]) + b"|"
    return prefix + (keys or default_keys()).seal(partner, (prefix,))


def _rebuild(lines: list[str]) -> bytes:
    """Re-seal edited detail lines with a matching trailer checksum and MAC (a consistent but wrong file, as
    the bank itself could write it)."""
    details = lines[1:-1]
    digest = hashlib.sha256("".join(d + "\n" for d in details).encode("gb18030")).hexdigest()
    tail = lines[-1].split("|")
    tail[4] = digest
    return _remac("\n".join([*lines[:-1], "|".join(tail)]).encode("gb18030") + b"\n")


def test_a_written_file_reads_back_with_its_header_and_totals() -> None:
    parsed = formats.parse(_kh(), "KH")
    assert parsed.header.batch_no == "ICBC-20130601-0001" and parsed.header.count == 2
    assert parsed.records[1]["name"] == "李𠀀" and parsed.trailer.ok == 2


DAMAGES: list[tuple[Callable[[bytes], bytes], str]] = [
    (lambda b: b.replace("张伟".encode("gb18030"), b"\xff\xff"), "not gb18030"),
    (lambda b: b.replace(b"|2|2.0|", b"|3|2.0|"), "wrong totals"),
    (lambda b: b.replace("张伟".encode("gb18030"), "张炜".encode("gb18030")), "checksum"),
    (lambda b: b.replace(b"H|KH|", b"H|KR|"), "expected KH"),
    (lambda b: b.replace(b"|2.0|", b"|1.0|"), "layout version"),
]


@pytest.mark.parametrize(("damage", "message"), DAMAGES)
def test_a_damaged_file_is_rejected_by_its_mac_and_by_its_reason_if_remacd(damage: Callable[[bytes], bytes],
                                                                           message: str) -> None:
    with pytest.raises(FileRejected) as err:
        formats.parse(damage(_kh()), "KH")
    assert err.value.code == "PRODUCTION_FILE_MAC"
    with pytest.raises(FileRejected, match=message) as err:  # the key holder's own bad file: the next check
        formats.parse(_remac(damage(_kh())), "KH")
    assert err.value.code == "PRODUCTION_FILE_REJECTED"


@pytest.mark.parametrize(("damage", "message"), [
    (lambda b: b[: len(b) // 2], "truncated"),
    (lambda b: b[: b.rindex(b"T|")], "no MAC"),
])
def test_a_truncated_file_is_rejected(damage: Callable[[bytes], bytes], message: str) -> None:
    with pytest.raises(FileRejected, match=message):
        formats.parse(damage(_kh()), "KH")


def test_a_return_forged_with_its_checksum_recomputed_is_refused_and_the_partners_own_is_taken() -> None:
    answered = [["A00000001", ROWS[0][1], "E01", "", "identity check failed"],
                ["A00000002", ROWS[1][1], formats.OK, "6212260000000000017", ""]]
    kr = formats.write("KR", "ICBC-20130601-0001", "ICBC", STAMP, answered)
    lines = kr.decode("gb18030").rstrip("\n").split("\n")
    lines[1] = "D|1|A00000001|441802194001010014|00|6212260000000000025|"  # the failure made an account
    lines[-1] = lines[-1].replace("T|2|1|1|", "T|2|2|0|")
    details = "".join(d + "\n" for d in lines[1:-1]).encode("gb18030")
    tail = lines[-1].split("|")
    tail[4] = hashlib.sha256(details).hexdigest()
    forged = ("\n".join([*lines[:-1], "|".join(tail)]) + "\n").encode("gb18030")
    with pytest.raises(FileRejected) as err:
        formats.parse(forged, "KR")
    assert err.value.code == "PRODUCTION_FILE_MAC"
    assert formats.parse(_remac(forged), "KR").trailer.ok == 2  # under the bank's key it would be the bank's word


def test_a_file_under_another_banks_or_the_makers_key_is_refused() -> None:
    ring = PartnerKeys(bytes(range(32)))  # a real KEK: only the keys created here
    for partner in ("bank:ICBC", "bank:ABC", formats.MAKER_PARTNER):
        ring.create(partner)
    kh = formats.write("KH", "ICBC-20130601-0001", "ICBC", STAMP, ROWS, keys=ring)
    assert formats.parse(kh, "KH", ring).header.bank_code == "ICBC"
    for other in ("bank:ABC", formats.MAKER_PARTNER):
        with pytest.raises(FileRejected) as err:
            formats.parse(_remac(kh, ring, other), "KH", ring)  # MACed by ABC or the maker, header still ICBC
        assert err.value.code == "PRODUCTION_FILE_MAC"
    with pytest.raises(FileRejected) as err:
        formats.parse(kh, "KH", ring, partner="bank:ABC")  # ICBC's genuine file, presented as ABC's
    assert err.value.code == "PRODUCTION_FILE_MAC"
    with pytest.raises(FileRejected) as err:
        formats.parse(kh, "KH", PartnerKeys(bytes(range(1, 33))))  # nobody's key: refused, not accepted
    assert err.value.code == "PRODUCTION_FILE_MAC"
    assert kh.rstrip(b"\n").rsplit(b"\n", 1)[1].split(b"|")[5] == b"bank:ICBC:v1"


def test_a_duplicated_line_is_rejected_even_with_consistent_totals() -> None:
    lines = _kh().decode("gb18030").rstrip("\n").split("\n")
    doubled = [lines[0].replace("|2|", "|3|"), lines[1], lines[1], lines[2], lines[3].replace("T|2|2|", "T|3|3|")]
    with pytest.raises(FileRejected, match="duplicates an earlier line"):
        formats.parse(_rebuild(doubled), "KH")
    same_card = [lines[0], lines[1], lines[2].replace("A00000002", "A00000001"), lines[3]]
    with pytest.raises(FileRejected, match="appears twice"):
        formats.parse(_rebuild(same_card), "KH")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_any_bytes_are_a_file_or_a_domain_error(data: bytes) -> None:
    for kind in formats.LAYOUTS:
        with contextlib.suppress(DomainError):
            formats.parse(data, kind)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=255), st.sampled_from(["flip", "cut", "dup"]))
def test_mutated_files_are_refused_with_a_domain_error(position: int, byte: int, how: str) -> None:
    good = _kh()
    at = position % len(good)
    bad = {"flip": good[:at] + bytes([byte]) + good[at + 1:], "cut": good[:at],
           "dup": good[:at] + good[at:] + good[at:]}[how]
    try:
        parsed = formats.parse(bad, "KH")
    except DomainError:
        return
    assert bad == good  # without the key no change at all gets past the MAC
    assert parsed.trailer.count == len(parsed.records)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=255), st.sampled_from(["flip", "cut", "dup"]))
def test_mutated_files_remacd_by_the_key_holder_are_a_file_or_a_domain_error(position: int, byte: int,
                                                                            how: str) -> None:
    good = _kh()
    at = position % len(good)
    bad = {"flip": good[:at] + bytes([byte]) + good[at + 1:], "cut": good[:at],
           "dup": good[:at] + good[at:] + good[at:]}[how]
    with contextlib.suppress(ValueError):
        bad = _remac(bad)
    try:
        parsed = formats.parse(bad, "KH")
    except DomainError:
        return
    assert parsed.trailer.count == len(parsed.records)  # a mutation that still parses is self-consistent


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400) | st.text(max_size=300).map(lambda t: ("id_number,name,sex\n" + t).encode()))
def test_the_import_reader_answers_rows_or_a_domain_error(data: bytes) -> None:
    for kind in ("collection", "population"):
        for fmt in ("csv", "parquet"):
            with contextlib.suppress(DomainError):
                imports.read(data, kind, lambda rows: None, fmt)


def _count(city: City, model: type[object]) -> int:
    with city.db.unit_of_work() as s:
        return int(s.execute(select(func.count()).select_from(model)).scalar_one())


def test_bad_rows_are_reported_with_row_numbers_and_the_rest_is_imported(city: City,
                                                                          new_id: Callable[..., str]) -> None:
    crowd = people(new_id, 3)
    body = collection_csv(crowd).decode()
    bad = "\n".join([
        f"{crowd[0].id_number[:10]},短号,1,19400101,01,441802,,outlet,,",  # row 5: malformed ID
        f"{new_id()},,1,19400101,01,441802,,outlet,,",  # row 6: no name
        f"{new_id()},钱八,3,19400101,01,441802,,outlet,,",  # row 7: sex 3
        f"{new_id()},钱九,1,19401399,01,441802,,outlet,,",  # row 8: no such date
        f"{new_id()},钱十,1,19400101,01,441802,,outlet",  # row 9: a field short
    ])
    lines = body.rstrip("\n").split("\n")
    data = (body + bad + "\n" + lines[1] + "\n").encode()  # row 10 repeats row 2
    before = _count(city, CollectedRecord)
    result = production.import_collection(city.db, city.admin, data, "mixed.csv")
    assert (result.rows_total, result.rows_ok, result.rows_bad) == (9, 3, 6)
    assert [(e.row_no, e.code) for e in result.errors] == [
        (5, "ID_NUMBER_MALFORMED"), (6, "FIELD_MISSING"), (7, "SEX_INVALID"), (8, "DATE_INVALID"),
        (9, "FIELD_COUNT"), (10, "DUPLICATE_LINE")]
    assert _count(city, CollectedRecord) == before + 3
    assert production.import_errors(city.db, city.admin, result.import_id)[0].row_no == 5


@pytest.mark.parametrize(("damage", "message"), [
    (lambda b: b + "张三".encode("gbk") + b"\n", "not UTF-8"),
    (lambda b: b"", "empty"),
    (lambda b: b.replace(b"id_number,", b"idnum,"), "header must name"),
    (lambda b: b + b'"unclosed,\x00\n', "not CSV"),
])
def test_a_malformed_collection_file_imports_nothing(city: City, new_id: Callable[..., str],
                                                     damage: Callable[[bytes], bytes], message: str) -> None:
    data = damage(collection_csv(people(new_id, 2)))
    before = (_count(city, CollectedRecord), _count(city, DataImport))
    with pytest.raises(FileRejected, match=message):
        production.import_collection(city.db, city.admin, data, "broken.csv")
    assert (_count(city, CollectedRecord), _count(city, DataImport)) == before


def test_the_same_file_twice_is_refused_and_parquet_imports_like_csv(city: City, new_id: Callable[..., str],
                                                                     tmp_path: Path) -> None:
    crowd = people(new_id, 4)
    production.import_population(city.db, city.admin, population_csv(crowd), "p.csv")
    with pytest.raises(FileAlreadyImported):
        production.import_population(city.db, city.admin, population_csv(crowd), "p-again.csv")
    table = pa.table({k: [p.register_row()[k] for p in crowd] for k in imports.POPULATION_COLUMNS})
    table = table.set_column(3, "birth_date", pa.array([dt.date(1940, 1, 1)] * 4))
    path = tmp_path / "register.parquet"
    pq.write_table(table.set_column(1, "name", pa.array(["改名" + p.name for p in crowd])), path)
    out = production.import_population(city.db, city.admin, path)
    assert (out.rows_ok, out.rows_bad) == (4, 0)
    with city.db.unit_of_work() as s:
        names = set(s.execute(select(PopulationRecord.name).where(
            PopulationRecord.id_number.in_([p.id_number for p in crowd]))).scalars())
    assert names == {"改名" + p.name for p in crowd}  # the later extract replaced the earlier rows
    with pytest.raises(FileRejected, match="Parquet"):
        production.import_population(city.db, city.admin, io.BytesIO(b"PAR1 not really").getvalue(), fmt="parquet")
