"""The sample files in docs/examples are real: they parse, and each return answers its batch."""

from __future__ import annotations

from pathlib import Path

import pytest

from sscard.banks import files as bf

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


@pytest.mark.parametrize(("kind", "reasons"), [
    ("credit", {"NAME_MISMATCH", "ACCOUNT_CLOSED", "FINANCIAL_NOT_ACTIVATED"}),
    ("debit", {"INSUFFICIENT_BALANCE", "ACCOUNT_FROZEN", "ACCOUNT_LOST", "NO_ACCOUNT"}),
])
def test_the_documented_samples_parse_and_add_up(kind: str, reasons: set[str]) -> None:
    sent = bf.parse_batch((EXAMPLES / f"bank-{kind}-batch.txt").read_bytes())
    ret = bf.parse_return((EXAMPLES / f"bank-{kind}-return.txt").read_bytes(), sent)
    assert sent.header.kind == kind
    assert {f.reason for f in ret.failures()} == reasons
    assert ret.ok_count + ret.failed_count == sent.header.count
    assert ret.ok_amount + ret.failed_amount == sent.header.total
    # the samples are what the writer produces today, byte for byte
    assert bf.write_batch(sent.header, sent.lines) == (EXAMPLES / f"bank-{kind}-batch.txt").read_bytes()
