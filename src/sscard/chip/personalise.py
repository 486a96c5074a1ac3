"""Personalisation (个人化): build a card from plain holder data and per-card keys — the SSSE (EF05, EF06,
EF07/EF08, DF01–DF04) and the PSE with a PBOC debit application as in docs/chip.md — and the card factor.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sscard.chip.cos import PbocData, VirtualCard
from sscard.chip.fs import AccessRule, Algorithm, DedicatedFile, ElementaryFile, Key, KeyUsage, Pin
from sscard.chip.tlv import ber, dol_length, simple_tlv
from sscard.crypto import sm3

SSSE_AID = bytes.fromhex("7378312E73682EC9E7BBE1B1A3D5CF")
PSE_AID = b"1PAY.SYS.DDF01"
DEBIT_AID = bytes.fromhex("A000000333010101")
RID = bytes.fromhex("D156000005")
SSSE_FID, PSE_FID, DEBIT_FID = 0xDDF1, 0xDDF2, 0xAD01

# (DF FID, AID suffix, label, EF FIDs). Field layouts inside DF01–DF04 are not public: opaque 64-byte EFs.
SSSE_APPLICATIONS: tuple[tuple[int, int, str, tuple[int, ...]], ...] = (
    (0xDF01, 0x00, "公共应用", (0xEF05, 0xEF06, 0xEF07, 0xEF08, 0xEF09, 0xEF0A, 0xEF15)),
    (0xDF02, 0x01, "就业和失业", (0xEF05, 0xEF06, 0xEF07, 0xEF09, 0xEF15, 0xEF16)),
    (0xDF03, 0x02, "社会保险1", (0xEF05, 0xEF06, 0xEF07, 0xEF15)),
    (0xDF04, 0x03, "社会保险2(医疗)", (0xEF05, 0xEF06)),
)

# Card key name -> (environment, key id, usage). The key ids 04 and 0A follow observed readers; the rest are
# project choices (docs/chip.md).
KEY_SLOTS: dict[str, tuple[str, int, KeyUsage]] = {
    "IRK": ("ssse", 0x01, "int_auth"),
    "UKSSSE": ("ssse", 0x04, "ext_auth"),
    "MLK": ("ssse", 0x06, "mac"),
    "RKSSSE": ("ssse", 0x0A, "ext_auth"),
    "RPK": ("ssse", 0x0B, "pin_reload"),
    "PSE_UK": ("pse", 0x04, "ext_auth"),
    "PSE_MLK": ("pse", 0x06, "mac"),
    "PBOC_AC": ("debit", 0x01, "pboc_ac"),
}
ALGORITHM_FLAG = {"3des": 0x01, "sm4": 0x03}  # value after 9F0C 03 86 01 in the SSSE FCI (project choice)
CDOL1 = bytes.fromhex("9F02069F03069F1A0295055F2A029A039C019F3704")
WRITE_RULE = AccessRule("key:04+mac:06")


@dataclass(frozen=True, slots=True)
class HolderData:
    """What personalisation needs to know about a cardholder and the card (plain data, no DB)."""

    id_number: str  # 社会保障号码 = 公民身份号码, 18 characters
    name: str  # 姓名; up to 50 GB18030 bytes (30 in 姓名 + 20 in 姓名扩展)
    sex: str  # "1" male / "2" female (GB/T 2261.1)
    birth_date: dt.date
    nationality: str  # 民族 code, 2 digits (GB/T 3304), e.g. "01" = 汉族
    region_code: str  # 6-digit 行政区划代码 of the issuing city
    card_no: str  # 9-character 卡号
    issue_date: dt.date
    expiry_date: dt.date
    generation: int = 3  # 2 = 3DES (规范版本 2.00), 3 = SM4 (3.00)
    birthplace_code: str = ""  # 出生地 (6 digits); defaults to region_code
    card_type: str = "1"  # 卡的类别 (1 byte an; code table not public)
    init_org: str = ""  # 初始化机构编号 (12 characters); defaults to region_code + "000000"
    pan: str = ""  # debit PAN; defaults to a Luhn-valid number derived from region and card_no
    pan_sequence: int = 1

    def __post_init__(self) -> None:
        checks = [
            (len(self.id_number) == 18 and self.id_number[:17].isdigit(), "id_number"),
            (self.sex in ("1", "2", "0", "9"), "sex"),
            (len(self.nationality) == 2 and self.nationality.isdigit(), "nationality"),
            (len(self.region_code) == 6 and self.region_code.isdigit(), "region_code"),
            (len(self.card_no) == 9 and self.card_no.isascii() and self.card_no.isalnum(), "card_no"),
            (self.generation in (2, 3), "generation"),
            (
                not self.birthplace_code or (len(self.birthplace_code) == 6 and self.birthplace_code.isdigit()),
                "birthplace_code",
            ),
            (len(self.card_type) == 1, "card_type"),
            (not self.init_org or len(self.init_org.encode("ascii", "replace")) == 12, "init_org"),
            (not self.pan or (self.pan.isdigit() and 12 <= len(self.pan) <= 19), "pan"),
            (0 <= self.pan_sequence <= 99, "pan_sequence"),
            (self.expiry_date > self.issue_date, "expiry_date"),
        ]
        for ok, what in checks:
            if not ok:
                raise ValueError(f"invalid holder data: {what}")
        split_name(self.name)

    @property
    def algorithm(self) -> Algorithm:
        return "sm4" if self.generation == 3 else "3des"


@dataclass(frozen=True, slots=True)
class CardKeys:
    """The per-card (already diversified) keys, by name (KEY_SLOTS), and their key version."""

    algorithm: Algorithm
    keys: dict[str, bytes]
    version: int = 1


@dataclass(frozen=True, slots=True)
class Pins:
    """Initial PINs: the SSSE PIN and the separate debit-application PIN."""

    ssse: str = "123456"
    debit: str = "123456"
    ssse_tries: int = 3
    debit_tries: int = 3
    extra: dict[str, str] = field(default_factory=dict)


def split_name(name: str) -> tuple[bytes, bytes]:
    """GB18030 姓名 (30 bytes) and 姓名扩展 (20 bytes), split on a character boundary, 00-padded."""
    if not name or name != name.strip():
        raise ValueError("name must be non-empty without surrounding spaces")
    head, tail = b"", b""
    for ch in name:
        enc = ch.encode("gb18030")
        if not tail and len(head) + len(enc) <= 30:
            head += enc
        else:
            tail += enc
    if len(tail) > 20:
        raise ValueError("name longer than 50 GB18030 bytes")
    return head.ljust(30, b"\x00"), tail.ljust(20, b"\x00")


def _bcd(digits: str) -> bytes:
    return bytes.fromhex(digits + ("F" if len(digits) % 2 else ""))


def card_specific_bytes(holder: HolderData) -> bytes:
    """The 8 card-specific bytes of 卡识别码 (official meaning not public): SM3 of region, card_no and
    id_number, first 8 bytes. They are also the card factor for key diversification and end the ATR."""
    return sm3(f"{holder.region_code}|{holder.card_no}|{holder.id_number}".encode("ascii", "replace"))[:8]


def card_identification_code(holder: HolderData) -> bytes:
    """卡识别码 (16 bytes): 3-byte BCD region code ‖ RID D156000005 ‖ 8 card-specific bytes."""
    return bytes.fromhex(holder.region_code) + RID + card_specific_bytes(holder)


def card_atr(holder: HolderData) -> bytes:
    """3B 6D 00 00 + 13 historical bytes: 00 81 53 53 <generation '2'/'3'> ‖ card factor (8 bytes)."""
    return bytes.fromhex("3B6D0000008153") + bytes((0x53, 0x30 + holder.generation)) + card_specific_bytes(holder)


def _luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str(-total % 10)


def debit_pan(holder: HolderData) -> str:
    """The holder's PAN, or a stable Luhn-valid 19-digit one derived from region code and card_no."""
    if holder.pan:
        return holder.pan
    return derived_debit_pan(holder.region_code, holder.card_no)


