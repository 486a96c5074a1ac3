"""The feed formats alone (no database): a sealed file reads back exactly; every defect is refused with its stable
code; the parsers never raise anything but a ``FeedRejected`` (hypothesis)."""

from __future__ import annotations

import base64
import contextlib
import hashlib

import pytest
from feeds_world import RING, lines, plain, sealed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sscard.exchange.feeds import formats
from sscard.exchange.feeds.errors import FeedRejected
from sscard.kms.partners import PartnerKeys
from support.factories import next_id_number

NUMBER = next_id_number()
DEATH = lines(("DEATH", NUMBER, "张三", "20260105"), ("MOVE", NUMBER, "张三", "20260101", "440106"))


def _code(fn: object, *args: object) -> str:
    with pytest.raises(FeedRejected) as caught:
        fn(*args)  # type: ignore[operator]
    return caught.value.code


def test_a_sealed_file_reads_back_exactly() -> None:
    data = sealed("dept:PSB", 7, DEATH)
    env, feed = formats.read_file(data, "dept:PSB", RING)
    assert (env.partner, env.file_id, env.seq, env.key_version) == ("dept:PSB", "PSB-PSCHG-0007", 7, 1)
    assert feed.lines == DEATH and feed.header.kind == "PSCHG"
    assert b"\xe5\xbc\xa0" not in data  # the name travels encrypted, never in clear


def test_gb18030_plaintexts_are_read_in_their_declared_encoding() -> None:
    rows = lines(("DEATH", NUMBER, "𬌗强", "20260105"))
    data = formats.seal(plain("dept:PSB", 1, rows, encoding="GB18030"), RING)
    assert formats.read_file(data, "dept:PSB", RING)[1].lines == rows


def _reseal(plaintext: bytes, partner: str = "dept:PSB", file_id: str = "PSB-PSCHG-0001", seq: int = 1) -> bytes:
    return formats.seal_bytes(plaintext, partner, file_id, seq, RING)


