"""The demo's issued cards: a share of the demo population made by the real production pipeline.

Population and collection files (with photo files) are imported and compared; the cards are batched, answered
by the simulated cooperating bank (accounts, a few refusals) and card maker (real chip images under
``<files>/cards``, a few defects), failures are re-batched until every card is made, handed over to the
outlets, picked up and activated; the simulated bank then opens the holders' accounts from the cards. One of
them is the demo cardholder, whose chip image is also copied to ``<files>/cards/demo-kiosk.json`` — the card
"in the slot" of the demo kiosk.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import random
import shutil
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from sscard.access import SYSTEM_ACTOR
from sscard.banks.simulated import SimulatedBank
from sscard.cards import service as cards
from sscard.cards.states import ProductionStatus
from sscard.db import Database
from sscard.demo.names import generate
from sscard.kms import KeyManager
from sscard.production import batches
from sscard.production import service as production
from sscard.production.imports import COLLECTION_COLUMNS, POPULATION_COLUMNS
from sscard.production.simulators import AccountOpeningBank, SimulatedMaker
from sscard.registry import service as registry
from sscard.registry.idnumber import check_digit, parse
from sscard.registry.regions import CITY_CODE, DIVISIONS
from sscard.registry.schemas import LivingStatus

DEMO_HOLDER_NAME = "林建国"
DEMO_HOLDER_BIRTH = dt.date(1958, 3, 12)
DEMO_QUERY_PASSWORD = "258036"
DEMO_HOLDER_PIN = "408213"  # the demo card's PIN (a hospital's terminal asks it for a health-index grant)
KIOSK_IMAGE = "demo-kiosk.json"
BANK_FAILURE_RATE = 0.1
MAKER_FAILURE_RATE = 0.08
_MAX_ROUNDS = 10  # failures are re-batched; seeded failure rates converge long before this


def _number(region: str, birth: dt.date, male: bool, seq: int) -> str:
    # Orders 901–999 are never used by the population seed (seq < 450 there), so the numbers cannot collide.
    body = f"{region}{birth:%Y%m%d}{901 + (seq % 49) * 2 + (0 if male else 1):03d}"
    return body + check_digit(body)


DEMO_HOLDER_ID = _number("441802", DEMO_HOLDER_BIRTH, True, 0)


@dataclass(frozen=True)
class IssuedHolder:
    person_id: int
    id_number: str
    name: str
    card_no: str
    bank_code: str


@dataclass
class IssuedCards:
    holders: list[IssuedHolder]
    demo: IssuedHolder
    batches: int
    bank_failures: int
    maker_failures: int
    kiosk_image: Path


def key_manager(keystore: Path) -> KeyManager:
    """The demo's KMS over ``keystore`` (created on first use), as ``sscard card …`` and the kiosk open it."""
    return KeyManager.provisioned(keystore, CITY_CODE)


def _csv(columns: tuple[str, ...], rows: list[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


@functools.cache
def _photo(width: int, height: int) -> bytes:
    """A placeholder ID photo as a real PNG of that size (the counter shows it; the photo check reads its size):
    a grey head and shoulders on the light blue of a 社保卡 photo."""
    cx, head_y, head_r, shoulder_y = width / 2, height * 0.38, width * 0.22, height * 0.72
    sky, grey = b"\xd6\xe8\xf5", b"\x80\x86\x8c"
    rows = []
    for y in range(height):
        half = 0.0  # half the width of the figure on this row: the head (an ellipse), then the shoulders
        if (dy := (y - head_y) ** 2 * 0.8) < head_r * head_r:
            half = (head_r * head_r - dy) ** 0.5
        if y > shoulder_y:
            half = max(half, width * 0.42 + (y - shoulder_y) * 0.3)
        left, right = max(int(cx - half), 0), min(int(cx + half), width)
        rows.append(b"\x00" + sky * left + grey * (right - left) + sky * (width - right))  # filter type 0

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
            + chunk(b"IEND", b""))


def _crowd(count: int, rng: random.Random, names: random.Random) -> list[tuple[str, str, str]]:
    """(ID number, name, division) for the demo cardholder and ``count - 1`` others; many of pension age."""
    out = [(DEMO_HOLDER_ID, DEMO_HOLDER_NAME, "441802")]
    for n in range(1, count):
        division = DIVISIONS[n % len(DIVISIONS)].code
        male = rng.random() < 0.5
        birth = dt.date(1945, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 55))
        name = generate(names, male)
        out.append((_number(division, birth, male, n), name, division))
    return out


# Collected records the comparison sends to the exceptions queue, so that the demo's queue shows each kind of
# decision: (register's name or None when not in the register, collected name, male, photo size).
QUEUE_EXAMPLES = (("周强", "周墙", True, (358, 441)),  # NAME_MISMATCH: take the register's value
                  (None, "黄丽娟", False, (358, 441)),  # NOT_IN_REGISTER: reject or send back
                  ("邓秀英", "邓秀英", False, (300, 400)))  # PHOTO_SIZE: a flag an operator may accept


