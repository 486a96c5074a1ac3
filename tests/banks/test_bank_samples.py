"""The sample files in docs/examples are real: they parse (their MAC verifies under the documented demo key of
their bank), and each return answers its batch."""

from __future__ import annotations

from pathlib import Path

import pytest

from sscard.banks import files as bf
from sscard.banks.errors import BankFileRejected
from sscard.kms.partners import PartnerKeys, demo_key

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


@pytest.mark.parametrize(("kind", "reasons"), [
    ("credit", {"NAME_MISMATCH", "ACCOUNT_CLOSED", "FINANCIAL_NOT_ACTIVATED"}),
    ("debit", {"INSUFFICIENT_BALANCE", "ACCOUNT_FROZEN", "ACCOUNT_LOST", "NO_ACCOUNT"}),
])
def test_the_documented_samples_parse_and_add_up(kind: str, reasons: set[str]) -> None:
    demo = PartnerKeys.demo_ring()
    sent = bf.parse_batch((EXAMPLES / f"bank-{kind}-batch.txt").read_bytes(), demo)
    ret = bf.parse_return((EXAMPLES / f"bank-{kind}-return.txt").read_bytes(), sent, demo)
    assert sent.header.kind == kind
    assert {f.reason for f in ret.failures()} == reasons
    assert ret.ok_count + ret.failed_count == sent.header.count
    assert ret.ok_amount + ret.failed_amount == sent.header.total
    # the samples are what the writer produces today, byte for byte
    assert bf.write_batch(sent.header, sent.lines, demo) == (EXAMPLES / f"bank-{kind}-batch.txt").read_bytes()


def test_the_mac_of_a_sample_is_what_docs_banks_md_says_a_partner_computes() -> None:
    """The few lines of Python the docs give a bank, reproduced literally (hmac from the standard library has
    no SM3; ``cryptography`` does)."""
    from cryptography.hazmat.primitives import hashes, hmac

    data = (EXAMPLES / "bank-credit-return.txt").read_bytes()
    key = demo_key("bank:ICBC")
    h = hashes.Hash(hashes.SM3())
    h.update(b"sscard demo partner key|bank:ICBC")
    assert key == h.finalize()
    mac = hmac.HMAC(key, hashes.SM3())
    mac.update(data[:-65])  # everything before the 64 hex digits and the final line break
    assert mac.finalize().hex() == data[-65:-1].decode()
    assert data.splitlines()[-1].split(b"|")[-2] == b"bank:ICBC:v1"
    other = PartnerKeys(bytes(range(32)))  # a real KEK: no demo keys, and no key for ICBC in the ring
    with pytest.raises(BankFileRejected) as err:
        bf.parse_batch((EXAMPLES / "bank-credit-batch.txt").read_bytes(), other)
    assert err.value.code == "BANK_FILE_MAC"
