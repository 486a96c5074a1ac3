"""The embedded cooperating bank and card maker used by the demo and the tests: they read our files and write
realistic return files, failing a configurable share of records. The maker personalises real card images with
``sscard.chip`` and the card keys from ``sscard.kms``, so a produced card reads back through the terminal.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from sscard import clock
from sscard.chip import HolderData, card_atr, personalise, save
from sscard.kms import KeyManager
from sscard.kms.partners import PartnerKeys
from sscard.production import formats, transport
from sscard.registry.regions import CITY_CODE

BANK_FAILURES = (("E01", "身份信息核查不符 identity check failed"), ("E02", "已有同名账户 account exists"),
                 ("E03", "反洗钱名单 on a watch list"))
MAKER_FAILURES = (("M01", "芯片初始化失败 chip initialisation failed"), ("M02", "相片不合格 photo rejected"),
                  ("M03", "印刷缺陷 printing defect"))
BANK_BIN = {"ICBC": "621226", "ABC": "622848", "BOC": "621661", "CCB": "621700", "CGB": "622568",
            "QYRCB": "623595"}


def _luhn(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return body + str(-total % 10)


def _stamp() -> dt.datetime:
    return clock.now().astimezone(clock.local_zone())


@dataclass
class AccountOpeningBank:
    """A cooperating bank's batch system: opens an account per record or refuses it."""

    failure_rate: float = 0.0
    seed: int = 0
    fail_cards: Collection[str] = ()
    keys: PartnerKeys | None = None  # the bank's file keys (default: the process's partner keystore)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def answer(self, request: bytes) -> bytes:
        """Check the KH file's MAC under the bank's key, answer it, MAC the KR file under the same key."""
        sent = formats.parse(request, "KH", self.keys)
        bin_ = BANK_BIN.get(sent.header.bank_code, "620000")
        rows = []
        for rec in sent.records:
            if rec["card_no"] in self.fail_cards or self._rng.random() < self.failure_rate:
                code, reason = self._rng.choice(BANK_FAILURES)
                rows.append([rec["card_no"], rec["id_number"], code, "", reason])
            else:
                account = _luhn(bin_ + f"{self._rng.randrange(10**12):012d}")
                rows.append([rec["card_no"], rec["id_number"], formats.OK, account, ""])
        return formats.write("KR", sent.header.batch_no, sent.header.bank_code, _stamp(), rows, keys=self.keys)


@dataclass
class SimulatedMaker:
    """The card maker: opens the sealed fields with its own PSAM, personalises chip images into ``image_dir``."""

    keys: KeyManager
    image_dir: Path
    failure_rate: float = 0.0
    seed: int = 0
    fail_cards: Collection[str] = ()
    generation: int = 3
    partner_keys: PartnerKeys | None = None  # the maker's file key (default: the process's partner keystore)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self.image_dir.mkdir(parents=True, exist_ok=True)

    def answer(self, request: bytes) -> bytes:
        sent = formats.parse(request, "ZK", self.partner_keys, partner=formats.MAKER_PARTNER)
        key = transport.batch_key(self.keys.issue_psam(CITY_CODE), sent.header.batch_no, sent.header.extra)
        rows = []
        for seq, rec in enumerate(sent.records, start=1):
            fields = transport.open_sealed(key, sent.header.batch_no, seq, rec["card_no"], rec["payload"])
            if rec["card_no"] in self.fail_cards or self._rng.random() < self.failure_rate:
                code, reason = self._rng.choice(MAKER_FAILURES)
                rows.append([rec["card_no"], code, "", "", reason])
                continue
            holder = HolderData(
                id_number=fields["id_number"], name=fields["name"], sex=fields["sex"],
                birth_date=dt.datetime.strptime(fields["birth_date"], "%Y%m%d").date(),
                nationality=fields["ethnicity"], region_code=CITY_CODE, card_no=rec["card_no"],
                issue_date=dt.datetime.strptime(fields["issue_date"], "%Y%m%d").date(),
                expiry_date=dt.datetime.strptime(fields["expiry_date"], "%Y%m%d").date(),
                generation=self.generation, birthplace_code=fields["id_number"][:6])
            chip = personalise(holder, self.keys.card_keys(holder))
            save(chip, self.image_dir / f"{rec['card_no']}.json")
            rows.append([rec["card_no"], formats.OK, f"{self._rng.getrandbits(64):016X}",
                         card_atr(holder).hex().upper(), ""])
        return formats.write("ZR", sent.header.batch_no, sent.header.bank_code, _stamp(), rows,
                             keys=self.partner_keys)
