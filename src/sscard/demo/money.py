"""The demo's money: medical settlement, contributions and benefits for the demo's issued cardholders.

Everything goes through the owning services: the example medical policy and catalogue, a designated hospital
and pharmacy with their API keys, enrolment and personal-account funding, settlements (and one reversal);
contribution enrolment and withholding authorisations, pensions and other entitlements, then the previous
and the current month run (withholding, then disbursement) through the simulated bank — with a few failures
left in the re-issue queue (an account frozen before the second month, an "old way" account the bank does not
know, a contributor whose balance is too low). The demo cardholder gets a settlement, a medical balance and
pension payments, and a query password for the portal and the kiosk.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path

from sscard import clock
from sscard.access import SYSTEM_ACTOR
from sscard.banks import service as banks
from sscard.banks.gateway import AccountState
from sscard.banks.simulated import SimulatedBank
from sscard.db import Database
from sscard.demo.issued import DEMO_QUERY_PASSWORD, IssuedCards, IssuedHolder, key_manager
from sscard.funds.benefits import entitlements, reissue
from sscard.funds.benefits.models import BenefitKind
from sscard.funds.benefits.schemas import EntitlementIn
from sscard.funds.contributions import employer, employer_file
from sscard.funds.contributions import service as contributions
from sscard.funds.contributions.assessment import bp_of, load_rates
from sscard.funds.contributions.terms import ContribScheme
from sscard.funds.month import run_month
from sscard.kms import KeyManager
from sscard.medical import config, institutions, presence
from sscard.medical import service as medical
from sscard.medical.engine_schemas import BillLine
from sscard.medical.loading import EXAMPLE_CATALOGUE, EXAMPLE_POLICY
from sscard.medical.schemas import BillIn, ReverseIn, SettleIn
from sscard.medical.terms import VisitType
from sscard.portal import service as portal
from sscard.registry import service as registry
from sscard.registry.idnumber import check_digit, parse
from sscard.registry.schemas import PersonIn
from sscard.terminal.station import ImageCardReader

HOSPITAL = ("QYRMYY", "清远市人民医院", "hospital", "3", ["inpatient", "outpatient", "reconcile"])
PHARMACY = ("QYDYF01", "清远大药房(新城店)", "pharmacy", None, ["pharmacy", "reconcile"])
# Example catalogue items: 甲类 drug, 甲类 service, 乙类 drug.
OUTPATIENT = (("EX-D-A001", 2000), ("EX-S-A001", 5000), ("EX-D-B001", 10000))
OLD_WAY_BODY = "44180219550721999"  # order 999: no other demo number uses it
OLD_WAY_ID = OLD_WAY_BODY + check_digit(OLD_WAY_BODY)
PHARMACY_ITEMS = (("EX-D-A001", 2000), ("EX-D-B001", 10000))
# The hospital quick start's patient (docs/settlement.md, docs/examples/settlement/bill-2207.json): insured, with
# no card made yet, so the hospital settles by ID number without the chip's proof of card presence.
QUICK_START_BODY = "44180219850815999"  # order 999 (male, like the name): no generated number uses it
QUICK_START_ID = QUICK_START_BODY + check_digit(QUICK_START_BODY)
QUICK_START_NAME = "黄志强"
QUICK_START_ACCOUNT_FEN = 100_000


@dataclass
class MoneySummary:
    settlements: int = 0
    reversals: int = 0
    pensions: int = 0
    entitlements: int = 0
    contributors: int = 0
    months: list[str] = field(default_factory=list)
    benefit_failures: int = 0
    hospital_api_key: str = ""  # printed by the demo: the key a hospital's system sends (docs/settlement.md)
    holder_contribution_months: int = 0  # months the demo cardholder's employer paid (his 缴费记录)
    quick_start_id: str = QUICK_START_ID  # the quick start's patient, settled by ID number


def _periods(today: dt.date) -> tuple[str, str]:
    previous = today.replace(day=1) - dt.timedelta(days=1)
    return f"{previous:%Y-%m}", f"{today:%Y-%m}"


def _age(holder: IssuedHolder, today: dt.date) -> int:
    born = parse(holder.id_number).birth_date
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _medical_config(db: Database) -> None:
    data = resources.files("sscard.medical").joinpath("data")
    config.load_initial(db, SYSTEM_ACTOR, data.joinpath(EXAMPLE_POLICY).read_text("utf-8"),
                        data.joinpath(EXAMPLE_CATALOGUE).read_text("utf-8"), EXAMPLE_POLICY, EXAMPLE_CATALOGUE)


def _settle(db: Database, api_key: str, holder: IssuedHolder, msg_id: str, day: dt.date, visit: VisitType,
            items: tuple[tuple[str, int], ...], rng: random.Random, terminal: _Counter) -> str:
    principal = institutions.authenticate(db, api_key)
    lines = [BillLine(code=code, quantity=Decimal(rng.randint(1, 6)), unit_price_fen=price) for code, price in items]
    request = SettleIn(msg_id=msg_id, card_no=holder.card_no, bill=BillIn(bill_no=f"B{msg_id}", date=day,
                                                                          visit_type=visit, lines=lines))
    raw = request.model_dump_json().encode()  # the holder's chip signs the request, as at a counter
    reader = ImageCardReader(terminal.cards / f"{holder.card_no}.json", terminal.keys)
    proof = presence.parse(reader.prove_settlement(holder.card_no, raw, day), raw)
    done = medical.settle(db, principal, request, proof, terminal.verifier)
    return str(done.setl_id)


@dataclass
class _Counter:
    """The demo's counter terminal: the holders' chip images and the KMS that made them (and checks them)."""

    cards: Path
    keys: KeyManager
    verifier: presence.Verifier


def _counter(cards: Path) -> _Counter:
    keys = key_manager(cards.parent / "keystore.json")
    return _Counter(cards, keys, presence.Verifier(lambda: keys))


def seed_medical(db: Database, holders: list[IssuedHolder], rng: random.Random, summary: MoneySummary,
                 cards: Path) -> None:
    """Policy and catalogue, the two institutions, every holder enrolled and funded, settlements (by card, with
    the chip's proof of presence: the chip images in ``cards``), a reversal."""
    today = clock.local_date()
    terminal = _counter(cards)
    _medical_config(db)
    keys = {}
    for code, name, kind, level, services in (HOSPITAL, PHARMACY):
        keys[kind] = institutions.create_institution(db, SYSTEM_ACTOR, code, name, kind, level, services).api_key
    summary.hospital_api_key = keys["hospital"]
    patient = registry.register(db, SYSTEM_ACTOR, PersonIn(id_number=QUICK_START_ID, name=QUICK_START_NAME,
                                                           region_code="441802"))
    medical.enrol(db, SYSTEM_ACTOR, QUICK_START_ID, "employee", "in_service")
    medical.credit_personal_account(db, SYSTEM_ACTOR, QUICK_START_ID, QUICK_START_ACCOUNT_FEN,
                                    f"demo-allocation-{patient.id}")
    for h in holders:
        medical.enrol(db, SYSTEM_ACTOR, h.id_number, "employee", "retired" if _age(h, today) >= 60 else "in_service")
        medical.credit_personal_account(db, SYSTEM_ACTOR, h.id_number, 50_000 + rng.randrange(0, 200_000, 100),
                                        f"demo-allocation-{h.person_id}")
    # Bills dated over the last week (the chart counts them on their clearing day, today).
    for n, h in enumerate([holders[0], *holders[1:], holders[0]]):
        day = today - dt.timedelta(days=n % 7)
        if n % 3 == 2:
            _settle(db, keys["pharmacy"], h, f"DEMO-P-{n:05d}", day, VisitType.PHARMACY, PHARMACY_ITEMS, rng,
                    terminal)
        else:
            setl_id = _settle(db, keys["hospital"], h, f"DEMO-H-{n:05d}", day, VisitType.OUTPATIENT, OUTPATIENT,
                              rng, terminal)
            if n == 4:  # a bill entered twice by the hospital: it reverses one
                principal = institutions.authenticate(db, keys["hospital"])
                medical.reverse(db, principal, ReverseIn(msg_id=f"DEMO-R-{n:05d}", setl_id=setl_id))
                summary.reversals += 1
        summary.settlements += 1


def _grant(db: Database, person_id: int, kind: BenefitKind, amount: int, start: str,
           months: int | None = None) -> None:
    entitlements.grant_entitlement(db, SYSTEM_ACTOR, EntitlementIn(person_id=person_id, kind=kind, amount=amount,
                                                                   start_period=start, months=months))


def seed_funds(db: Database, holders: list[IssuedHolder], rng: random.Random, summary: MoneySummary) -> None:
    """Entitlements and contributors, then the previous and the current month through the simulated bank."""
    today = clock.local_date()
    previous, current = _periods(today)
    bank = SimulatedBank(db)
    pensioners = [h for h in holders if _age(h, today) >= 60][:12]
    workers = [h for h in holders if _age(h, today) < 60]
    for h in pensioners:
        _grant(db, h.person_id, BenefitKind.PENSION, 280_000 + rng.randrange(0, 150_000, 100), previous)
    summary.pensions = len(pensioners)
    if len(workers) >= 2:
        _grant(db, workers[0].person_id, BenefitKind.UNEMPLOYMENT, 150_000, previous, months=6)
        _grant(db, workers[1].person_id, BenefitKind.WORK_INJURY, 96_000, previous)
        summary.entitlements = 2
    # An "old way" account registered at the agency that the bank has never opened: NO_ACCOUNT.
    stranger = registry.register(db, SYSTEM_ACTOR, PersonIn(id_number=OLD_WAY_ID, name="何志明",
                                                            region_code="441802"))
    banks.register_payment_account(db, SYSTEM_ACTOR, stranger.id, "other", "CCB", "6217003320000000019", "何志明")
    _grant(db, stranger.id, BenefitKind.PENSION, 230_000, previous)
    summary.pensions += 1
    contributors = workers[2:8]
    accounts = []
    for i, h in enumerate(contributors):
        contributions.enrol(db, SYSTEM_ACTOR, h.id_number, ContribScheme.FLEX_PENSION, previous, base_ratio_bp=6000)
        signed = contributions.sign_authorisation(db, SYSTEM_ACTOR, h.id_number, signed_on=today,
                                                  signature_ref=f"DEMO-FORM-{h.person_id}")
        accounts.append((signed.bank_code, signed.account_no))
        if i:  # the first has not paid in enough: its withholding fails
            bank.deposit(signed.bank_code, signed.account_no, 500_000)
    summary.contributors = len(contributors)
    if len(contributors) > 1:  # a one-off subsidy due this month, to an account the bank freezes meanwhile
        _grant(db, contributors[1].person_id, BenefitKind.EMPLOYMENT_SUBSIDY, 60_000, current)
        summary.entitlements += 1
    run_month(db, SYSTEM_ACTOR, previous)
    if len(accounts) > 1:
        bank.set_state(accounts[1][0], accounts[1][1], AccountState.FROZEN)
    run_month(db, SYSTEM_ACTOR, current)
    summary.months = [previous, current]


# The demo cardholder's last employer, which paid his contributions until he retired (his 缴费记录 in the portal).
DEMO_EMPLOYER = ("91441802MA4W0DEM0Q", "清远市示例机械厂")
DEMO_HOLDER_LAST_PERIODS = ("2018-01", "2018-02")
DEMO_HOLDER_BASE_FEN = 459_800


def seed_holder_contributions(db: Database, holder: IssuedHolder) -> int:
    """The months the demo cardholder's employer paid before his retirement (an employer file per month, through
    the contributions package: amounts at the rates in effect then, the money through the employer's bank)."""
    for period in DEMO_HOLDER_LAST_PERIODS:
        with db.unit_of_work() as session:
            rates = load_rates(session, period)
        lines = [employer_file.EmployerLine(n + 1, holder.id_number, holder.name, insurance, DEMO_HOLDER_BASE_FEN,
                                            bp_of(DEMO_HOLDER_BASE_FEN, rates.employer_bp[insurance]),
                                            bp_of(DEMO_HOLDER_BASE_FEN, rates.employee_bp[insurance]))
                 for n, insurance in enumerate(("pension", "medical", "unemployment"))]
        header = employer_file.EmployerHeader(DEMO_EMPLOYER[0], DEMO_EMPLOYER[1], "ICBC", period, len(lines),
                                              sum(ln.employer_fen + ln.employee_fen for ln in lines),
                                              f"{period.replace('-', '')}25093000")
        employer.import_employer_file(db, SYSTEM_ACTOR, employer_file.write(header, lines))
    return len(DEMO_HOLDER_LAST_PERIODS)


def seed_money(db: Database, issued: IssuedCards, seed_value: int = 2013) -> MoneySummary:
    """Medical, contributions and benefits for the issued holders; the demo cardholder's query password."""
    rng = random.Random(seed_value + 2)
    summary = MoneySummary()
    portal.set_query_password(db, SYSTEM_ACTOR, issued.demo.card_no, DEMO_QUERY_PASSWORD)
    seed_medical(db, issued.holders, rng, summary, issued.kiosk_image.parent)
    seed_funds(db, issued.holders, rng, summary)
    summary.holder_contribution_months = seed_holder_contributions(db, issued.demo)
    summary.benefit_failures = len(reissue.failures(db, SYSTEM_ACTOR))
    return summary
