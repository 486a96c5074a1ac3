"""Batch and return files: round trips, and every kind of tampering refused whole with its own code."""

from __future__ import annotations

import contextlib
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sscard.banks import files as bf
from sscard.banks.errors import BankFileRejected


def _lines(n: int = 5) -> list[bf.BatchLine]:
    names = ["张三", "李四", "王𬌗", "O'Brien-Élodie", "欧阳 娜娜"]
    return [bf.BatchLine(i, f"pay:2014-07:{i}", f"6222{i:012d}", names[(i - 1) % len(names)],
                         "44180219600101123X" if i % 2 else "", 1000 * i + 7) for i in range(1, n + 1)]


def _batch(n: int = 5, kind: bf.Kind = bf.Kind.CREDIT) -> tuple[bf.BatchHeader, bytes]:
    lines = _lines(n)
    header = bf.new_header("ICBC", kind, "P201407-ICBC-1", "2014-07", lines)
    return header, bf.write_batch(header, lines)


def _answer(header: bf.BatchHeader, lines: list[bf.BatchLine]) -> bytes:
    results = [bf.ReturnLine(ln.line_no, ln.ref, ln.account_no, ln.amount, ln.line_no % 2 == 1,
                             None if ln.line_no % 2 == 1 else bf.Reason.ACCOUNT_FROZEN.value) for ln in lines]
    return bf.write_return(header, results)


def _reseal(data: bytes) -> bytes:
    """Recompute the checksum after a change: what a careful forger would do (so the totals checks are hit)."""
    start = data.rindex(b"\n", 0, len(data) - 1) + 1
    trailer = data[start:-1].split(b"|")
    trailer[-1] = hashlib.sha256(data[:start]).hexdigest().encode()
    return data[:start] + b"|".join(trailer) + b"\n"


def _edit_line(data: bytes, index: int, field: int, value: str) -> bytes:
    lines = data.decode().split("\n")
    parts = lines[index].split("|")
    parts[field] = value
    lines[index] = "|".join(parts)
    return "\n".join(lines).encode()


# ---------------------------------------------------------------------------------------------------- round trips


def test_batch_file_round_trips_every_field() -> None:
    header, data = _batch()
    parsed = bf.parse_batch(data)
    assert parsed.header == header
    assert parsed.lines == _lines()
    assert parsed.checksum == hashlib.sha256(data[:data.rindex(b"\n", 0, len(data) - 1) + 1]).hexdigest()


def test_return_file_splits_successes_and_failures_and_adds_up_to_the_header() -> None:
    header, data = _batch()
    sent = bf.parse_batch(data)
    ret = bf.parse_return(_answer(header, sent.lines), sent)
    assert (ret.ok_count, ret.failed_count) == (3, 2)
    assert ret.ok_amount + ret.failed_amount == header.total
    assert [f.line_no for f in ret.failures()] == [2, 4]
    assert {f.reason for f in ret.failures()} == {"ACCOUNT_FROZEN"}
    assert bf.parse_return(_answer(header, sent.lines), header).lines == ret.lines


def test_an_empty_batch_round_trips() -> None:
    header = bf.new_header("ABC", "debit", "W201407-ABC-1", "2014-07", [])
    parsed = bf.parse_batch(bf.write_batch(header, []))
    assert (parsed.header.count, parsed.header.total, parsed.lines) == (0, 0, [])
    assert bf.parse_return(bf.write_return(header, []), header).lines == []


@pytest.mark.parametrize("bad", ["a|b", "a\nb", "a\rb"])
def test_writing_refuses_a_field_with_a_separator_or_line_break(bad: str) -> None:
    lines = _lines(2)
    lines[1] = lines[1]._replace(name=bad)
    with pytest.raises(BankFileRejected) as err:
        bf.write_batch(bf.new_header("ICBC", "credit", "B1", "2014-07", lines), lines)
    assert err.value.code == "BANK_FILE_MALFORMED"


def test_writing_refuses_a_header_that_does_not_match_the_lines() -> None:
    lines = _lines(3)
    header = bf.new_header("ICBC", "credit", "B1", "2014-07", lines[:2])
    with pytest.raises(BankFileRejected) as err:
        bf.write_batch(header, lines)
    assert err.value.code == "BANK_FILE_TOTALS"


