"""The LMC1 legacy card file: written and read back in both encodings; every defect refused whole with its code;
fuzzed (random bytes, and valid files with bytes changed, in UTF-8 and GB18030) — a parse never fails any other
way, and a changed file never reads as something else."""

from __future__ import annotations

import contextlib
import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from transition_world import id_numbers, make_file

from sscard.kms.partners import PartnerKeys
from sscard.transition import legacy_file
from sscard.transition.errors import LegacyFileRejected
from sscard.transition.legacy_file import Line
from support.filemac import edit_field, reseal, resha

NUMBERS = id_numbers(5, region="441802")
LINES = [Line(i, f"OLD{i:05d}", n, name, bal, st_)
         for i, (n, name, bal, st_) in enumerate(zip(NUMBERS, ["张三", "李四", "陈䶮", "王五", "O'Brien 欧"],
                                                     [100, 0, 2_500_000, 7, 999_999_999_999], "12191",
                                                     strict=True), start=1)]


def _code(data: bytes, **kw: object) -> str:
    with pytest.raises(LegacyFileRejected) as caught:
        legacy_file.parse_file(data, **kw)  # type: ignore[arg-type]
    return caught.value.code


def _reencode(data: bytes) -> bytes:
    """A GB18030 file's text as UTF-8 bytes (header still says GB18030), resealed."""
    return reseal(data.decode("gb18030").encode("utf-8"))


@pytest.mark.parametrize("encoding", ["UTF-8", "GB18030"])
def test_a_file_reads_back_as_written(encoding: str) -> None:
    data = make_file(LINES, encoding=encoding)
    parsed = legacy_file.parse_file(data)
    assert list(parsed.lines()) == LINES
    assert parsed.header.encoding == encoding and parsed.header.count == 5
    assert parsed.header.total == sum(line.balance for line in LINES)
    assert parsed.checksum == hashlib.sha256(data[:data.rindex(b"\n", 0, len(data) - 1) + 1]).hexdigest()
    if encoding == "GB18030":
        assert "陈䶮".encode("gb18030") in data and "陈䶮".encode() not in data


def test_an_empty_file_is_a_file() -> None:
    parsed = legacy_file.parse_file(make_file([]))
    assert len(parsed) == 0 and parsed.header.total == 0


def test_fifteen_digit_numbers_are_upgraded() -> None:
    old = "441802330404004"
    parsed = legacy_file.parse_file(make_file([Line(1, "OLD1", old, "陈", 5, "1")]))
    assert parsed.id_numbers == ["441802193304040048"]


