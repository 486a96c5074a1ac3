"""docs/examples/settlement-presence-arqc.json, the worked example of docs/settlement.md's proof of card
presence, is right as shipped: the body's digest, 9F37, the CDOL1 data, the APDUs and the header are what the
code makes, and the centre's check accepts the ARQC for that body and no other."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from sscard.chip.personalise import DEBIT_AID, derived_debit_pan
from sscard.medical import presence
from sscard.medical.schemas import SettleIn
from sscard.registry.regions import CITY_CODE
from sscard.terminal.payment import GPO_EMPTY_PDOL

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "settlement-presence-arqc.json"


def _example() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    return data


def test_the_shipped_example_verifies() -> None:
    ex = _example()
    raw = ex["body_utf8"].encode("utf-8")
    request = SettleIn.model_validate_json(raw)  # a valid 2207 body
    assert request.card_no == ex["card_no"] and ex["pan"] == derived_debit_pan(CITY_CODE, ex["card_no"])
    assert hashlib.sha256(raw).hexdigest().upper() == ex["body_sha256"]
    un = presence.unpredictable_number(raw)
    assert un.hex().upper() == ex["unpredictable_number_9F37"] == ex["body_sha256"][:8]
    cdol1 = presence.cdol1_data(request.bill.date, un)
    assert cdol1.hex().upper() == ex["cdol1_data"]
    select, gpo, generate = (bytes.fromhex(a["command"]) for a in ex["apdus"])
    assert select == b"\x00\xa4\x04\x00" + bytes((len(DEBIT_AID),)) + DEBIT_AID + b"\x00"
    assert gpo == GPO_EMPTY_PDOL and generate == bytes((0x80, 0xAE, 0x80, 0x00, len(cdol1))) + cdol1 + b"\x00"
    name, _, value = ex["header"].partition(": ")
    assert name == presence.HEADER
    proof = presence.parse(value, raw)
    answer = ex["card_answer"]
    assert proof is not None and proof.method == "arqc" and proof.algorithm == ex["algorithm"]
    assert (f"{proof.atc:04X}", proof.aip.hex().upper(), proof.ac.hex().upper()) == \
        (answer["atc_9F36"], answer["aip_82"], answer["ac_9F26"])
    assert proof.cvr == bytes.fromhex(answer["iad_9F10"])[3:]
    udk = bytes.fromhex(ex["card_ac_key_hex"])
    assert presence.arqc_matches(udk, proof, request.bill.date)
    assert presence.header_value(proof, bytes.fromhex(answer["iad_9F10"])) == value


def test_the_example_proof_does_not_fit_another_body_or_date() -> None:
    ex = _example()
    raw = ex["body_utf8"].encode("utf-8")
    value = ex["header"].partition(": ")[2]
    udk = bytes.fromhex(ex["card_ac_key_hex"])
    day = SettleIn.model_validate_json(raw).bill.date
    other = presence.parse(value, raw.replace(b'"quantity":3', b'"quantity":30'))
    assert other is not None and not presence.arqc_matches(udk, other, day)
    same = presence.parse(value, raw)
    assert same is not None and not presence.arqc_matches(udk, same, day + dt.timedelta(days=1))
