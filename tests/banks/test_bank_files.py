"""Batch and return files: round trips, and every kind of tampering refused whole with its own code."""

from __future__ import annotations

import contextlib
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sscard.banks import files as bf
from sscard.banks.errors import BankFileRejected
from sscard.kms.partners import PartnerKeys, default_keys
from support.filemac import edit_field


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


def _resha(data: bytes) -> bytes:
    """Recompute the trailer's SHA-256 after a change — all a forger without the bank's key can do."""
    start = data.rindex(b"\n", 0, len(data) - 1) + 1
    trailer = data[start:-1].split(b"|")
    trailer[-3] = hashlib.sha256(data[:start]).hexdigest().encode()
    return data[:start] + b"|".join(trailer) + b"\n"


def _remac(data: bytes, keys: PartnerKeys | None = None, partner: str = "bank:ICBC") -> bytes:
    """MAC the file again under ``partner``'s key (whoever holds it), keeping the rest of the trailer."""
    start = data.rindex(b"\n", 0, len(data) - 1) + 1
    trailer = data[start:-1].split(b"|")
    prefix = data[:start] + b"|".join(trailer[:-2]) + b"|"
    return prefix + (keys or default_keys()).seal(partner, (prefix,))


def _reseal(data: bytes) -> bytes:
    """Checksum and MAC recomputed after a change: what the bank itself (holding the key) could write, so the
    checks after the MAC are reached."""
    return _remac(_resha(data))


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


def test_a_changed_byte_breaks_the_mac_and_a_keyed_change_still_the_checksum() -> None:
    sent, ret = _sent()
    assert _refused(ret.replace(b"|4007|", b"|4008|"), sent) == "BANK_FILE_MAC"
    assert _refused(_remac(ret.replace(b"|4007|", b"|4008|")), sent) == "BANK_FILE_CHECKSUM"


def test_a_resealed_changed_amount_breaks_the_totals() -> None:
    sent, ret = _sent()
    forged = _reseal(edit_field(ret, 4, 4, "4008"))
    assert _refused(forged, sent.header) == "BANK_FILE_TOTALS"
    assert _refused(forged, sent) == "BANK_FILE_UNKNOWN_LINE"


def test_a_trailer_claiming_other_success_totals_is_refused() -> None:
    sent, ret = _sent()
    forged = _reseal(edit_field(ret, 6, 3, "4"))
    assert _refused(forged, sent) == "BANK_FILE_TOTALS"


def test_a_failure_turned_into_a_success_without_fixing_the_trailer_is_refused() -> None:
    sent, ret = _sent()
    forged = _reseal(edit_field(edit_field(ret, 2, 5, "S"), 2, 6, ""))
    assert _refused(forged, sent) == "BANK_FILE_TOTALS"


def test_a_line_that_was_never_sent_is_refused() -> None:
    sent, ret = _sent()
    assert _refused(_reseal(edit_field(ret, 5, 1, "99")), sent.header) == "BANK_FILE_UNKNOWN_LINE"
    assert _refused(_reseal(edit_field(ret, 5, 2, "pay:2014-07:other")), sent) == "BANK_FILE_UNKNOWN_LINE"
    assert _refused(_reseal(edit_field(ret, 5, 3, "6222999999999999")), sent) == "BANK_FILE_UNKNOWN_LINE"


def test_a_duplicated_line_is_refused() -> None:
    sent, ret = _sent()
    lines = ret.decode().split("\n")
    lines.insert(2, lines[1])
    assert _refused(_reseal("\n".join(lines).encode()), sent) == "BANK_FILE_DUPLICATE_LINE"
    assert _refused(_reseal(edit_field(ret, 3, 1, "1")), sent) == "BANK_FILE_DUPLICATE_LINE"


def test_a_missing_line_is_refused() -> None:
    sent, ret = _sent()
    lines = ret.decode().split("\n")
    del lines[3]
    assert _refused(_reseal("\n".join(lines).encode()), sent) == "BANK_FILE_TOTALS"


@pytest.mark.parametrize("cut", [1, 10, 80, 200])
def test_a_truncated_file_is_refused(cut: int) -> None:
    sent, ret = _sent()
    assert _refused(ret[:-cut], sent) == "BANK_FILE_TRUNCATED"
    if cut > 1:  # cut mid-line, then "completed" with a line break
        assert _refused(ret[:-cut] + b"\n", sent) in {"BANK_FILE_TRUNCATED", "BANK_FILE_MAC"}


