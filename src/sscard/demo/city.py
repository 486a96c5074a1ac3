"""Seeding the demo city through the services (so every demo record is valid and audited).

Names are built for each person's sex (``demo.names``), plus a few real rare-character and long minority names;
ID numbers are generated with valid check digits for each division (and some legacy regions such as 清新县 441827).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.progress import Progress

from sscard.access import SYSTEM_ACTOR, Actor, Role
from sscard.auth import service as auth
from sscard.cards import service as cards
from sscard.cards.states import CancelReason, ExchangeReason, ProductionStatus
from sscard.db import Database
from sscard.demo.errors import NotADemoDatabase
from sscard.demo.issued import DEMO_QUERY_PASSWORD, IssuedCards, issue_cards
from sscard.demo.models import is_demo
from sscard.demo.money import HOSPITAL, MoneySummary, seed_money
from sscard.demo.names import generate
from sscard.demo.offices import ACCOUNTANT, OfficesSummary, seed_offices
from sscard.registry import service as registry
from sscard.registry.idnumber import check_digit
from sscard.registry.regions import DIVISIONS
from sscard.registry.schemas import PersonIn

DEMO_PASSWORD = "sscard-demo-2013"
RARE_NAMES = ["王䶮", "李𬌗", "张燚", "陈犇", "赵𠇔", "刘龘", "周堃", "吴喆", "郑鍹", "孙𬣙"]
LONG_NAMES = ["阿卜杜热合曼·买买提艾力·艾合麦提江", "迪丽娜尔·阿不都克里木", "盘金妹", "房八妹"]
# The sex each of these names is given to (the ID number's sex digit follows it, so name and number agree).
NAME_IS_MALE = {**dict.fromkeys(RARE_NAMES, True), "阿卜杜热合曼·买买提艾力·艾合麦提江": True,
                "迪丽娜尔·阿不都克里木": False, "盘金妹": False, "房八妹": False}
BANKS = ["ICBC", "ABC", "BOC", "CCB", "CGB", "QYRCB"]


@dataclass
class DemoSummary:
    persons: int = 0
    cards_by_state: dict[str, int] = field(default_factory=dict)
    operators: list[tuple[str, str]] = field(default_factory=list)
    issued: IssuedCards | None = None
    money: MoneySummary | None = None
    offices: OfficesSummary | None = None
    seconds: float = 0.0


def _id_number(rng: random.Random, region: str, birth: dt.date, male: bool, seq: int) -> str:
    order = (seq % 499) * 2 + (1 if male else 2)
    body = f"{region}{birth:%Y%m%d}{order:03d}"
    return body + check_digit(body)


def _outlets_and_operators(db: Database) -> list[tuple[str, str]]:
    users: list[tuple[str, str]] = []
    for i, division in enumerate(DIVISIONS):
        code = f"QY{i + 1:02d}"
        auth.create_outlet(db, SYSTEM_ACTOR, code, f"{division.name_zh}社保卡服务网点", division.code, "hrss")
        bank = BANKS[i % len(BANKS)]
        auth.create_outlet(db, SYSTEM_ACTOR, f"{bank}{i + 1:02d}", f"{bank} {division.name_zh}支行",
                           division.code, "bank", bank)
        username = f"counter{i + 1:02d}"
        auth.create_operator(db, SYSTEM_ACTOR, username, f"{division.name_zh}柜员", Role.COUNTER, DEMO_PASSWORD,
                             code)
        users.append((username, f"counter @ {code}"))
    auth.create_operator(db, SYSTEM_ACTOR, "supervisor", "业务主管", Role.SUPERVISOR, DEMO_PASSWORD, "QY01")
    auth.create_operator(db, SYSTEM_ACTOR, ACCOUNTANT, "基金会计", Role.ACCOUNTANT, DEMO_PASSWORD, "QY01")
    auth.create_operator(db, SYSTEM_ACTOR, "admin", "系统管理员", Role.ADMIN, DEMO_PASSWORD, None)
    users += [("supervisor", "supervisor @ QY01"), (ACCOUNTANT, "accountant @ QY01"), ("admin", "admin")]
    return users


def _issue(db: Database, actor: Actor, card_no: str, outlet: str) -> None:
    for status in (ProductionStatus.IN_BATCH, ProductionStatus.BANK_OPENED, ProductionStatus.CARD_MADE):
        cards.advance_production(db, actor, card_no, status)
    cards.advance_production(db, actor, card_no, ProductionStatus.AT_OUTLET, outlet_code=outlet)


def seed(db: Database, persons: int = 400, seed_value: int = 2013, progress: bool = True,
         files: Path = Path("var")) -> DemoSummary:
    """Create the demo city: staff first, then the issued cardholders with their money, then the population."""
    summary = DemoSummary(operators=seed_staff(db))
    return seed_city(db, persons, seed_value, progress, files, summary)


def issued_share(persons: int) -> int:
    """How many of the demo persons go through a real production batch (and get money)."""
    return max(12, persons // 8)


def seed_city(db: Database, persons: int, seed_value: int = 2013, show_progress: bool = False,
              files: Path = Path("var"), summary: DemoSummary | None = None) -> DemoSummary:
    """The demo persons after the staff: a share made by the production pipeline, with settlements,
    contributions and benefits (``demo.issued``, ``demo.money``), and the rest spread over every card state.

    The production share goes first: batching takes every card waiting for a bank or a maker, and the rest of
    the population deliberately keeps some cards waiting in those states.
    """
    started = time.perf_counter()
    summary = summary or DemoSummary()
    share = min(issued_share(persons), persons)
    summary.issued = issue_cards(db, share, files, seed_value)
    summary.money = seed_money(db, summary.issued, seed_value)
    seed_population(db, persons - share, seed_value, show_progress, summary)
    summary.offices = seed_offices(db, summary.issued, summary.money.hospital_api_key)
    summary.persons = persons
    summary.seconds = time.perf_counter() - started
    return summary


def describe(summary: DemoSummary) -> str:
    """What the demo seed made, for the console."""
    lines = [f"demo city: {summary.persons} persons in {summary.seconds:.1f} s; card states {summary.cards_by_state}"]
    if summary.issued and summary.money:
        i, m, demo = summary.issued, summary.money, summary.issued.demo
        lines += [f"  production: {len(i.holders)} cards in {i.batches} batches ({i.bank_failures} bank and "
                  f"{i.maker_failures} maker failures re-batched), chip images in {i.kiosk_image.parent}",
                  f"  money: {m.settlements} settlements ({m.reversals} reversed), {m.pensions} pensions + "
                  f"{m.entitlements} other entitlements, {m.contributors} contributors, months {m.months}, "
                  f"{m.benefit_failures} failed payments to re-issue",
                  f"  demo cardholder {demo.name}: card {demo.card_no}, ID number {demo.id_number}, "
                  f"query password {DEMO_QUERY_PASSWORD}",
                  f"  hospital {HOSPITAL[1]} ({HOSPITAL[0]}): API key {m.hospital_api_key} "
                  f"(header X-Institution-Key); quick-start patient ID number {m.quick_start_id} "
                  "(docs/settlement.md, quick start)"]
    if summary.offices:
        o = summary.offices
        lines += [f"  treasury: {o.treasury_accounts} fund accounts, {o.collections} collections, today's statement "
                  f"imported ({o.statement_queued} line in the queue), sweep {o.sweep_id} awaiting approval "
                  f"(proposed by {ACCOUNTANT}; a supervisor approves)",
                  f"  employment (/counter/employment, search by ID number): unemployment registration with its "
                  f"benefit of {o.unemployed_id_number}, job seeker {o.job_seeker_id_number}",
                  f"  legacy cards: {o.legacy_carried} carried, {o.legacy_exceptions} in the exceptions queue "
                  "(/transition)",
                  f"  health index: {o.health_encounters} encounters of {demo.name} published by {HOSPITAL[1]}, "
                  "which holds a grant (his card and PIN) and read them (/portal/health)",
                  f"  data sharing (/exchange): PSB's agreement {o.exchange_agreement} in force, its bulk file of "
                  f"{o.exchange_bulk_lines} lines answered through the file ferry ({demo.name}'s /portal/data-use); "
                  f"CIVIL's agreement {o.exchange_pending} awaiting a supervisor"]
    return "\n".join(lines)


def load_city(db: Database, persons: int, say: Callable[[str], None] = print) -> DemoSummary:
    """The demo command's background loader: seed the city, then say what was made."""
    summary = seed_city(db, persons)
    say(describe(summary))
    return summary


