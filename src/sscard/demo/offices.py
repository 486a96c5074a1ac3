"""The demo's back offices: the fund treasury, the employment counter and the legacy card migration, each seeded
through its own package's services so that their pages (``/treasury``, ``/counter/employment``,
``/transition``) show data.

- Treasury: the fund accounts of docs/examples/treasury/accounts.csv, the collections of its ledger.csv recorded
  today, the bank's statement of today (the example statement's lines, re-dated and signed as camt.053 with the
  demo key of ``bank:ICBC``) imported — its account charge waits in the reconciliation queue — and a sweep to
  the 财政专户 proposed by the fund accountant, waiting for a supervisor's approval.
- Employment: an open unemployment registration (with its benefit opened) and a job-seeker registration, for
  two issued cardholders other than the demo cardholder.
- Health index: two encounters of the demo cardholder published by the demo hospital, which then gets a grant
  with his card in its terminal and his PIN, and reads his encounters under it (his ``/portal/health``).
- Legacy cards: docs/examples/transition/legacy-cards-gb18030.lmc imported as shipped, after registering the
  four holders its first lines name; its last two lines land in the exceptions queue.
- Data sharing: the public-security bureau (PSB) with an agreement in force for card status (verification and
  bulk), whose bulk verification file of three issued holders — the demo cardholder among them — came through
  the file ferry and was answered (``/exchange``, his ``/portal/data-use``); civil affairs (CIVIL) with an
  agreement requested by the administrator, waiting for a supervisor's approval.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sscard import clock
from sscard.access import SYSTEM_ACTOR, Actor
from sscard.auth import service as auth
from sscard.db import Database
from sscard.demo.issued import DEMO_HOLDER_PIN, IssuedCards, IssuedHolder, key_manager
from sscard.employment import service as employment
from sscard.employment.schemas import RegistrationIn
from sscard.employment.states import RegistrationKind
from sscard.exchange import service as exchange
from sscard.exchange.feeds import bulk as bulk_ferry
from sscard.exchange.schemas import AgreementIn, AgreementItemIn, DepartmentIn
from sscard.health import consent, icd, profile
from sscard.health import service as health
from sscard.kms.partners import PartnerKeys
from sscard.medical import institutions, presence
from sscard.registry import service as registry
from sscard.registry.idnumber import parse
from sscard.registry.schemas import PersonIn
from sscard.terminal.station import ImageCardReader
from sscard.transition import service as transition
from sscard.treasury import service as treasury
from sscard.treasury import statements

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"
ACCOUNTANT = "accountant"  # the demo's fund accountant (demo.city staff): the maker of treasury movements
TREASURY_BANK = "ICBC"
SWEEP = ("PEN-ICBC-COL", "PEN-ICBC-SPC", 4_000_000, "demo-sweep-1")
LEGACY_FILE = "legacy-cards-gb18030.lmc"
# The holders the legacy file's first four lines name (tests/transition/test_transition_example.py): line 5's
# person is not registered and line 6's number has a wrong check digit, so both wait in the exceptions queue.
LEGACY_HOLDERS = (("44180219300101001X", "张三"), ("441802193102020022", "李四"), ("441802193203030035", "王五"),
                  ("441802193304040048", "陈䶮"))


@dataclass
class OfficesSummary:
    treasury_accounts: int = 0
    collections: int = 0
    statement_queued: int = 0
    sweep_id: int = 0
    unemployed_id_number: str = ""
    job_seeker_id_number: str = ""
    legacy_carried: int = 0
    legacy_exceptions: int = 0
    health_encounters: int = 0
    health_grant: str = ""
    exchange_agreement: str = ""
    exchange_pending: str = ""
    exchange_bulk_lines: int = 0


def seed_treasury(db: Database, summary: OfficesSummary) -> None:
    """Accounts, today's collections, today's statement imported (one line queued), a sweep awaiting approval."""
    today = clock.local_date()
    folder = EXAMPLES / "treasury"
    for code, fund, bank, kind, no, name in csv.reader(folder.joinpath("accounts.csv").read_text("utf-8")
                                                       .splitlines()[1:]):
        treasury.open_account(db, SYSTEM_ACTOR, code, fund, bank, kind, no, name, today.replace(day=1))
        summary.treasury_accounts += 1
    maker = auth.actor_for_username(db, ACCOUNTANT)
    for _, code, _, amount, reference in csv.reader(folder.joinpath("ledger.csv").read_text("utf-8")
                                                    .splitlines()[1:]):
        treasury.record_collection(db, maker, code, int(amount), reference)
        summary.collections += 1
    example = statements.parse(folder.joinpath("statement.csv").read_bytes(), TREASURY_BANK)
    lines = [line._replace(booking_date=today, value_date=today) for line in example.lines]
    signed = statements.write_camt053(TREASURY_BANK, example.account_no, f"DEMO{today:%Y%m%d}0001", today, today,
                                      0, lines, clock.now().astimezone(clock.local_zone()))
    summary.statement_queued = treasury.import_statement(db, maker, signed, TREASURY_BANK).queued
    summary.sweep_id = treasury.propose(db, maker, "sweep", SWEEP[0], SWEEP[1], SWEEP[2], SWEEP[3]).id


def _age(holder: IssuedHolder, today: dt.date) -> int:
    born = parse(holder.id_number).birth_date
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def seed_employment(db: Database, issued: IssuedCards, summary: OfficesSummary, counter: Actor) -> None:
    """An unemployment registration with its benefit, and a job-seeker registration: the last two issued holders
    of working age (the demo cardholder is retired; the first worker already draws a granted benefit)."""
    today = clock.local_date()
    workers = [h for h in issued.holders if h.person_id != issued.demo.person_id and _age(h, today) < 60]
    if len(workers) < 4:
        return
    unemployed, seeker = workers[-1], workers[-2]
    reg = employment.register(db, counter, RegistrationIn(id_number=unemployed.id_number,
                                                          kind=RegistrationKind.UNEMPLOYMENT),
                              idempotency_key=f"demo-unemployment-{unemployed.person_id}")
    employment.open_unemployment_benefit(db, SYSTEM_ACTOR, reg.id)
    employment.register(db, counter, RegistrationIn(id_number=seeker.id_number, kind=RegistrationKind.JOB_SEEKER),
                        idempotency_key=f"demo-job-seeker-{seeker.person_id}")
    summary.unemployed_id_number, summary.job_seeker_id_number = unemployed.id_number, seeker.id_number


def seed_transition(db: Database, summary: OfficesSummary, counter: Actor) -> None:
    """The legacy medical card file as shipped, after its four holders are registered."""
    for number, name in LEGACY_HOLDERS:
        registry.register(db, counter, PersonIn(id_number=number, name=name, region_code="441802"))
    result = transition.import_file(db, SYSTEM_ACTOR, EXAMPLES.joinpath("transition", LEGACY_FILE).read_bytes())
    summary.legacy_carried, summary.legacy_exceptions = result.carried_count, result.exception_count


HEALTH_OPERATOR = "dr.demo-01"  # the hospital's own id of the doctor acting
# (HIS visit number, days ago, ICD-10 code, 科室, encounter type, FHIR class) of the demo cardholder's visits.
ENCOUNTERS = (("DEMO-V-0001", 30, "I10", "心血管内科", "outpatient", "AMB"),
              ("DEMO-V-0002", 2, "J06.9", "呼吸内科", "outpatient", "AMB"))


def _encounter(holder: IssuedHolder, visit: str, day: dt.date, code: str, department: str, kind: str,
               klass: str) -> bytes:
    """An Encounter as the hospital's HIS sends it: the contained Patient carries card and ID number."""
    body = {"resourceType": "Encounter",
            "contained": [{"resourceType": "Patient", "id": "p",
                           "identifier": [{"system": profile.CARD_SYSTEM, "value": holder.card_no},
                                          {"system": profile.RESIDENT_ID_SYSTEM, "value": holder.id_number}]}],
            "identifier": [{"system": "urn:hospital:his:visit", "value": visit}],
            "status": "finished", "class": {"system": profile.ACT_CODE, "code": klass},
            "type": [{"coding": [{"system": profile.TYPE_SYSTEM, "code": kind}]}],
            "serviceType": {"text": department}, "subject": {"reference": "#p"},
            "period": {"start": day.isoformat()}, "reasonCode": [{"coding": [{"system": icd.SYSTEM, "code": code}]}]}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def seed_health(db: Database, issued: IssuedCards, hospital_api_key: str, summary: OfficesSummary) -> None:
    """The demo hospital publishes the demo cardholder's encounters, is granted access with his card (its
    cryptogram from his chip image) and PIN, and reads his encounters under the grant."""
    today = clock.local_date()
    holder = issued.demo
    principal = institutions.authenticate(db, hospital_api_key)
    for visit, days_ago, code, department, kind, klass in ENCOUNTERS:
        raw = _encounter(holder, visit, today - dt.timedelta(days=days_ago), code, department, kind, klass)
        health.publish_encounter(db, principal, raw)
        summary.health_encounters += 1
    cards = issued.kiosk_image.parent
    keys = key_manager(cards.parent / "keystore.json")
    body = json.dumps({"card_no": holder.card_no, "nonce": f"demo-grant-{holder.person_id}"}).encode()
    reader = ImageCardReader(cards / f"{holder.card_no}.json", keys)
    proof = presence.parse(reader.prove_settlement(holder.card_no, body, today), body)
    granted = consent.grant_by_card(db, principal, holder.card_no, HEALTH_OPERATOR, proof, DEMO_HOLDER_PIN,
                                    presence.Verifier(lambda: keys))
    summary.health_grant = str(granted["id"])
    pseudonym = str(granted["patient"]["reference"]).removeprefix("Patient/")
    health.search(db, principal, "Encounter", pseudonym, summary.health_grant, HEALTH_OPERATOR, "/api/v1/fhir")


