"""The institution's counter (``sscard.medical.counter``, ``sscard medical counter-settle``): the card number is
read from the chip through the terminal with its PSAM, the centre pre-settles and settles over HTTP, and an
answer lost on the way is fetched again with the same message id — the bill is paid once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from medical.world import Hospital, Insured, new_hospital, position
from sscard import clock
from sscard.api.app import create_app
from sscard.kms import KeyManager
from sscard.medical import counter, service
from sscard.medical.errors import CentreRefused, CentreUnreachable
from sscard.registry.regions import CITY_CODE
from sscard.terminal.station import ImageCardReader
from support.city import City
from support.loopback import free_port, serve
from web.portal_helpers import chip_holder

SSCARD = str(Path(sys.executable).parent / "sscard")
LINES = [{"code": "EX-D-A001", "quantity": 3, "unit_price_fen": 2000},
         {"code": "EX-D-B001", "quantity": 1, "unit_price_fen": 9000}]


@dataclass
class Counter:
    keystore: Path
    image: Path
    holder: Insured
    hospital: Hospital

    def reader(self) -> ImageCardReader:
        return ImageCardReader(self.image, KeyManager.provisioned(self.keystore, CITY_CODE))

    def card_no(self) -> str:
        return self.reader().read_card_no()

    def prove(self, body: bytes) -> str:
        """The chip in the reader signs the exact request (what ``counter-settle`` does)."""
        return self.reader().prove_settlement(self.holder.card_no or "", body, clock.local_date())


def _bill() -> dict[str, Any]:
    return {"date": clock.local_date().isoformat(), "visit_type": "outpatient", "lines": LINES}


@pytest.fixture
def desk(city: City, client: TestClient, tmp_path: Path) -> Counter:
    """An insured employee whose card (personalised with the keystore's keys) lies in the counter's reader."""
    keystore, image = tmp_path / "keystore.json", tmp_path / "card.json"
    who = chip_holder(city, KeyManager.provisioned(keystore, CITY_CODE), image)
    service.enrol(city.db, city.admin, who.id_number, "employee", "in_service")
    service.credit_personal_account(city.db, city.admin, who.id_number, 100_000, f"fund:{uuid.uuid4().hex}")
    hospital = new_hospital(city, client)
    client.app.state.key_manager = KeyManager.provisioned(keystore, CITY_CODE)  # the centre's KMS: the same keys
    client.app.state.presence_verifier = None
    with city.db.unit_of_work() as s:
        person_id = service.identify(s, who.card_no, None).person.id
    return Counter(keystore, image, Insured(who.id_number, who.card_no, person_id), hospital)


class _LosesFirstAnswer(httpx.BaseTransport):
    """Delivers the request to the real application, then loses the first answer (a dropped connection)."""

    def __init__(self, app: TestClient) -> None:
        self.app, self.lost = app, 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.app.request(request.method, request.url.path, content=request.content,
                                  headers=dict(request.headers))
        if self.lost == 0:
            self.lost += 1
            raise httpx.ReadTimeout("answer lost", request=request)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)


def test_the_counter_reads_the_chip_pre_settles_then_settles(city: City, client: TestClient, desk: Counter) -> None:
    card_no = desk.card_no()
    assert card_no == desk.holder.card_no
    before = position(city.db, desk.holder, desk.hospital.code)
    trial = counter.settle_card(client, desk.hospital.key, card_no, _bill(), trial=True, prove=desk.prove)
    assert trial.answer["setl_id"] is None and position(city.db, desk.holder, desk.hospital.code) == before
    refused = position(city.db, desk.holder, desk.hospital.code)
    with pytest.raises(CentreRefused) as no_proof:  # the card number alone does not settle
        counter.settle_card(client, desk.hospital.key, card_no, _bill())
    assert no_proof.value.context["centre_code"] == "CARD_PRESENCE_REQUIRED"
    assert position(city.db, desk.holder, desk.hospital.code) == refused
    done = counter.settle_card(client, desk.hospital.key, card_no, _bill(), prove=desk.prove)
    assert done.answer["identified_by"] == "card" and done.answer["card_no"] == card_no
    assert done.answer["split"] == trial.answer["split"] and done.attempts == 1
    assert position(city.db, desk.holder, desk.hospital.code)["accumulators"]["settlements"] == 1


def test_an_answer_lost_on_the_way_is_fetched_again_and_the_bill_paid_once(city: City, client: TestClient,
                                                                           desk: Counter) -> None:
    flaky = httpx.Client(transport=_LosesFirstAnswer(client), base_url="http://testserver")
    done = counter.settle_card(flaky, desk.hospital.key, desk.card_no(), _bill(), backoff_seconds=0, prove=desk.prove)
    assert done.attempts == 2 and done.answer["replayed"] is True
    after = position(city.db, desk.holder, desk.hospital.code)
    assert after["accumulators"]["settlements"] == 1 and after["zero_sum"]


def test_the_centres_refusal_and_silence_are_errors_with_stable_codes(city: City, client: TestClient,
                                                                      desk: Counter) -> None:
    with pytest.raises(CentreRefused) as refused:
        counter.settle_card(client, "not-a-key", desk.card_no(), _bill())
    assert refused.value.context["centre_code"] == "INSTITUTION_AUTH_FAILED"
    dead = httpx.Client(base_url=f"http://127.0.0.1:{free_port()}")  # nobody listens there
    with pytest.raises(CentreUnreachable):
        counter.settle_card(dead, desk.hospital.key, desk.card_no(), _bill(), attempts=2, backoff_seconds=0)
    assert position(city.db, desk.holder, desk.hospital.code)["accumulators"]["settlements"] == 0


# ------------------------------------------------------------------------------------ the CLI, a real process


@pytest.fixture
def centre(city: City, desk: Counter) -> Iterator[str]:
    """The settlement centre on a loopback port (uvicorn in a thread, on this test's database)."""
    app = create_app(city.db)
    app.state.key_manager = KeyManager.provisioned(desk.keystore, CITY_CODE)  # the centre's KMS
    with serve(app, "the centre") as url:
        yield url


def test_sscard_medical_counter_settle(city: City, desk: Counter, centre: str, tmp_path: Path) -> None:
    bill = tmp_path / "bill.json"
    bill.write_text(json.dumps(_bill()), encoding="utf-8")
    run: Callable[..., subprocess.CompletedProcess[str]] = lambda *extra: subprocess.run(  # noqa: E731
        [SSCARD, "medical", "counter-settle", str(bill), "--server", centre, "--key", desk.hospital.key,
         "--card-image", str(desk.image), "--keystore", str(desk.keystore), "--json", *extra],
        capture_output=True, text=True, timeout=120, check=False, env={**os.environ})
    trial = run("--trial")
    assert trial.returncode == 0, trial.stderr
    assert json.loads(trial.stdout)["setl_id"] is None
    done = run()
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["card_no"] == desk.holder.card_no and answer["setl_id"] and answer["attempts"] == 1
    again = run("--msg-id", answer["msg_id"])  # the counter re-sends its message: the first answer, paid once
    assert again.returncode == 0 and json.loads(again.stdout)["setl_id"] == answer["setl_id"]
    assert position(city.db, desk.holder, desk.hospital.code)["accumulators"]["settlements"] == 1
    missing = run("--card-image", str(tmp_path / "no-card.json"))
    assert missing.returncode == 2 and "COUNTER_CARD_UNREADABLE" in missing.stderr + missing.stdout
