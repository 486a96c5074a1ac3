"""``sscard kms ecard-key …`` run as a real process with a real (non-demo) KEK: nothing signs before the key
ceremony; create, rotate (the old version verifies in the overlap), revoke and list — each audited, bad requests
exit 2 with a stable code and no traceback; the keystore never holds a private key in clear."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from sscard.kms.signing import SigningKeys, SigningKeyUnavailable

SSCARD = str(Path(sys.executable).parent / "sscard")
KEK_HEX = "6b" * 32  # not the public demo KEK: no key is made on first use
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    env = {**os.environ, "SSCARD_DATABASE_URL": f"sqlite:///{tmp_path / 'kms.db'}", "SSCARD_KMS_KEK_HEX": KEK_HEX,
           "SSCARD_ECARD_KEYSTORE": str(tmp_path / "ecard-keys.json")}

    def _run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([SSCARD, *args], env=env, capture_output=True, text=True, timeout=120, check=False)

    assert _run("migrate").returncode == 0
    return _run


def test_the_key_ceremony_on_the_command_line(run: Run, tmp_path: Path) -> None:
    ring = SigningKeys(bytes.fromhex(KEK_HEX), tmp_path / "ecard-keys.json")
    with pytest.raises(SigningKeyUnavailable):
        ring.sign(b"x")  # a real KEK: nothing signs before the key is created
    made = run("kms", "ecard-key", "create", "--json")
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["version"] == 1
    again = run("kms", "ecard-key", "create")
    assert again.returncode == 2 and "SIGNING_KEY_INVALID" in again.stderr + again.stdout
    assert "Traceback" not in again.stderr
    ring.refresh()
    version, signature = ring.sign(b"signed before the rotation")
    assert run("kms", "ecard-key", "rotate", "--overlap-hours", "1").returncode == 0
    listed = json.loads(run("kms", "ecard-key", "list", "--json").stdout)
    assert [(k["version"], k["status"]) for k in listed] == [(1, "retired"), (2, "active")]
    assert all(k["public_key"].startswith("04") and len(k["public_key"]) == 130 for k in listed)
    ring.refresh()
    assert ring.sign(b"y")[0] == 2 and set(ring.public_keys()) == {1, 2}
    assert run("kms", "ecard-key", "revoke", "--version", "1").returncode == 0
    ring.refresh()
    assert set(ring.public_keys()) == {2}
    stored = (tmp_path / "ecard-keys.json").read_text()
    assert "private" not in stored and oct((tmp_path / "ecard-keys.json").stat().st_mode & 0o777) == "0o600"
    with sqlite3.connect(tmp_path / "kms.db") as conn:
        actions = [r[0] for r in conn.execute("SELECT action FROM audit_records WHERE action LIKE 'kms.ecard_key%' "
                                              "ORDER BY seq")]
    assert actions == ["kms.ecard_key.create", "kms.ecard_key.rotate", "kms.ecard_key.revoke"]
    assert (version, len(signature)) == (1, 64)