BAD = {
    "LEGACY_FILE_MAC": [
        lambda d: d[:-65] + b"0" * 64 + b"\n",  # wrong MAC
        lambda d: d.rsplit(b"|", 2)[0] + b"\n",  # no MAC at all
        lambda d: reseal(d, partner="legacy:OTHER"),  # MAC'd by another old system's key
        lambda d: reseal(d, partner="bank:ICBC"),  # by a bank's key
        lambda d: edit_field(d, 1, 4, "李四"),  # a name changed, nothing recomputed
    ],
    "LEGACY_FILE_CHECKSUM": [lambda d: d.replace(b"|100|", b"|101|", 1)[:0] or _remac_only(d)],
    "LEGACY_FILE_TRUNCATED": [
        lambda d: d[:-1],
        lambda d: d[:d.rindex(b"\n", 0, len(d) - 1) + 1],  # the trailer cut off
        lambda d: b"",
    ],
    "LEGACY_FILE_TOTALS": [
        lambda d: reseal(edit_field(d, 0, 7, "101")),  # header total
        lambda d: reseal(edit_field(d, 0, 6, "6")),  # header count
        lambda d: reseal(edit_field(d, 1, 5, "101")),  # a balance changed: header and trailer disagree
    ],
    "LEGACY_FILE_MALFORMED": [
        lambda d: reseal(edit_field(d, 0, 5, "GBK")),  # an encoding not accepted
        lambda d: reseal(edit_field(d, 0, 1, "LMC2")),
        lambda d: reseal(edit_field(d, 0, 4, "20261331")),  # no such day
        lambda d: reseal(edit_field(d, 1, 1, "2")),  # line numbers out of order
        lambda d: reseal(edit_field(d, 1, 2, "old-1")),  # card number not A-Z 0-9
        lambda d: reseal(edit_field(d, 1, 3, "44180219300101")),  # ID number too short
        lambda d: reseal(edit_field(d, 1, 4, "")),  # empty name
        lambda d: reseal(edit_field(d, 1, 4, "张" * 51)),  # name too long
        lambda d: reseal(edit_field(d, 1, 4, "张\t三")),  # control character
        lambda d: reseal(edit_field(d, 1, 5, "-100")),
        lambda d: reseal(edit_field(d, 1, 5, "1.00")),
        lambda d: reseal(edit_field(d, 1, 5, "１００")),  # full-width digits
        lambda d: reseal(edit_field(d, 1, 6, "3")),  # unknown status
        lambda d: reseal(edit_field(d, 1, 0, "D")),
        lambda d: reseal(d.replace(b"\n", b"\r\n", 1)),
        lambda d: reseal(d.replace(b"|OLD00001|", b"|OLD00001|x|", 1)),  # one field too many
        lambda d: b"garbage\nT|0|0|" + b"0" * 64 + b"|legacy:QYMED:v1|" + b"0" * 64 + b"\n",
    ],
    "LEGACY_FILE_DUPLICATE_LINE": [lambda d: reseal(edit_field(edit_field(d, 2, 2, "OLD00001"), 2, 3, NUMBERS[0]))],
    "LEGACY_CARD_CONFLICT": [lambda d: reseal(edit_field(d, 2, 2, "OLD00001"))],  # one card, two ID numbers
}


def _remac_only(data: bytes) -> bytes:
    """A content change with the old checksum kept and the MAC recomputed (the key holder's own mistake)."""
    from support.filemac import remac

    return remac(data.replace(b"|OLD00002|", b"|OLD00009|", 1))


@pytest.mark.parametrize(("code", "change"), [(c, f) for c, fs in BAD.items() for f in fs])
def test_every_defect_is_refused_with_its_code(code: str, change: object) -> None:
    good = make_file([line._replace(balance=100) if line.line_no == 1 else line for line in LINES])
    assert callable(change)
    assert _code(change(good)) == code


def test_encoding_errors_are_their_own_code() -> None:
    gb = make_file(LINES, encoding="GB18030")
    assert _code(reseal(gb.replace("张三".encode("gb18030"), b"\x81\x20\xff", 1))) == "LEGACY_FILE_ENCODING"
    # UTF-8 bytes under a GB18030 header mostly decode (to other characters): what the checks then find
    assert _code(_reencode(gb)) in ("LEGACY_FILE_ENCODING", "LEGACY_FILE_MALFORMED")
    utf = make_file(LINES, encoding="UTF-8")
    assert _code(reseal(utf.replace("张三".encode(), b"\xd5\xc5\xc8\xfd", 1))) == "LEGACY_FILE_ENCODING"


def test_the_mac_is_checked_against_the_expected_source() -> None:
    data = make_file(LINES)
    assert _code(data, source="GFMED") == "LEGACY_FILE_MAC"
    assert legacy_file.parse_file(data, source="QYMED").header.source == "QYMED"
    # a stored key replaces the demo key: a file under the demo key no longer verifies
    ring = PartnerKeys(bytes(range(32)), None)
    ring.create("legacy:QYMED")
    assert _code(data, keys=ring) == "LEGACY_FILE_MAC"
    signed = legacy_file.write_file(legacy_file.parse_file(data).header, LINES, keys=ring)
    assert list(legacy_file.parse_file(signed, keys=ring).lines()) == LINES


