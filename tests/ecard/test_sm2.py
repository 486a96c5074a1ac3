"""SM2 as the e-card uses it: the standard's worked example as a known answer, and signatures that one
implementation makes verifying in the other (gmssl-pyx, the GmSSL C library, against pure-Python gmssl)."""

from __future__ import annotations

import os

import pytest
from gmssl import sm2 as pure_sm2
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sscard.crypto import sm2

# GM/T 0003.5-2012 (SM2 part 5, parameter definitions; GB/T 32918.5-2017) Annex A, the signature example on the
# recommended curve: private key d_A, public key P_A, message "message digest", signer ID 1234567812345678, the
# digest e = SM3(Z_A ‖ M), the random k, and the signature (r, s) it gives.
KAT_D = "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8"
KAT_P = ("09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
         "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13")
KAT_K = "59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21"
KAT_R = "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
KAT_S = "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
KAT_M = b"message digest"
KAT_E = "F0B43E94BA45ACCAACE692ED534382EB17E6AB5A19CE7B31F4486FDFC0D28640"


def _pure(private_hex: str, public_hex: str) -> pure_sm2.CryptSM2:
    return pure_sm2.CryptSM2(private_key=private_hex.lower(), public_key=public_hex.lower())


def test_the_public_key_of_the_example_is_d_times_g() -> None:
    pure = _pure(KAT_D, KAT_P)
    assert pure._kg(int(KAT_D, 16), pure.ecc_table["g"]).upper() == KAT_P


def test_the_digest_of_the_example_is_sm3_of_z_and_the_message() -> None:
    assert _pure(KAT_D, KAT_P)._sm3_z(KAT_M).upper() == KAT_E


def test_the_standard_example_signature_is_reproduced_with_its_k() -> None:
    assert _pure(KAT_D, KAT_P).sign_with_sm3(KAT_M, KAT_K.lower()).upper() == KAT_R + KAT_S


def test_the_standard_example_signature_verifies_in_gmssl_pyx() -> None:
    public, signature = bytes.fromhex(KAT_P), bytes.fromhex(KAT_R + KAT_S)
    assert sm2.verify(public, KAT_M, signature)
    assert not sm2.verify(public, KAT_M + b"!", signature)
    flipped = bytearray(signature)
    flipped[63] ^= 1
    assert not sm2.verify(public, KAT_M, bytes(flipped))


@settings(max_examples=20, deadline=None)
@given(st.binary(max_size=200))
def test_a_gmssl_pyx_signature_verifies_in_pure_gmssl(message: bytes) -> None:
    """Pure gmssl's verify sometimes raises from inside its point arithmetic (a None where a point should be;
    seen here about twice in 1,500, whoever signed): those examples say nothing about gmssl-pyx and are skipped.
    A disagreement shows as False, and fails."""
    private, public = sm2.generate_key()
    signature = sm2.sign(private, public, message)
    assert len(signature) == 64
    try:
        verified = _pure(private.hex(), public.hex()).verify_with_sm3(signature.hex(), message)
    except Exception:  # gmssl raises bare Exception or TypeError from inside its arithmetic
        assume(False)
    assert verified


@settings(max_examples=20, deadline=None)
@given(st.binary(max_size=200))
def test_a_pure_gmssl_signature_verifies_in_gmssl_pyx(message: bytes) -> None:
    """Pure-Python gmssl itself is wrong for about one key or nonce in a few hundred (seen here: 3 in 1,500, its
    point arithmetic hits a None and it signs garbage or raises; the signature then fails its own verify too).
    Those are its bugs, not gmssl-pyx's: only signatures pure gmssl can verify itself are cross-checked."""
    private, public = sm2.generate_key()
    pure = _pure(private.hex(), public.hex())
    try:
        signature = pure.sign_with_sm3(message, os.urandom(32).hex())
        consistent = pure.verify_with_sm3(signature, message)
    except Exception:  # gmssl raises bare Exception or TypeError from inside its arithmetic
        consistent = False
    assume(consistent)
    assert sm2.verify(public, message, bytes.fromhex(signature))


@pytest.mark.parametrize("signature", [b"", bytes(64), b"\xff" * 64, bytes(63)])
def test_signatures_of_the_wrong_shape_or_out_of_range_do_not_verify(signature: bytes) -> None:
    _, public = sm2.generate_key()
    assert not sm2.verify(public, b"x", signature)


def test_a_public_key_off_the_curve_is_refused() -> None:
    with pytest.raises(sm2.Sm2Error):
        sm2.public_key(bytes(64))
    assert sm2.public_key(b"\x04" + bytes.fromhex(KAT_P)) == bytes.fromhex(KAT_P)
