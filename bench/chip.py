"""Chip benchmark on one core: READ RECORD APDUs per second (2nd- and 3rd-generation cards) and personalisations
per second including per-card key derivation (KMS unwrap + 3-level hierarchy already provisioned + card level),
with and without writing the JSON card image. Writes bench/results/chip.json."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cryptography

from sscard.chip import VirtualCard, personalise, secure
from sscard.chip.builders import SELECT_SSSE, get_challenge, lc, read_record
from sscard.chip.image import dumps
from sscard.chip.samples import sample_holder
from sscard.kms import KeyManager

RESULT = Path(__file__).parent / "results" / "chip.json"


def rate(fn: Callable[[int], object], seconds: float) -> tuple[float, int]:
    """Calls per second of ``fn(i)`` over roughly ``seconds`` (after a short warm-up)."""
    for i in range(200):
        fn(i)
    n, start = 0, time.perf_counter()
    while True:
        for _ in range(500):
            fn(n)
            n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed, n


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(seconds: float = 3.0) -> dict[str, object]:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    km = KeyManager(os.urandom(32))
    km.init_ministry()
    km.provision_city("440300")
    results: dict[str, object] = {}

    for generation in (2, 3):
        holder = sample_holder(generation)
        card = personalise(holder, km.card_keys(holder))
        card.transmit(SELECT_SSSE)
        if generation == 3:  # RKSSSE external authentication opens EF05/EF06
            rkssse = card.mf.children[0xDDF1].keys[0x0A].value  # type: ignore[union-attr]  # SSSE is a DF
            challenge = card.transmit(get_challenge(8))[:-2]
            card.transmit(b"\x00\x82\x00\x0a" + lc(secure.auth_cryptogram("sm4", rkssse, challenge)))
        apdus = [read_record(n, 5) for n in range(1, 8)] + [read_record(n, 6) for n in range(1, 8)]
        assert all(card.transmit(a)[-2:] == b"\x90\x00" for a in apdus)

        def read_one(i: int, card: VirtualCard = card, apdus: list[bytes] = apdus) -> bytes:
            return card.transmit(apdus[i % len(apdus)])

        per_s, n = rate(read_one, seconds)
        results[f"read_record_apdus_per_s_gen{generation}"] = round(per_s)
        results[f"read_record_apdus_n_gen{generation}"] = n

    holders = [sample_holder(3 if i % 2 else 2, serial=i) for i in range(5000)]

    def personalise_one(i: int) -> VirtualCard:
        h = holders[i % len(holders)]
        return personalise(h, km.card_keys(h))

    per_s, n = rate(personalise_one, seconds)
    results["personalisations_per_s"] = round(per_s)
    results["personalisations_n"] = n
    per_s, n = rate(lambda i: dumps(personalise_one(i)), seconds)
    results["personalisations_with_json_image_per_s"] = round(per_s)
    results["note"] = (
        "one core (sched_setaffinity); personalisation = KMS unwrap of 8 city keys (AES-GCM) + 8 card-level "
        "diversifications + building the SSSE/PSE file tree; half 3DES, half SM4 cards"
    )
    report: dict[str, object] = {
        "name": "chip",
        "results": results,
        "machine": {
            "cpu": cpu_model(),
            "cores_available": os.cpu_count(),
            "python": sys.version.split()[0],
            "cryptography": cryptography.__version__,
            "platform": platform.platform(),
        },
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return report


if __name__ == "__main__":
    print(json.dumps(main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0), indent=2, ensure_ascii=False))