def test_every_defect_is_refused_with_its_code() -> None:
    good = sealed("dept:PSB", 1, DEATH)
    fields = good[:-1].split(b"|")
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0x01
    text = plain("dept:PSB", 1, DEATH)
    bad_sum = text.replace(b"20260105", b"20260106")
    other_ring = PartnerKeys(bytes(range(32)), None, demo=False)
    other_ring.create("dept:PSB")
    bad_padding = b"|".join([*fields[:6], base64.b64encode(b"\x00" * 32)]) + b"|"
    bad_padding += RING.seal("dept:PSB", (bad_padding,))
    wrong_kind = plain("dept:PSB", 1, lines(("CREM", NUMBER, "张三", "20260105", "20260106")), kind="CREM")
    bad_line = text.replace(b"D|2|MOVE", b"D|3|MOVE")
    bad_line = bad_line[:bad_line.rindex(b"T|")] + b"T|2|" + \
        hashlib.sha256(bad_line[:bad_line.rindex(b"T|")]).hexdigest().encode() + b"\n"
    cases = {
        "EXCHANGE_FEED_MALFORMED": [b"", b"hello\n", b"X|FEEDX1|dept:PSB\n|x|\n", _reseal(b"not a feed\n"),
                                    _reseal(bad_line)],
        "EXCHANGE_FEED_TRUNCATED": [good[:-1], good[:len(good) // 2], b"|".join(fields[:6]) + b"\n",
                                    _reseal(text[:text.rindex(b"T|")])],
        "EXCHANGE_FEED_MAC": [bytes(flipped), good[:-65] + b"0" * 64 + b"\n",
                              formats.seal(text, other_ring)],
        "EXCHANGE_FEED_WRONG_PARTNER": [sealed("dept:CIVIL", 1, lines(("CREM", NUMBER, "张三", "20260105",
                                                                         "20260106")))],
        "EXCHANGE_FEED_DECRYPT": [bad_padding],
        "EXCHANGE_FEED_CHECKSUM": [_reseal(bad_sum)],
        "EXCHANGE_FEED_KIND": [_reseal(wrong_kind, file_id="PSB-CREM-0001")],
    }
    found = {code: [_code(formats.read_file, data, "dept:PSB", RING) for data in datas]
             for code, datas in cases.items()}
    assert found == {code: [code] * len(datas) for code, datas in cases.items()}


def test_the_envelope_must_agree_with_its_plaintext() -> None:
    text = plain("dept:PSB", 1, DEATH)
    assert _code(formats.read_file, _reseal(text, seq=2), "dept:PSB", RING) == "EXCHANGE_FEED_MALFORMED"
    assert _code(formats.read_file, _reseal(text, file_id="OTHER"), "dept:PSB", RING) == "EXCHANGE_FEED_MALFORMED"


def test_lines_with_invalid_fields_refuse_the_whole_file() -> None:
    for row in [("DEATH", NUMBER[:-1] + ("0" if NUMBER[-1] != "0" else "1"), "张三", "20260105"),
                ("DEATH", NUMBER, "", "20260105"), ("DEATH", NUMBER, "张三", "20260230"),
                ("IDCHG", NUMBER, NUMBER, "张三"), ("MOVE", NUMBER, "张三", "20260101", "4401")]:
        header = formats.Header("dept:PSB", "PSCHG", "F1", 1, "UTF-8", 1, "20260106020000")
        body = f"H|FEED1|dept:PSB|PSCHG|F1|1|UTF-8|1|20260106020000\nD|1|{'|'.join(row)}\n".encode()
        data = body + f"T|1|{hashlib.sha256(body).hexdigest()}\n".encode()
        assert _code(formats.parse_plain, data) == "EXCHANGE_FEED_MALFORMED", row
        assert _code(formats.write_plain, header, lines(row)) in ("EXCHANGE_FEED_MALFORMED",), row


# ---------------------------------------------------------------------------------------------------- fuzz

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GOOD = sealed("dept:PSB", 1, DEATH)
TEXT = plain("dept:PSB", 1, DEATH)


def _only_rejections(fn: object, *args: object) -> None:
    with contextlib.suppress(FeedRejected):
        fn(*args)  # type: ignore[operator]


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_never_escape_as_anything_but_a_refusal(data: bytes) -> None:
    _only_rejections(formats.read_file, data, "dept:PSB", RING)
    _only_rejections(formats.parse_plain, data)
    env = formats.peek(data)  # never raises: None, or the clear fields in their forms
    assert env is None or (formats.FILE_ID_RE.fullmatch(env.file_id) and env.seq >= 1)


@FUZZ
@given(st.integers(0, len(GOOD) - 1), st.integers(1, 255), st.integers(0, len(GOOD)))
def test_a_changed_or_cut_envelope_is_refused(at: int, xor: int, cut: int) -> None:
    changed = bytearray(GOOD)
    changed[at] ^= xor
    with pytest.raises(FeedRejected):
        formats.read_file(bytes(changed), "dept:PSB", RING)
    if cut < len(GOOD):
        with pytest.raises(FeedRejected):
            formats.read_file(GOOD[:cut], "dept:PSB", RING)


@FUZZ
@given(st.integers(0, len(TEXT) - 1), st.binary(max_size=8), st.integers(0, 4))
def test_a_changed_plaintext_sealed_properly_reads_or_is_refused(at: int, insert: bytes, drop: int) -> None:
    changed = TEXT[:at] + insert + TEXT[at + drop:]
    _only_rejections(formats.read_file, _reseal(changed), "dept:PSB", RING)


LINE_TYPES = {t: n for _k, (_p, types) in formats.KINDS.items() for t, n in types.items()}


@FUZZ
@given(st.sampled_from(sorted(formats.KINDS)), st.lists(st.tuples(
    st.sampled_from(sorted(LINE_TYPES)), st.lists(st.text(max_size=20), min_size=0, max_size=8)), max_size=4),
    st.sampled_from(formats.ENCODINGS))
def test_random_lines_of_every_kind_parse_or_are_refused(kind: str, rows: list[tuple[str, list[str]]],
                                                        encoding: str) -> None:
    body_lines = "".join(f"D|{i}|{t}|{'|'.join(f)}\n" for i, (t, f) in enumerate(rows, start=1))
    head = f"H|FEED1|dept:PSB|{kind}|F1|1|{encoding}|{len(rows)}|20260106020000\n"
    try:
        body = (head + body_lines).encode(encoding.lower())
    except UnicodeEncodeError:
        return
    data = body + f"T|{len(rows)}|{hashlib.sha256(body).hexdigest()}\n".encode()
    _only_rejections(formats.parse_plain, data)