def derived_debit_pan(region_code: str, card_no: str) -> str:
    """The PAN personalisation derives when the holder has none (what the issuer host recomputes)."""
    digest = int.from_bytes(sm3(card_no.encode("ascii")), "big")
    body = "62" + region_code + f"{digest % 10**10:010d}"
    return body + _luhn_digit(body)


def pan_factor(pan: str, psn: int) -> bytes:
    """EMV option A diversification data: rightmost 16 digits of PAN ‖ PSN as BCD (8 bytes)."""
    return bytes.fromhex((pan + f"{psn:02d}")[-16:].rjust(16, "0"))


def _record_ef(fid: int, sfi: int, read: str, records: list[bytes]) -> ElementaryFile:
    return ElementaryFile(fid=fid, sfi=sfi, kind="record", read=AccessRule(read), write=WRITE_RULE, records=records)


def _binary_ef(fid: int, sfi: int, read: str, size: int) -> ElementaryFile:
    return ElementaryFile(
        fid=fid, sfi=sfi, kind="binary", read=AccessRule(read), write=WRITE_RULE, content=bytearray(size)
    )


def _date(d: dt.date) -> bytes:
    return bytes.fromhex(d.strftime("%Y%m%d"))


def ssse_records(holder: HolderData) -> tuple[list[bytes], list[bytes]]:
    """EF05 (发卡机构数据) and EF06 (持卡人基本信息) records as simple TLVs."""
    init_org = (holder.init_org or holder.region_code + "000000").encode("ascii", "replace")
    ef05 = [
        simple_tlv(0x01, card_identification_code(holder)),
        simple_tlv(0x02, holder.card_type.encode("ascii", "replace")[:1]),
        simple_tlv(0x03, f"{holder.generation}.00".encode("ascii")),
        simple_tlv(0x04, init_org),
        simple_tlv(0x05, _date(holder.issue_date)),
        simple_tlv(0x06, _date(holder.expiry_date)),
        simple_tlv(0x07, holder.card_no.encode("ascii")),
    ]
    name, name_ext = split_name(holder.name)
    ef06 = [
        simple_tlv(0x08, holder.id_number.encode("ascii")),
        simple_tlv(0x09, name),
        simple_tlv(0x4E, name_ext),
        simple_tlv(0x0A, holder.sex.encode("ascii")),
        simple_tlv(0x0B, bytes.fromhex(holder.nationality)),
        simple_tlv(0x0C, bytes.fromhex(holder.birthplace_code or holder.region_code)),
        simple_tlv(0x0D, _date(holder.birth_date)),
    ]
    return ef05, ef06