def seed_offices(db: Database, issued: IssuedCards, hospital_api_key: str) -> OfficesSummary:
    """The treasury, the employment counter, the legacy card migration and the demo cardholder's health index."""
    summary = OfficesSummary()
    counter = auth.actor_for_username(db, "counter01")
    seed_treasury(db, summary)
    seed_employment(db, issued, summary, counter)
    seed_transition(db, summary, counter)
    seed_health(db, issued, hospital_api_key, summary)
    seed_exchange(db, issued, summary)
    return summary


def seed_exchange(db: Database, issued: IssuedCards, summary: OfficesSummary) -> None:
    """Two departments: PSB's agreement in force and a bulk file of three holders answered through the file
    ferry (a spool of its own, removed after); CIVIL's agreement requested, awaiting a supervisor."""
    admin, supervisor = auth.actor_for_username(db, "admin"), auth.actor_for_username(db, "supervisor")
    today = clock.local_date()
    for code, name in (("PSB", "清远市公安局"), ("CIVIL", "清远市民政局")):
        exchange.create_department(db, admin, DepartmentIn(code=code, name=name))
        exchange.issue_key(db, admin, code)
    psb = exchange.request_agreement(db, admin, AgreementIn(
        department="PSB", items=[AgreementItemIn(item="card_status", modes=["verification", "bulk"])],
        purpose="办理户籍业务时核验社会保障卡状态", legal_basis="《政务数据共享条例》第十四条",
        valid_from=today - dt.timedelta(days=30), valid_until=today + dt.timedelta(days=335), daily_quota=10_000))
    exchange.approve(db, supervisor, psb.agreement_no)
    civil = exchange.request_agreement(db, admin, AgreementIn(
        department="CIVIL", items=[AgreementItemIn(item="person_basic", modes=["verification"])],
        purpose="核对低保对象的生存状态", legal_basis="《社会救助暂行办法》第十一条",
        valid_from=today, valid_until=today + dt.timedelta(days=365), daily_quota=100))
    holders = [issued.demo, *[h for h in issued.holders if h.person_id != issued.demo.person_id][:2]]
    names = {h.person_id: registry.get_by_person_id(db, SYSTEM_ACTOR, h.person_id).name for h in holders}
    lines = ["id_number,name"] + [f"{h.id_number},{names[h.person_id]}" for h in holders]
    ring = PartnerKeys.demo_ring()
    with tempfile.TemporaryDirectory(prefix="sscard-demo-ferry-") as root:
        spool = bulk_ferry.BulkSpool.under("PSB", root).make()
        plain = bulk_ferry.request_plain(spool.partner, f"PSB-BULK-{today:%Y%m%d}-01", "card_status", lines)
        (spool.inbox / "psb-bulk.txt").write_bytes(bulk_ferry.seal_request(plain, ring))
        done = bulk_ferry.run(db, SYSTEM_ACTOR, spool, ring)
    summary.exchange_agreement, summary.exchange_pending = psb.agreement_no, civil.agreement_no
    summary.exchange_bulk_lines = sum(f.lines for f in done.answered)
