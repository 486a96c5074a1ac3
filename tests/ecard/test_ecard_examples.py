"""docs/examples/ecard works exactly as shipped: the sample code parses to the signed bytes on file, verifies
under the sample public key in both SM2 implementations, and the offline verifier written from docs/ecard.md
accepts it in its minute and refuses it after (run as a separate process, as a partner would)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from gmssl import sm2 as pure_sm2

from sscard.crypto import sm2
from sscard.ecard import payload

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "ecard"
ISSUED = 1796198400  # 2026-12-02T08:00:00Z, as docs/ecard.md says


def _code() -> payload.Code:
    return payload.parse((EXAMPLES / "code.txt").read_text(encoding="ascii"))


def _public() -> bytes:
    return sm2.public_key(bytes.fromhex((EXAMPLES / "public-key.hex").read_text().strip()))


def test_the_sample_code_is_what_the_page_says() -> None:
    code = _code()
    assert (code.version, code.key_version, code.issued_at, code.validity) == (1, 1, ISSUED, 60)
    assert (EXAMPLES / "signed.bin").read_bytes() == code.signed


def test_the_sample_signature_verifies_in_both_implementations() -> None:
    code, public = _code(), _public()
    assert sm2.verify(public, (EXAMPLES / "signed.bin").read_bytes(), code.signature)
    pure = pure_sm2.CryptSM2(private_key="00", public_key=public.hex())
    assert pure.verify_with_sm3(code.signature.hex(), code.signed)
    payload.check(code, {1: public}, ISSUED + 30, skew=5)


def test_the_published_keys_sample_holds_the_sample_key_and_the_revocation_list_verifies() -> None:
    document = json.loads((EXAMPLES / "ecard-keys.json").read_text())
    assert document["signer_id"] == "1234567812345678" and document["code_prefix"] == payload.PREFIX
    assert sm2.public_key(bytes.fromhex(document["keys"][0]["public_key"])) == _public()
    crl = payload.parse_crl((EXAMPLES / "revocations.txt").read_bytes(), {1: _public()})
    assert _code().token_hex not in crl.tokens and len(crl.tokens) == 2


@pytest.mark.parametrize(("now", "expected", "status"), [(ISSUED + 30, "valid", 0),
                                                         (ISSUED + 100, "ECARD_CODE_EXPIRED", 1),
                                                         (ISSUED - 60, "ECARD_CODE_EXPIRED", 1)])
def test_the_offline_verifier_from_the_docs_agrees(now: int, expected: str, status: int) -> None:
    run = subprocess.run([sys.executable, str(EXAMPLES / "verify_offline.py"), str(EXAMPLES / "code.txt"),
                          str(EXAMPLES / "ecard-keys.json"), str(EXAMPLES / "revocations.txt"), "--now", str(now)],
                         capture_output=True, text=True, timeout=60)
    assert (run.stdout.strip(), run.returncode) == (expected, status)


def test_the_offline_verifier_refuses_a_tampered_code(tmp_path: Path) -> None:
    text = (EXAMPLES / "code.txt").read_text().strip()
    tampered = tmp_path / "code.txt"
    tampered.write_text(text[:20] + ("A" if text[20] != "A" else "B") + text[21:])
    run = subprocess.run([sys.executable, str(EXAMPLES / "verify_offline.py"), str(tampered),
                          str(EXAMPLES / "ecard-keys.json"), "--now", str(ISSUED + 30)],
                         capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() in {"ECARD_CODE_FORGED", "ECARD_CODE_MALFORMED"} and run.returncode == 1
