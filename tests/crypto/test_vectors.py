"""Known-answer tests from GB/T 32907 (SM4), GB/T 32905 (SM3), NIST SP 800-67 / FIPS 81 (DES, TDEA) and
ISO/IEC 9797-1 (MAC algorithm 3), plus properties of the MACs and of diversification."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

from sscard.crypto import (
    CryptoError,
    diversify,
    pad_iso9797_m2,
    retail_mac,
    sm3,
    sm4_cbc_mac,
    sm4_decrypt,
    sm4_encrypt,
    tdes_decrypt,
    tdes_encrypt,
    xor_bytes,
)

H = bytes.fromhex
SM4_K = H("0123456789abcdeffedcba9876543210")


def test_sm4_gbt32907_example_1() -> None:
    assert sm4_encrypt(SM4_K, SM4_K) == H("681edf34d206965e86b3e94f536e4246")
    assert sm4_decrypt(SM4_K, H("681edf34d206965e86b3e94f536e4246")) == SM4_K


@pytest.mark.slow
def test_sm4_gbt32907_example_2_one_million_iterations() -> None:
    block = SM4_K
    for _ in range(1_000_000):
        block = sm4_encrypt(SM4_K, block)
    assert block == H("595298c7c6fd271f0402f804c33d3f66")


def test_sm4_cbc_draft_ribose_vector_via_ecb_chaining() -> None:
    iv = H("000102030405060708090a0b0c0d0e0f")
    plain = H("aaaaaaaabbbbbbbbccccccccddddddddeeeeeeeeffffffffaaaaaaaabbbbbbbb")
    prev, out = iv, b""
    for i in range(0, len(plain), 16):
        prev = sm4_encrypt(SM4_K, xor_bytes(plain[i : i + 16], prev))
        out += prev
    assert out == H("78ebb11cc40b0a48312aaeb2040244cb4cb7016951909226979b0d15dc6a8f6d")


def test_sm3_gbt32905_examples() -> None:
    assert sm3(b"abc") == H("66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0")
    assert sm3(b"abcd" * 16) == H("debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732")


def test_tdea_nist_sp800_67_three_key_example() -> None:
    key = H("0123456789ABCDEF23456789ABCDEF01456789ABCDEF0123")
    expected = H("A826FD8CE53B855FCCE21C8112256FE668D5C05DD9B6B900")
    assert tdes_encrypt(key, b"The qufck brown fox jump") == expected
    assert tdes_decrypt(key, expected) == b"The qufck brown fox jump"


def test_single_des_fips81_example() -> None:
    assert tdes_encrypt(H("0123456789ABCDEF"), b"Now is t") == H("3FA40E8A984D4815")


def test_two_key_tdes_equals_three_key_with_k1_repeated() -> None:
    k = H("0123456789ABCDEFFEDCBA9876543210")
    assert tdes_encrypt(k, b"12345678") == tdes_encrypt(k + k[:8], b"12345678")


@pytest.mark.parametrize(
    ("message", "padding", "mac"),
    [
        (b"Now is the time for all ", 1, "A1C72E74EA3FA9B6"),
        (b"Now is the time for it", 1, "2E2B1428CC78254F"),
        (b"Now is the time for all ", 2, "E9086230CA3BE796"),
    ],
)
def test_retail_mac_iso9797_1_annex_b(message: bytes, padding: int, mac: str) -> None:
    key = H("0123456789ABCDEFFEDCBA9876543210")
    assert retail_mac(key, message, padding=padding) == H(mac)  # type: ignore[arg-type]  # 1|2 literal


def test_retail_mac_bouncy_castle_vector() -> None:
    assert retail_mac(H("7CA110454A1A6E570131D9619DC1376E"), b"Hello World !!!!", padding=1) == H("F09B856213BAB83B")


def test_retail_mac_default_is_padding_method_2() -> None:
    key = H("0123456789ABCDEFFEDCBA9876543210")
    m = b"Now is the time for all "
    assert retail_mac(key, m) == retail_mac(key, m + b"\x80" + bytes(7), padding=1)


def test_sm4_cbc_mac_single_block_reduces_to_gbt32907_example_1() -> None:
    # MAC("" , iv) = E(K, iv xor 80 00..00); choose iv so the block is the standard's plaintext.
    iv = xor_bytes(SM4_K, H("80" + "00" * 15))
    assert sm4_cbc_mac(SM4_K, b"", iv) == H("681edf34d206965e86b3e94f536e4246")


def test_sm4_cbc_mac_is_last_block_of_cbc_over_padded_data() -> None:
    data = b"sscard line protection"
    padded = pad_iso9797_m2(data, 16)
    enc = Cipher(algorithms.SM4(SM4_K), modes.CBC(bytes(16))).encryptor()
    assert sm4_cbc_mac(SM4_K, data) == (enc.update(padded) + enc.finalize())[-16:]


def test_diversify_3des_is_left_and_right_halves() -> None:
    mk = H("0123456789ABCDEFFEDCBA9876543210")
    d = H("1234567890123456")
    out = diversify(mk, d, "3des")
    assert out[:8] == tdes_encrypt(mk, d)
    assert out[8:] == tdes_encrypt(mk, H("EDCBA9876FEDCBA9"))


def test_diversify_3des_matches_emv_option_a_before_parity() -> None:
    # pyemv derive_icc_mk_a doctest: IMK 0123..3210, PAN 12345678901234567, PSN 01 -> 73AD5468.. (odd parity).
    out = diversify(H("0123456789ABCDEFFEDCBA9876543210"), H("4567890123456701"), "3des")
    with_parity = bytes(b & 0xFE | (bin(b >> 1).count("1") + 1) % 2 for b in out)
    assert with_parity == H("73AD54688CEF2934B0979857E3C719F1")


def test_diversify_sm4_is_one_block_of_factor_and_complement() -> None:
    d = H("0011223344556677")
    assert diversify(SM4_K, d, "sm4") == sm4_encrypt(SM4_K, d + H("FFEEDDCCBBAA9988"))


@pytest.mark.parametrize(
    "call",
    [
        lambda: sm4_encrypt(bytes(15), bytes(16)),
        lambda: sm4_encrypt(bytes(16), bytes(15)),
        lambda: tdes_encrypt(bytes(10), bytes(8)),
        lambda: tdes_decrypt(bytes(16), bytes(9)),
        lambda: retail_mac(bytes(8), b"x"),
        lambda: diversify(bytes(16), bytes(7), "3des"),
        lambda: diversify(bytes(16), bytes(8), "aes"),
    ],
)
def test_bad_lengths_raise_crypto_error(call: object) -> None:
    with pytest.raises(CryptoError):
        call()  # type: ignore[operator]


@given(st.binary(max_size=64), st.binary(min_size=16, max_size=16))
def test_sm4_round_trip(data: bytes, key: bytes) -> None:
    block = pad_iso9797_m2(data, 16)
    assert sm4_decrypt(key, sm4_encrypt(key, block)) == block


@given(st.binary(max_size=40), st.integers(0, 39))
def test_retail_mac_detects_any_single_bit_flip(data: bytes, pos: int) -> None:
    key = H("0123456789ABCDEFFEDCBA9876543210")
    if not data:
        return
    flipped = bytearray(data)
    flipped[pos % len(data)] ^= 0x01
    assert retail_mac(key, bytes(flipped)) != retail_mac(key, data)
