"""``sscard kms partner-key …`` run as a real process: create, export (the partner's copy verifies what the
bureau writes), rotate, list — each audited, bad requests exit 2 with a code and no traceback."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, hmac

from sscard.banks import files as bf
from sscard.kms.partners import PartnerKeys

SSCARD = str(Path(sys.executable).parent / "sscard")
KEK_HEX = "5a" * 32  # not the public demo KEK: no demo keys
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    env = {**os.environ, "SSCARD_DATABASE_URL": f"sqlite:///{tmp_path / 'kms.db'}", "SSCARD_KMS_KEK_HEX": KEK_HEX,
           "SSCARD_PARTNER_KEYSTORE": str(tmp_path / "partner-keys.json")}

    def _run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([SSCARD, *args], env=env, capture_output=True, text=True, timeout=120, check=False)

    assert _run("migrate").returncode == 0
    return _run


def test_create_export_rotate_and_list_partner_keys(run: Run, tmp_path: Path) -> None:
    made = run("kms", "partner-key", "create", "--partner", "bank:ICBC", "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["version"] == 1
    out = tmp_path / "icbc-v1.json"
    exported = run("kms", "partner-key", "export", "--partner", "bank:ICBC", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert "key_hex" not in exported.stdout and oct(out.stat().st_mode & 0o777) == "0o600"
    handed = json.loads(out.read_text())
    assert (handed["key_ref"], handed["algorithm"]) == ("bank:ICBC:v1", "HMAC-SM3")

    # the bank, holding only the exported key, checks a batch the bureau wrote
    ring = PartnerKeys(bytes.fromhex(KEK_HEX), tmp_path / "partner-keys.json")
    lines = [bf.BatchLine(1, "r1", "6222000000000001", "张三", "", 1000)]
    data = bf.write_batch(bf.new_header("ICBC", "credit", "B1", "2014-07", lines), lines, ring)
    mac = hmac.HMAC(bytes.fromhex(handed["key_hex"]), hashes.SM3())
    mac.update(data[:-65])
    assert mac.finalize().hex() == data[-65:-1].decode()

    again = run("kms", "partner-key", "export", "--partner", "bank:ICBC", "--out", str(out))
    assert again.returncode == 2 and "PARTNER_KEY_INVALID" in again.stderr  # never overwrites a handed-out file
    assert run("kms", "partner-key", "create", "--partner", "bank:ICBC").returncode == 2
    bad = run("kms", "partner-key", "create", "--partner", "ICBC")
    assert bad.returncode == 2 and "PARTNER_KEY_INVALID" in bad.stderr and "Traceback" not in bad.stderr

    rotated = run("kms", "partner-key", "rotate", "--partner", "bank:ICBC", "--overlap-days", "3")
    assert rotated.returncode == 0, rotated.stderr
    listed = json.loads(run("kms", "partner-key", "list", "--partner", "bank:ICBC", "--json").stdout)
    assert [(k["version"], k["status"]) for k in listed] == [(1, "retired"), (2, "active")]
    assert listed[0]["verify_until"] is not None
    assert bf.parse_batch(data, PartnerKeys(bytes.fromhex(KEK_HEX), tmp_path / "partner-keys.json")).lines == lines

    with sqlite3.connect(tmp_path / "kms.db") as conn:
        actions = [row[0] for row in conn.execute(
            "SELECT action FROM audit_records WHERE entity_type = 'partner_key' ORDER BY seq")]
        audited = " ".join(str(row) for row in conn.execute("SELECT * FROM audit_records"))
    assert actions == ["kms.partner_key.create", "kms.partner_key.export", "kms.partner_key.rotate"]
    assert handed["key_hex"] not in audited
