"""``sscard exchange …`` on both databases: a department, its key, an agreement requested by one operator and
approved by another (the requester refused with exit 2 and the code), the usage report, the outbox worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from sscard import clock
from support.city import City

SSCARD = str(Path(sys.executable).parent / "sscard")


def _cli(city: City, *args: str, operator: str = "t-admin") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SSCARD_DATABASE_URL": city.db.url, "SSCARD_OPERATOR": operator, "COLUMNS": "200"}
    return subprocess.run([SSCARD, "exchange", *args], env=env, capture_output=True, text=True, timeout=120,
                          check=False)


def test_departments_keys_and_agreements_from_the_command_line(city: City) -> None:
    code = f"C{uuid.uuid4().hex[:6].upper()}"
    made = _cli(city, "add-department", code, "清远市民政局", "--json")
    assert made.returncode == 0, made.stderr
    key = json.loads(_cli(city, "issue-key", code, "--json").stdout)
    assert key["department"] == code and len(key["secret_hex"]) == 64
    until = f"{clock.local_date().replace(year=clock.local_date().year + 1)}"
    requested = _cli(city, "request", code, "--item", "card_status=verification,bulk", "--item",
                     "person_basic=query", "--purpose", "低保资格核验", "--legal-basis", "《社会救助暂行办法》",
                     "--until", until, "--quota", "500", "--json")
    assert requested.returncode == 0, requested.stderr
    number = json.loads(requested.stdout)["agreement"]
    own = _cli(city, "approve", number)
    assert own.returncode == 2 and "EXCHANGE_SELF_APPROVAL" in own.stderr
    clerk = _cli(city, "approve", number, operator="t-counter")
    assert clerk.returncode == 2 and "PERMISSION_DENIED" in clerk.stderr
    approved = _cli(city, "approve", number, "--json", operator="t-super")
    assert approved.returncode == 0, approved.stderr
    assert json.loads(approved.stdout)["status"] == "approved"
    agreements = json.loads(_cli(city, "agreements", "--department", code, "--json").stdout)
    assert agreements[0]["items"] == {"card_status": ["verification", "bulk"], "person_basic": ["query"]}
    assert agreements[0]["in_force"] is True
    usage = _cli(city, "usage", f"{clock.local_date():%Y-%m}", "--department", code, "--json")
    assert usage.returncode == 0 and json.loads(usage.stdout)["rows"] == []
    revoked = _cli(city, "revoke", number, "--reason", "测试结束", "--json", operator="t-super")
    assert json.loads(revoked.stdout)["in force"] is False
    delivered = _cli(city, "deliver-outbox", "--json")
    assert delivered.returncode == 0 and set(json.loads(delivered.stdout)) == {"delivered", "failed", "pending"}