def _queue_examples(register: list[dict[str, str]], collected: list[dict[str, str]], photos: Path) -> None:
    for n, (register_name, name, male, (width, height)) in enumerate(QUEUE_EXAMPLES):
        id_no = _number("441802", dt.date(1990, 5, 1 + n), male, 47)
        row = {"id_number": id_no, "name": register_name or name, "sex": "1" if male else "2",
               "birth_date": f"1990050{1 + n}", "region_code": "441802", "living_status": LivingStatus.ALIVE.value}
        if register_name is not None:
            register.append(row)
        collected.append({**{k: row[k] for k in ("id_number", "sex", "birth_date", "region_code")}, "name": name,
                          "ethnicity": "01", "phone": f"1390000000{n}", "source": "outlet", "employer_uscc": "",
                          "photo_ref": f"{id_no}.png"})
        (photos / f"{id_no}.png").write_bytes(_photo(width, height))


def _import(db: Database, crowd: list[tuple[str, str, str]], photos: Path, rng: random.Random) -> None:
    photos.mkdir(parents=True, exist_ok=True)
    register, collected = [], []
    for id_no, name, division in crowd:
        parsed = parse(id_no)
        row = {"id_number": id_no, "name": name, "sex": parsed.sex, "birth_date": f"{parsed.birth_date:%Y%m%d}",
               "region_code": division, "living_status": LivingStatus.ALIVE.value}
        register.append(row)
        phone = "13" + f"{rng.randrange(10**9):09d}"
        collected.append({"id_number": id_no, "name": name, "sex": row["sex"], "birth_date": row["birth_date"],
                          "ethnicity": "01", "region_code": division, "phone": phone, "source": "outlet",
                          "employer_uscc": "", "photo_ref": f"{id_no}.png"})
        (photos / f"{id_no}.png").write_bytes(_photo(358, 441))
    _queue_examples(register, collected, photos)
    production.import_population(db, SYSTEM_ACTOR, _csv(POPULATION_COLUMNS, register), "demo-gongan.csv")
    imported = production.import_collection(db, SYSTEM_ACTOR, _csv(COLLECTION_COLUMNS, collected),
                                            "demo-outlets.csv", photo_root=photos)
    production.run_comparison(db, SYSTEM_ACTOR, imported.import_id)


def issue_cards(db: Database, count: int, files: Path, seed_value: int = 2013) -> IssuedCards:
    """``count`` persons (the demo cardholder first) through production to activated cards with bank accounts."""
    rng = random.Random(seed_value + 1)
    crowd = _crowd(max(count, 2), rng, random.Random(seed_value + 8))
    _import(db, crowd, files / "photos", rng)
    keys = key_manager(files / "keystore.json")
    bank = AccountOpeningBank(failure_rate=BANK_FAILURE_RATE, seed=seed_value + 2)
    maker = SimulatedMaker(keys, files / "cards", failure_rate=MAKER_FAILURE_RATE, seed=seed_value)
    psam = keys.issue_psam(CITY_CODE)
    made = bank_failed = maker_failed = 0
    for _ in range(_MAX_ROUNDS):
        created = batches.create_batches(db, SYSTEM_ACTOR)
        if not created:
            break
        for batch in created:
            made += 1
            if batch.kind == "bank":
                sent = batches.export_bank_file(db, SYSTEM_ACTOR, batch.batch_no)
                answered = batches.import_bank_return(db, SYSTEM_ACTOR, bank.answer(sent))
                bank_failed += answered.bank_failed
                if answered.bank_ok == 0:
                    continue
            sent = batches.export_maker_file(db, SYSTEM_ACTOR, batch.batch_no, psam)
            answered = batches.import_maker_return(db, SYSTEM_ACTOR, maker.answer(sent))
            maker_failed += answered.maker_failed
            batches.hand_over(db, SYSTEM_ACTOR, batch.batch_no)  # to each holder's own division
    holders = []
    for i, (id_no, name, _division) in enumerate(crowd):
        person = registry.get(db, SYSTEM_ACTOR, id_no)
        card = next(c for c in cards.cards_of_person(db, SYSTEM_ACTOR, id_no)
                    if c.production_status == ProductionStatus.AT_OUTLET.value)
        cards.pick_up(db, cards.at_outlet_of(db, SYSTEM_ACTOR, card.card_no), card.card_no)
        cards.activate(db, SYSTEM_ACTOR, card.card_no, f"{rng.randrange(200_000, 999_999)}" if i else DEMO_HOLDER_PIN)
        holders.append(IssuedHolder(person.id, id_no, name, card.card_no, str(card.bank_code)))
    SimulatedBank(db).sync_from_cards()  # the bank opens the accounts it returned (financial function on)
    demo = holders[0]
    image = files / "cards" / KIOSK_IMAGE
    shutil.copyfile(files / "cards" / f"{demo.card_no}.json", image)
    return IssuedCards(holders, demo, made, bank_failed, maker_failed, image)