def test_the_writer_refuses_what_would_not_read_back() -> None:
    header = legacy_file.new_header("QYMED", "F1", "20261130", LINES)
    with pytest.raises(LegacyFileRejected):
        legacy_file.write_file(header, [LINES[0]._replace(name="a|b"), *LINES[1:]])
    with pytest.raises(LegacyFileRejected):
        legacy_file.write_file(header, [LINES[0]._replace(name="a\tb"), *LINES[1:]])
    with pytest.raises(LegacyFileRejected):
        legacy_file.write_file(header, [LINES[0]._replace(legacy_card_no="old-1"), *LINES[1:]])
    # GB18030 encodes every Unicode character (an emoji too): such a name is written and read back
    emoji = [LINES[0]._replace(name="\U0001f600"), *LINES[1:]]
    gb = legacy_file.write_file(legacy_file.new_header("QYMED", "F1", "20261130", emoji, "GB18030"), emoji)
    assert list(legacy_file.parse_file(gb).lines()) == emoji
    with pytest.raises(LegacyFileRejected):
        legacy_file.write_file(header, LINES[:2])


# ---------------------------------------------------------------------------------------------------- fuzz

_names = st.text(alphabet=st.characters(codec="gb18030", exclude_categories=("Cc", "Cs")).filter(
    lambda c: c not in "|\n\r\x85\u2028\u2029"), min_size=1, max_size=8)


@st.composite
def _lines(draw: st.DrawFn) -> list[Line]:
    n = draw(st.integers(0, 6))
    numbers = id_numbers(n, region="441802")
    return [Line(i, f"F{i:06d}", numbers[i - 1], draw(_names), draw(st.integers(0, 10**12)),
                 draw(st.sampled_from("129"))) for i in range(1, n + 1)]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=_lines(), encoding=st.sampled_from(["UTF-8", "GB18030"]))
def test_fuzz_any_valid_file_reads_back(lines: list[Line], encoding: str) -> None:
    assert list(legacy_file.parse_file(make_file(lines, encoding=encoding)).lines()) == lines


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=_lines(), encoding=st.sampled_from(["UTF-8", "GB18030"]), data=st.data())
def test_fuzz_a_changed_file_is_refused_or_reads_the_same(lines: list[Line], encoding: str,
                                                          data: st.DataObject) -> None:
    good = make_file(lines, encoding=encoding)
    at = data.draw(st.integers(0, len(good) - 1))
    new = data.draw(st.binary(min_size=0, max_size=4))
    cut = data.draw(st.integers(0, 3))
    changed = good[:at] + new + good[at + cut:]
    candidates = [("as changed", changed)]
    # what a forger can do (the checksum), and what only the key holder can (the MAC too); with no trailer left
    # to redo, the file as changed is still parsed
    with contextlib.suppress(ValueError, IndexError):
        candidates += [("checksum redone", resha(changed)), ("resealed", reseal(changed, partner="legacy:QYMED"))]
    for how, candidate in candidates:
        try:
            parsed = legacy_file.parse_file(candidate)
        except LegacyFileRejected:
            continue
        if candidate == good:
            assert list(parsed.lines()) == lines
        else:
            assert how == "resealed", how  # without the key a change never passes
            assert parsed.header.count == len(parsed) and parsed.header.total == sum(parsed.balances)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes_are_refused(raw: bytes) -> None:
    with pytest.raises(LegacyFileRejected):
        legacy_file.parse_file(raw)


@settings(max_examples=200, deadline=None)
@given(body=st.text(max_size=200), encoding=st.sampled_from(["UTF-8", "GB18030"]))
def test_fuzz_any_text_keyed_by_the_partner_is_refused_or_consistent(body: str, encoding: str) -> None:
    """Whatever the key holder MACs (any text after a valid header) parses whole or is refused with a code."""
    head = f"H|LMC1|QYMED|F1|20261130|{encoding}|1|5|20261201080000\n"
    raw = (head + body).encode("gb18030" if encoding == "GB18030" else "utf-8", errors="replace")
    if not raw.endswith(b"\n"):
        raw += b"\n"
    data = reseal(raw + b"T|1|5|" + b"0" * 64 + b"|legacy:QYMED:v1|" + b"0" * 64 + b"\n", partner="legacy:QYMED")
    try:
        parsed = legacy_file.parse_file(data)
    except LegacyFileRejected:
        return
    assert len(parsed) == 1 and sum(parsed.balances) == 5