def test_a_file_cut_after_a_whole_line_is_truncated() -> None:
    sent, ret = _sent()
    assert _refused(ret[:ret.rindex(b"\n", 0, len(ret) - 1) + 1], sent) == "BANK_FILE_TRUNCATED"
    assert _refused(b"", sent) == "BANK_FILE_TRUNCATED"


def test_a_file_in_another_encoding_is_refused() -> None:
    sent, ret = _sent()
    _, batch = _batch()
    with pytest.raises(BankFileRejected) as err:
        bf.parse_batch(_reseal(batch.decode().encode("gb18030")))  # the names are not UTF-8 any more
    assert err.value.code == "BANK_FILE_ENCODING"
    assert _refused(_reseal(b"\xff" + ret), sent) == "BANK_FILE_ENCODING"
    assert _refused(_reseal(ret.replace(b"|S|", b"|\xc0\xaf|", 1)), sent) == "BANK_FILE_ENCODING"  # overlong
    assert _refused(b"\xff" + ret, sent) == "BANK_FILE_MAC"  # and without the key: the MAC, before decoding


def test_crlf_line_ends_are_refused() -> None:
    sent, ret = _sent()
    assert _refused(_reseal(ret.replace(b"\n", b"\r\n")), sent) == "BANK_FILE_MALFORMED"
    assert _refused(ret.replace(b"\n", b"\r\n"), sent) == "BANK_FILE_MAC"


def test_a_return_for_another_batch_is_refused() -> None:
    sent, ret = _sent()
    other = bf.BatchHeader("ICBC", bf.Kind.CREDIT, "P201407-ICBC-2", "2014-07", sent.header.count,
                           sent.header.total, sent.header.created)
    assert _refused(ret, other) == "BANK_FILE_MISMATCH"
    assert _refused(_reseal(ret.replace(b"|credit|", b"|debit|", 1)), sent) == "BANK_FILE_MISMATCH"


def test_an_unknown_reason_or_status_is_refused() -> None:
    sent, ret = _sent()
    assert _refused(_reseal(edit_field(ret, 2, 6, "BANK_ON_STRIKE")), sent) == "BANK_FILE_MALFORMED"
    assert _refused(_reseal(edit_field(ret, 2, 5, "X")), sent) == "BANK_FILE_MALFORMED"
    assert _refused(_reseal(edit_field(ret, 1, 6, "NAME_MISMATCH")), sent) == "BANK_FILE_MALFORMED"


def test_a_non_ascii_digit_amount_is_refused() -> None:
    sent, ret = _sent()
    assert _refused(_reseal(edit_field(ret, 1, 4, "１００７")), sent) == "BANK_FILE_MALFORMED"


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
        bf.parse_batch(_reseal(edit_field(data, index, field, value)))
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
    keyed = data.draw(st.sampled_from(["none", "sha", "sha+mac"]))
    with contextlib.suppress(ValueError, IndexError):  # no line break or too few fields to find a trailer by
        forged = _resha(forged) if keyed == "sha" else _reseal(forged) if keyed == "sha+mac" else forged
    try:
        parsed = bf.parse_return(forged, sent)
    except BankFileRejected as refused:
        # without the bank's key, any change at all is caught by the MAC (or the file is not even a file)
        if keyed != "sha+mac" and forged != ret:
            assert refused.code in {"BANK_FILE_MAC", "BANK_FILE_TRUNCATED"}
        return
    if keyed != "sha+mac":
        assert forged == ret
    # Accepted only if it is still a faithful answer to every sent line.
    assert sorted(line.line_no for line in parsed.lines) == [1, 2, 3, 4, 5]
    assert parsed.ok_amount + parsed.failed_amount == sent.header.total


# ---------------------------------------------------------------------------------------------------- keyed MAC


def _failure_made_success(ret: bytes) -> bytes:
    """The penetration test's forgery: line 2 (a failure) turned into a success, the trailer's ok/failed totals
    and its SHA-256 recomputed — everything an unkeyed checksum allowed."""
    forged = edit_field(edit_field(ret, 2, 5, "S"), 2, 6, "")
    lines = forged.decode().split("\n")
    trailer = lines[-2].split("|")
    amount = int(lines[2].split("|")[4])
    trailer[3:7] = [str(int(trailer[3]) + 1), str(int(trailer[4]) + amount), str(int(trailer[5]) - 1),
                    str(int(trailer[6]) - amount)]
    lines[-2] = "|".join(trailer)
    return _resha("\n".join(lines).encode())


