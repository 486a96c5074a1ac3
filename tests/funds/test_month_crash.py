"""The month run killed for real (``os._exit`` in a ``sscard funds run`` subprocess, through the documented hook
``SSCARD_FUNDS_CRASH_AT``) between file export and return import and in the middle of posting; each restart
resumes, and in the end everyone is paid exactly once — at the bank and in the ledger."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from funds.benefits.benefit_world import assert_books_agree, grant, paid_months, registered_holder
from sscard.banks.gateway import AccountState
from sscard.banks.simulated import SimulatedBank
from sscard.funds.benefits import service as benefits
from sscard.funds.benefits.batches import CRASH_ENV
from support.city import City

SSCARD = str(Path(sys.executable).parent / "sscard")
CRASHED = 70  # the hook's exit status


def _run(city: City, crash_at: str | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SSCARD_DATABASE_URL": city.db.url, "SSCARD_LOG_JSON": "false"}
    env.pop(CRASH_ENV, None)
    if crash_at:
        env[CRASH_ENV] = crash_at
    return subprocess.run([SSCARD, "funds", "run", "2014-07", "--benefits-only", "--json"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_a_month_killed_at_every_step_resumes_and_pays_everyone_once(fresh_city: City) -> None:
    city, bank = fresh_city, SimulatedBank(fresh_city.db)
    holders = [registered_holder(city, f"退休{i}", bank=("ICBC", "CCB")[i % 2]) for i in range(6)]
    amounts = {h.person_id: 200_000 + 1000 * i for i, h in enumerate(holders)}
    for h in holders:
        grant(city, h, "pension", amounts[h.person_id], "2014-07")
    bank.set_state(holders[3].bank, holders[3].account_no, AccountState.FROZEN)  # one failure to carry along

    # Each run dies at the named step (the n-th time it gets there), leaving the state of the steps before.
    for crash_at, state in (("after_build", {"built"}),
                            ("after_submit", {"built"}),  # the bank has the file, we have no handle yet
                            ("after_export", {"exported", "built"}),  # between export and return import
                            ("after_return", {"returned", "built"}),
                            ("during_posting", {"returned", "built"}),  # rolled back with the posting
                            ("during_posting#2", {"posted", "returned"})):
        done = _run(city, crash_at)
        assert done.returncode == CRASHED, (crash_at, done.stdout, done.stderr)
        assert {b.state for b in benefits.list_batches(city.db, city.admin, "2014-07")} == state, crash_at
        assert_books_agree(city)  # whatever was posted agrees with the bank at every stop

    finished = _run(city, None)
    assert finished.returncode == 0, finished.stderr
    result = json.loads(finished.stdout[finished.stdout.index("{"):])["benefits"]
    assert result["resumed"] is True
    assert {b["state"] for b in result["batches"]} == {"posted"}
    assert sum(b["failure_count"] for b in result["batches"]) == 1
    paid = paid_months(city)
    assert len(paid) == 5 and set(paid.values()) == {1}
    for h in holders:  # the bank credited each holder once (the frozen one not at all)
        expected = 0 if h is holders[3] else amounts[h.person_id]
        assert bank.balance(h.bank, h.account_no) == expected
    assert_books_agree(city)
