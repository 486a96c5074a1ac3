"""The cash part paid by card through the real PC/SC path: the card (personalised by the city's keys) served by
``sscard card serve --vpcd`` to Debian's vpcd and pcscd in a private network and mount namespace; ``sscard
medical counter-settle --pcsc-reader`` (pyscard) settles at the centre and pays the cash part with the card's
debit application, authorised by the issuing bank running as its own ``sscard bank serve`` process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from medical.debit_world import BANK, SSCARD, bank_process, bill, make_desk
from sscard.api.app import create_app
from sscard.banks.simulated import SimulatedBank
from sscard.kms import KeyManager
from sscard.registry.regions import CITY_CODE
from support.city import City
from support.loopback import serve

# the PC/SC stack's check is the terminal tests' own autouse fixture, imported to apply here too
from terminal.test_pcsc import INNER, READER, _require_pcsc_stack, _stop_leftover_pcscd  # noqa: F401


def _start(image: Path, nsdir: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    (nsdir / "run").mkdir(parents=True)
    (nsdir / "inner.sh").write_text(INNER)
    src = str(Path(__file__).resolve().parents[2] / "src")
    pythonpath = os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH", "")]))
    env_ns = {**os.environ, "NSDIR": str(nsdir), "IMAGE": str(image), "PYTHON": sys.executable,
              "PYTHONPATH": pythonpath}
    proc = subprocess.Popen(["unshare", "--net", "--mount", "sh", str(nsdir / "inner.sh")], env=env_ns,
                            start_new_session=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and proc.poll() is None:
        log = nsdir / "pcscd.log"
        if log.exists() and "Card inserted" in log.read_text(errors="replace"):
            break
        time.sleep(0.1)
    else:
        logs = {p.name: p.read_text(errors="replace") for p in nsdir.glob("*.log")}
        pytest.fail(f"pcscd/vpcd/card did not come up: {logs}")
    return proc, {**os.environ, "PCSCLITE_CSOCK_NAME": str(nsdir / "run" / "pcscd.comm"), "PYTHONPATH": pythonpath}


def _stop(proc: subprocess.Popen[bytes], nsdir: Path) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # the card server and pcscd share this new session's group
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    _stop_leftover_pcscd(nsdir / "run" / "pcscd.pid")


def test_a_settlement_whose_cash_part_is_paid_through_pcsc(city: City, client: TestClient, tmp_path: Path) -> None:
    keystore = tmp_path / "keystore.json"
    desk = make_desk(city, client, keystore)
    app = create_app(city.db)
    app.state.key_manager = KeyManager.provisioned(keystore, CITY_CODE)
    path = tmp_path / "bill.json"
    path.write_text(json.dumps(bill()), encoding="utf-8")
    with serve(app, "the centre") as centre, bank_process(city, keystore) as bank_url:
        linked = httpx.post(f"{bank_url}/banks/{BANK}/cards",
                            json={"pan": desk.pan, "account_no": desk.account_no, "region_code": CITY_CODE})
        assert linked.status_code == 201
        proc, env = _start(desk.image, tmp_path / "ns")
        try:
            def run(pin: str) -> subprocess.CompletedProcess[str]:
                return subprocess.run(
                    [SSCARD, "medical", "counter-settle", str(path), "--server", centre, "--key", desk.hospital.key,
                     "--pcsc-reader", READER, "--keystore", str(keystore), "--bank", bank_url, "--bank-code", BANK,
                     "--json"],
                    capture_output=True, text=True, timeout=120, check=False, env={**env, "SSCARD_DEBIT_PIN": pin})
            wrong = run("999999")  # a wrong PIN on the pad: settled, the cash part refused by the bank
            assert wrong.returncode == 0, wrong.stderr
            refused = json.loads(wrong.stdout)
            assert refused["cash_payment"]["status"] == "declined" and refused["cash_payment"]["reason"] == "PIN_WRONG"
            assert SimulatedBank(city.db).balance(BANK, desk.account_no) == 50_000
            done = run("123456")
            assert done.returncode == 0, done.stderr
        finally:
            _stop(proc, tmp_path / "ns")
    answer = json.loads(done.stdout)
    cash = answer["split"]["cash_fen"]
    assert answer["card_no"] == desk.holder.card_no and answer["setl_id"] != refused["setl_id"]
    assert answer["cash_payment"]["status"] == "paid" and answer["cash_payment"]["issuer_authenticated"] is True
    assert SimulatedBank(city.db).balance(BANK, desk.account_no) == 50_000 - cash