def test_a_forged_return_with_the_trailer_recomputed_is_refused() -> None:
    sent, ret = _sent()
    forged = _failure_made_success(ret)
    assert _refused(forged, sent) == "BANK_FILE_MAC"
    assert _refused(forged, sent.header) == "BANK_FILE_MAC"
    # the same forgery in the old layout (SHA-256 last, no key ref, no MAC) is refused as carrying no MAC
    start = forged.rindex(b"\n", 0, len(forged) - 1) + 1
    old_layout = forged[:start] + b"|".join(forged[start:-1].split(b"|")[:-2]) + b"\n"
    assert _refused(old_layout, sent) == "BANK_FILE_MAC"
    # what the bank itself signs is accepted: the forgery fails only for want of the key
    honest = bf.parse_return(_remac(forged), sent)
    assert (honest.ok_count, honest.failed_count) == (4, 1)
    assert (bf.parse_return(ret, sent).ok_count, bf.parse_return(ret, sent).failed_count) == (3, 2)


def _two_bank_ring() -> PartnerKeys:
    ring = PartnerKeys(bytes(range(32)))  # a real (non-demo) KEK: only keys created in the ring count
    ring.create("bank:ICBC")
    ring.create("bank:ABC")
    return ring


def test_a_file_macd_with_bank_as_key_is_refused_as_bank_bs() -> None:
    ring = _two_bank_ring()
    lines = _lines(3)
    header = bf.new_header("ABC", bf.Kind.DEBIT, "W201407-ABC-1", "2014-07", lines)
    sent = bf.parse_batch(bf.write_batch(header, lines, ring), ring)
    results = [bf.ReturnLine(ln.line_no, ln.ref, ln.account_no, ln.amount, True, None) for ln in lines]
    ret = bf.write_return(header, results, keys=ring)
    assert bf.parse_return(ret, sent, ring).ok_count == 3  # correctly MACed under ABC's key: accepted
    # ICBC (or whoever holds ICBC's key) answers ABC's batch: named as itself, or pretending to be ABC
    as_icbc = _remac(ret, ring, "bank:ICBC")
    assert b"|bank:ICBC:v1|" in as_icbc
    with pytest.raises(BankFileRejected) as err:
        bf.parse_return(as_icbc, sent, ring)
    assert err.value.code == "BANK_FILE_MAC" and "keyed for bank:ICBC" in str(err.value)
    icbc_key = ring.export("bank:ICBC")[1]
    icbc_only = PartnerKeys(bytes(range(1, 33)))  # the same key, filed under ABC's name in a forger's ring
    icbc_only._put([icbc_only._wrap("bank:ABC", 1, icbc_key)])
    pretending = _remac(ret, icbc_only, "bank:ABC")
    assert b"|bank:ABC:v1|" in pretending
    with pytest.raises(BankFileRejected) as err:
        bf.parse_return(pretending, sent, ring)
    assert err.value.code == "BANK_FILE_MAC" and "does not match" in str(err.value)
    # a batch for ABC handed to ICBC's side is refused the same way
    with pytest.raises(BankFileRejected) as err:
        bf.parse_batch(bf.write_batch(header, lines, ring), ring, bank_code="ICBC")
    assert err.value.code == "BANK_FILE_MAC"


def test_without_a_key_for_the_bank_nothing_is_written_or_read() -> None:
    ring = PartnerKeys(bytes(range(32)))
    header, data = _batch()  # under the demo key of the test session
    with pytest.raises(BankFileRejected) as err:
        bf.write_batch(header, _lines(), ring)
    assert err.value.code == "BANK_FILE_MAC"
    with pytest.raises(BankFileRejected) as err:
        bf.parse_batch(data, ring)
    assert err.value.code == "BANK_FILE_MAC" and "no key bank:ICBC:v1" in str(err.value)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10_000), st.integers(0, 255))
def test_any_single_byte_changed_in_a_signed_file_is_refused_by_the_mac(pos: int, value: int) -> None:
    sent, ret = _sent()
    pos %= len(ret)
    if ret[pos] == value:
        return
    forged = ret[:pos] + bytes([value]) + ret[pos + 1:]
    assert _refused(forged, sent) in {"BANK_FILE_MAC", "BANK_FILE_TRUNCATED"}