# ---------------------------------------------------------------------------------------------------- tampering


def _sent() -> tuple[bf.BatchFile, bytes]:
    header, data = _batch()
    sent = bf.parse_batch(data)
    return sent, _answer(header, sent.lines)


def _refused(data: bytes, sent: bf.BatchFile | bf.BatchHeader) -> str:
    with pytest.raises(BankFileRejected) as err:
        bf.parse_return(data, sent)
    return err.value.code


def test_a_changed_byte_breaks_the_checksum() -> None:
    sent, ret = _sent()
    assert _refused(ret.replace(b"|4007|", b"|4008|"), sent) == "BANK_FILE_CHECKSUM"


def test_a_resealed_changed_amount_breaks_the_totals() -> None:
    sent, ret = _sent()
    forged = _reseal(_edit_line(ret, 4, 4, "4008"))
    assert _refused(forged, sent.header) == "BANK_FILE_TOTALS"
    assert _refused(forged, sent) == "BANK_FILE_UNKNOWN_LINE"


def test_a_trailer_claiming_other_success_totals_is_refused() -> None:
    sent, ret = _sent()
    forged = _reseal(_edit_line(ret, 6, 3, "4"))
    assert _refused(forged, sent) == "BANK_FILE_TOTALS"


def test_a_failure_turned_into_a_success_without_fixing_the_trailer_is_refused() -> None:
    sent, ret = _sent()
    forged = _reseal(_edit_line(_edit_line(ret, 2, 5, "S"), 2, 6, ""))
    assert _refused(forged, sent) == "BANK_FILE_TOTALS"


def test_a_line_that_was_never_sent_is_refused() -> None:
    sent, ret = _sent()
    assert _refused(_reseal(_edit_line(ret, 5, 1, "99")), sent.header) == "BANK_FILE_UNKNOWN_LINE"
    assert _refused(_reseal(_edit_line(ret, 5, 2, "pay:2014-07:other")), sent) == "BANK_FILE_UNKNOWN_LINE"
    assert _refused(_reseal(_edit_line(ret, 5, 3, "6222999999999999")), sent) == "BANK_FILE_UNKNOWN_LINE"


def test_a_duplicated_line_is_refused() -> None:
    sent, ret = _sent()
    lines = ret.decode().split("\n")
    lines.insert(2, lines[1])
    assert _refused(_reseal("\n".join(lines).encode()), sent) == "BANK_FILE_DUPLICATE_LINE"
    assert _refused(_reseal(_edit_line(ret, 3, 1, "1")), sent) == "BANK_FILE_DUPLICATE_LINE"


def test_a_missing_line_is_refused() -> None:
    sent, ret = _sent()
    lines = ret.decode().split("\n")
    del lines[3]
    assert _refused(_reseal("\n".join(lines).encode()), sent) == "BANK_FILE_TOTALS"


@pytest.mark.parametrize("cut", [1, 10, 80, 200])
def test_a_truncated_file_is_refused(cut: int) -> None:
    sent, ret = _sent()
    assert _refused(ret[:-cut], sent) in {"BANK_FILE_TRUNCATED", "BANK_FILE_CHECKSUM"}
    if cut > 1:  # cut mid-line, then "completed" with a line break
        assert _refused(ret[:-cut] + b"\n", sent) in {"BANK_FILE_TRUNCATED", "BANK_FILE_CHECKSUM"}


def test_a_file_cut_after_a_whole_line_is_truncated() -> None:
    sent, ret = _sent()
    assert _refused(ret[:ret.rindex(b"\n", 0, len(ret) - 1) + 1], sent) == "BANK_FILE_TRUNCATED"
    assert _refused(b"", sent) == "BANK_FILE_TRUNCATED"