def _keys_for(env: str, keys: CardKeys) -> dict[int, Key]:
    out: dict[int, Key] = {}
    for name, (where, kid, usage) in KEY_SLOTS.items():
        if where == env:
            value = keys.keys[name]
            if len(value) != 16:
                raise ValueError(f"card key {name} must be 16 bytes")
            out[kid] = Key(kid=kid, usage=usage, algorithm=keys.algorithm, value=value)
    return out


def personalise(holder: HolderData, keys: CardKeys, pins: Pins | None = None) -> VirtualCard:
    """Build a complete card (SSSE + PSE/debit) for ``holder`` with the given per-card keys and PINs."""
    pins = pins or Pins()
    if keys.algorithm != holder.algorithm:
        raise ValueError("key algorithm does not match the card generation")
    mf = DedicatedFile(fid=0x3F00, label="MF")
    read_basic = "free" if holder.generation == 2 else "key:0A"
    flag = ALGORITHM_FLAG[holder.algorithm]
    ssse = DedicatedFile(
        fid=SSSE_FID,
        aid=SSSE_AID,
        label="SSSE",
        fci_extra=ber(0x9F0C, bytes((0x86, 0x01, flag))),
        keys=_keys_for("ssse", keys),
        pins={0x00: Pin(ref=0x00, value=pins.ssse, max_tries=pins.ssse_tries, tries_left=pins.ssse_tries)},
    )
    ef05, ef06 = ssse_records(holder)
    ssse.add(_record_ef(0xEF05, 5, read_basic, ef05))
    ssse.add(_record_ef(0xEF06, 6, read_basic, ef06))
    ssse.add(_binary_ef(0xEF07, 7, "pin", 512))
    ssse.add(_binary_ef(0xEF08, 8, "pin", 2048))
    for fid, suffix, label, efs in SSSE_APPLICATIONS:
        app = DedicatedFile(fid=fid, aid=RID + bytes((suffix,)), label=label)
        for ef_fid in efs:
            app.add(_binary_ef(ef_fid, ef_fid & 0x1F, "pin", 64))
        ssse.add(app)
    mf.add(ssse)

    pse = DedicatedFile(
        fid=PSE_FID, aid=PSE_AID, label="PSE", fci_extra=ber(0x88, b"\x01"), keys=_keys_for("pse", keys)
    )
    pse.add(
        _record_ef(
            0xEF01,
            1,
            "free",
            [ber(0x70, ber(0x61, ber(0x4F, DEBIT_AID) + ber(0x50, b"DEBIT") + ber(0x87, b"\x01")))],
        )
    )
    pan = debit_pan(holder)
    expiry = holder.expiry_date.strftime("%y%m%d")
    track2 = _bcd(pan + "D" + expiry[:4] + "2200")
    debit = DedicatedFile(
        fid=DEBIT_FID,
        aid=DEBIT_AID,
        label="PBOC debit",
        fci_extra=ber(0x50, b"DEBIT") + ber(0x87, b"\x01") + ber(0x5F2D, b"zhen"),
        keys=_keys_for("debit", keys),
        pins={0x80: Pin(ref=0x80, value=pins.debit, max_tries=pins.debit_tries, tries_left=pins.debit_tries)},
    )
    debit.add(
        _record_ef(
            0xEF02,
            2,
            "free",
            [
                ber(0x70, ber(0x57, track2) + ber(0x5F20, b" /")),
                ber(
                    0x70,
                    ber(0x5A, _bcd(pan))
                    + ber(0x5F24, bytes.fromhex(expiry))
                    + ber(0x5F25, bytes.fromhex(holder.issue_date.strftime("%y%m%d")))
                    + ber(0x5F34, bytes((int(str(holder.pan_sequence), 16),)))
                    + ber(0x8C, CDOL1)
                    + ber(0x8D, CDOL1)
                    + ber(0x8E, bytes.fromhex("000000000000000042031E031F00"))
                    + ber(0x9F07, b"\xff\x00"),
                ),
            ],
        )
    )
    pse.add(debit)
    mf.add(pse)
    pboc = PbocData(
        aid=DEBIT_AID, aip=bytes.fromhex("1800"), afl=bytes.fromhex("10010200"), cdol1_len=dol_length(CDOL1)
    )
    return VirtualCard(mf=mf, atr=card_atr(holder), generation=holder.generation, pboc=pboc)