def seed_staff(db: Database) -> list[tuple[str, str]]:
    """Outlets (an HRSS window and a bank branch per division) and operators of every role, all with the
    public demo password: only into a database that ``sscard demo`` created (``demo.models.mark_demo``)."""
    if not is_demo(db):
        raise NotADemoDatabase("the database carries no demo mark (instance_marks.kind = demo)")
    return _outlets_and_operators(db)


def seed_population(db: Database, persons: int, seed_value: int = 2013, show_progress: bool = False,
                    summary: DemoSummary | None = None) -> DemoSummary:
    """Persons over the 8 divisions with cards spread over every production and application state."""
    rng = random.Random(seed_value)
    names = random.Random(seed_value + 7)  # its own sequence: the rest of the city stays as it was
    summary = summary or DemoSummary()
    actor = SYSTEM_ACTOR
    states = ["collected", "in_batch", "bank_failed", "bank_opened", "maker_failed", "card_made", "at_outlet",
              "sealed", "normal", "normal", "normal", "normal", "normal", "normal", "locked", "temp_loss",
              "formal_loss", "replacing", "exchanging", "cancelled", "none"]
    with Progress(transient=True, disable=not show_progress) as progress:
        task = progress.add_task("demo city", total=persons)
        for n in range(persons):
            division = DIVISIONS[n % len(DIVISIONS)]
            outlet = f"QY{n % len(DIVISIONS) + 1:02d}"
            male = rng.random() < 0.5
            birth = dt.date(1935, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 78))
            # A few older numbers keep the abolished 清新县 code: still valid for life.
            id_region = "441827" if division.code == "441803" and rng.random() < 0.3 else division.code
            name = (RARE_NAMES[n // 16 % len(RARE_NAMES)] if n % 16 == 3 else
                    LONG_NAMES[n // 16 % len(LONG_NAMES)] if n % 16 == 7 else
                    generate(names, male))
            male = NAME_IS_MALE.get(name, male)
            id_no = _id_number(rng, id_region, birth, male, n)
            phone = "1" + str(rng.choice([3, 5, 7, 8, 9])) + f"{rng.randrange(10**9):09d}"
            registry.register(db, actor, PersonIn(id_number=id_no, name=name, region_code=division.code,
                                                  phone=phone))
            state = states[n % len(states)]
            summary.cards_by_state[state] = summary.cards_by_state.get(state, 0) + 1
            progress.advance(task)
            if state == "none":
                continue
            card_no = cards.apply_new(db, actor, id_no).card.card_no
            if state == "collected":
                continue
            cards.advance_production(db, actor, card_no, ProductionStatus.IN_BATCH)
            if state == "in_batch":
                continue
            if state == "bank_failed":
                cards.advance_production(db, actor, card_no, ProductionStatus.BANK_FAILED)
                continue
            cards.advance_production(db, actor, card_no, ProductionStatus.BANK_OPENED)
            if state == "bank_opened":
                continue
            if state == "maker_failed":
                cards.advance_production(db, actor, card_no, ProductionStatus.MAKER_FAILED)
                continue
            cards.advance_production(db, actor, card_no, ProductionStatus.CARD_MADE)
            if state == "card_made":
                continue
            cards.advance_production(db, actor, card_no, ProductionStatus.AT_OUTLET, outlet_code=outlet)
            if state == "at_outlet":
                continue
            cards.pick_up(db, cards.at_outlet_of(db, actor, card_no), card_no)
            if state == "sealed":
                continue
            pin = f"{rng.randrange(10**6):06d}".replace("123456", "654321")
            cards.activate(db, actor, card_no, pin)
            if state == "locked":
                while not cards.verify_pin(db, actor, card_no, "000000" if pin != "000000" else "111111").locked:
                    pass
            elif state == "temp_loss":
                cards.report_temporary_loss(db, actor, card_no)
            elif state in ("formal_loss", "replacing"):
                cards.report_formal_loss(db, actor, card_no)
                if state == "replacing":
                    cards.apply_replacement(db, actor, card_no)
            elif state == "exchanging":
                new_no = cards.apply_exchange(db, actor, card_no, ExchangeReason.DAMAGED).card.card_no
                _issue(db, actor, new_no, outlet)
            elif state == "cancelled":
                cards.cancel(db, actor, card_no, CancelReason.TRANSFER_OUT)
    summary.persons = persons
    return summary