def test_a_file_in_another_encoding_is_refused() -> None:
    sent, ret = _sent()
    _, batch = _batch()
    with pytest.raises(BankFileRejected) as err:
        bf.parse_batch(batch.decode().encode("gb18030"))  # the names are not UTF-8 any more
    assert err.value.code == "BANK_FILE_ENCODING"
    assert _refused(b"\xff" + ret, sent) == "BANK_FILE_ENCODING"
    assert _refused(ret.replace(b"|S|", b"|\xc0\xaf|", 1), sent) == "BANK_FILE_ENCODING"  # overlong UTF-8


def test_crlf_line_ends_are_refused() -> None:
    sent, ret = _sent()
    assert _refused(ret.replace(b"\n", b"\r\n"), sent) == "BANK_FILE_MALFORMED"


def test_a_return_for_another_batch_is_refused() -> None:
    sent, ret = _sent()
    other = bf.BatchHeader("ICBC", bf.Kind.CREDIT, "P201407-ICBC-2", "2014-07", sent.header.count,
                           sent.header.total, sent.header.created)
    assert _refused(ret, other) == "BANK_FILE_MISMATCH"
    assert _refused(_reseal(ret.replace(b"|credit|", b"|debit|", 1)), sent) == "BANK_FILE_MISMATCH"


def test_an_unknown_reason_or_status_is_refused() -> None:
    sent, ret = _sent()
    assert _refused(_reseal(_edit_line(ret, 2, 6, "BANK_ON_STRIKE")), sent) == "BANK_FILE_MALFORMED"
    assert _refused(_reseal(_edit_line(ret, 2, 5, "X")), sent) == "BANK_FILE_MALFORMED"
    assert _refused(_reseal(_edit_line(ret, 1, 6, "NAME_MISMATCH")), sent) == "BANK_FILE_MALFORMED"


def test_a_non_ascii_digit_amount_is_refused() -> None:
    sent, ret = _sent()
    assert _refused(_reseal(_edit_line(ret, 1, 4, "１００７")), sent) == "BANK_FILE_MALFORMED"


@pytest.mark.parametrize(("index", "field", "value", "code"), [
    (2, 1, "3", "BANK_FILE_DUPLICATE_LINE"),  # two lines numbered 3
    (2, 2, "pay:2014-07:1", "BANK_FILE_DUPLICATE_LINE"),  # the same reference twice
    (2, 6, "1000000", "BANK_FILE_TOTALS"),
    (2, 1, "7", "BANK_FILE_MALFORMED"),  # numbers out of order
    (0, 6, "6", "BANK_FILE_TOTALS"),  # header count
    (2, 4, "", "BANK_FILE_MALFORMED"),  # empty name
])
def test_a_tampered_batch_file_is_refused(index: int, field: int, value: str, code: str) -> None:
    _, data = _batch()
    with pytest.raises(BankFileRejected) as err:
        bf.parse_batch(_reseal(_edit_line(data, index, field, value)))
    assert err.value.code == code


# ---------------------------------------------------------------------------------------------------- fuzz


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_are_refused_as_a_bank_file_and_nothing_else(data: bytes) -> None:
    sent, _ = _sent()
    with pytest.raises(BankFileRejected):
        bf.parse_return(data, sent)
    with pytest.raises(BankFileRejected):
        bf.parse_batch(data)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_mutated_valid_files_either_parse_or_are_refused_as_a_bank_file(data: st.DataObject) -> None:
    sent, ret = _sent()
    raw = bytearray(ret)
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        op = data.draw(st.sampled_from(["set", "delete", "insert"]))
        byte = data.draw(st.sampled_from([ord("|"), ord("\n"), ord("0"), ord("9"), ord("S"), ord("F"), 0xE5, 0x80]))
        if op == "set":
            raw[pos] = byte
        elif op == "delete":
            del raw[pos]
        else:
            raw.insert(pos, byte)
    forged = bytes(raw)
    if data.draw(st.booleans()):
        with contextlib.suppress(ValueError):  # no line break left to find a trailer by
            forged = _reseal(forged)
    try:
        parsed = bf.parse_return(forged, sent)
    except BankFileRejected:
        return
    # Accepted only if it is still a faithful answer to every sent line.
    assert sorted(line.line_no for line in parsed.lines) == [1, 2, 3, 4, 5]
    assert parsed.ok_amount + parsed.failed_amount == sent.header.total
