"""Fixtures for the cash part paid by card (docs/debit.md): the card's issuing bank as a real process
(``sscard bank serve`` on loopback, on the test's database, with the issuer's keys), the centre on a loopback
port, and a holder whose card (personalised with the same keys) lies in the counter's reader."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from medical.world import Hospital, Insured, new_hospital
from sscard import clock
from sscard.banks.simulated import SimulatedBank
from sscard.chip.personalise import derived_debit_pan
from sscard.kms import KeyManager
from sscard.medical import service
from sscard.registry.regions import CITY_CODE
from sscard.terminal.station import ImageCardReader
from support.city import City
from support.loopback import free_port
from web.portal_helpers import chip_holder

SSCARD = str(Path(sys.executable).parent / "sscard")
BANK = "ICBC"
LINES = [{"code": "EX-D-A001", "quantity": 3, "unit_price_fen": 2000},
         {"code": "EX-D-B001", "quantity": 1, "unit_price_fen": 9000}]


def bill() -> dict[str, Any]:
    return {"date": clock.local_date().isoformat(), "visit_type": "outpatient", "lines": LINES}


@dataclass
class Desk:
    keystore: Path
    image: Path
    holder: Insured
    hospital: Hospital
    account_no: str
    pan: str

    def reader(self) -> ImageCardReader:
        return ImageCardReader(self.image, KeyManager.provisioned(self.keystore, CITY_CODE))

    def prove(self, body: bytes) -> str:
        return self.reader().prove_settlement(self.holder.card_no or "", body, clock.local_date())


def make_desk(city: City, client: Any, keystore: Path, balance: int = 50_000, activated: bool = True) -> Desk:
    """An insured employee with no personal-account money (the whole patient part is cash), whose card draws on
    a bank account holding ``balance`` fen (financial function ``activated`` or not)."""
    image = keystore.parent / f"card-{uuid.uuid4().hex[:8]}.json"
    who = chip_holder(city, KeyManager.provisioned(keystore, CITY_CODE), image)
    service.enrol(city.db, city.admin, who.id_number, "employee", "in_service")
    hospital = new_hospital(city, client)
    with city.db.unit_of_work() as s:
        person_id = service.identify(s, who.card_no, None).person.id
    account_no = f"6222{uuid.uuid4().int % 10**12:012d}"
    SimulatedBank(city.db).open_account(BANK, account_no, "医保测试", who.id_number, balance=balance,
                                        financial_activated=activated)
    return Desk(keystore, image, Insured(who.id_number, who.card_no, person_id), hospital, account_no,
                derived_debit_pan(CITY_CODE, who.card_no))


@contextmanager
def bank_process(city: City, keystore: Path) -> Iterator[str]:
    """``sscard bank serve`` as its own process on a free loopback port, on the test's database, with the
    issuer's card keys; stopped (by its pid) when the block ends."""
    port = free_port()
    env = {**os.environ, "SSCARD_DATABASE_URL": city.db.url, "SSCARD_BANK_KEYSTORE": str(keystore)}
    proc = subprocess.Popen([SSCARD, "bank", "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the bank did not start: {proc.stderr.read().decode() if proc.stderr else ''}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
