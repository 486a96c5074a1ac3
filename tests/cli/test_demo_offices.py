"""The demo city's back offices (sscard.demo.offices), seeded once on a migrated SQLite file through the real
services: the treasury has positions, a queued statement line and a sweep awaiting approval; the employment
counter an open unemployment registration with its benefit and a job seeker; the legacy card migration an
import with its two exceptions; the demo cardholder's health index a hospital's grant and its read."""

from __future__ import annotations

from pathlib import Path

import pytest

from sscard import migrate
from sscard.access import SYSTEM_ACTOR
from sscard.db import Database
from sscard.demo.city import DemoSummary, describe, seed
from sscard.demo.issued import DEMO_HOLDER_ID, DEMO_QUERY_PASSWORD
from sscard.demo.models import mark_demo
from sscard.demo.money import HOSPITAL
from sscard.demo.offices import ACCOUNTANT, LEGACY_FILE, SWEEP
from sscard.employment import service as employment
from sscard.exchange import service as exchange
from sscard.health import consent
from sscard.ledger import service as ledger
from sscard.portal import service as portal
from sscard.transition import service as transition
from sscard.treasury import service as treasury


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Database, DemoSummary]:
    root = tmp_path_factory.mktemp("demo-offices")
    url = f"sqlite:///{root / 'demo.db'}"
    migrate.upgrade(url)
    db = Database(url)
    mark_demo(db)
    return db, seed(db, persons=40, progress=False, files=root / "var")


def test_the_treasury_page_has_positions_a_queued_line_and_a_sweep_to_approve(
        demo: tuple[Database, DemoSummary]) -> None:
    db, summary = demo
    [pension] = treasury.positions(db, SYSTEM_ACTOR)
    assert (pension.fund, pension.collection) == ("pension", 1250000 + 980050 + 1100000 + 1325075)
    [item] = treasury.queue(db, SYSTEM_ACTOR)
    assert (item.account_code, item.direction, item.amount, item.description) == ("PEN-ICBC-COL", "D", 2_000,
                                                                                  "账户管理费")
    [pending] = treasury.list_instructions(db, SYSTEM_ACTOR, status="proposed")
    assert (pending.kind, pending.from_code, pending.to_code, pending.amount, pending.proposed_by) == \
        ("sweep", SWEEP[0], SWEEP[1], SWEEP[2], ACCOUNTANT)
    assert summary.offices is not None and summary.offices.sweep_id == pending.id
    with db.unit_of_work() as s:
        assert ledger.check_zero_sum(s).ok


def test_the_employment_counter_has_an_open_unemployment_registration(demo: tuple[Database, DemoSummary]) -> None:
    db, summary = demo
    assert summary.offices is not None and summary.issued is not None
    [unemployed] = employment.registrations_by_id_number(db, SYSTEM_ACTOR, summary.offices.unemployed_id_number)
    assert (unemployed.kind, unemployed.status) == ("unemployment", "open") and unemployed.entitlement_id
    [seeker] = employment.registrations_by_id_number(db, SYSTEM_ACTOR, summary.offices.job_seeker_id_number)
    assert (seeker.kind, seeker.status) == ("job_seeker", "open")
    assert summary.issued.demo.id_number not in (summary.offices.unemployed_id_number,
                                                 summary.offices.job_seeker_id_number)


def test_the_legacy_card_file_waits_with_its_two_exceptions(demo: tuple[Database, DemoSummary]) -> None:
    db, summary = demo
    [imported] = transition.imports(db, SYSTEM_ACTOR)
    assert (imported.source, imported.line_count, imported.carried_count, imported.exception_count) == \
        ("GFMED", 6, 4, 2)
    queue = transition.exceptions(db, SYSTEM_ACTOR, imported.id)
    assert [(e.line_no, e.reason) for e in queue] == [(5, "NO_PERSON"), (6, "ID_INVALID")]
    assert transition.report(db, SYSTEM_ACTOR, imported.id).reconciled
    assert "2 in the exceptions queue" in describe(summary) and Path(LEGACY_FILE).suffix == ".lmc"


def test_the_demo_cardholders_health_page_shows_a_grant_and_a_read(demo: tuple[Database, DemoSummary]) -> None:
    db, summary = demo
    assert summary.issued is not None and summary.money is not None and summary.offices is not None
    holder = portal.login(db, DEMO_HOLDER_ID, DEMO_QUERY_PASSWORD).actor
    overview = consent.holder_overview(db, holder, summary.issued.demo.person_id)
    [grant] = overview.grants
    assert (grant.grant_id, grant.institution_code) == (summary.offices.health_grant, HOSPITAL[0])
    [read] = overview.reads
    assert (read.institution_code, read.resource_type, read.entries) == (HOSPITAL[0], "Encounter", 2)
    assert overview.institution(HOSPITAL[0]) == HOSPITAL[1]


def test_the_exchange_has_an_agreement_in_force_a_bulk_file_answered_and_one_to_approve(
        demo: tuple[Database, DemoSummary]) -> None:
    db, summary = demo
    assert summary.issued is not None and summary.offices is not None
    by_no = {a.agreement_no: a for a in exchange.list_agreements(db, SYSTEM_ACTOR)}
    assert by_no[summary.offices.exchange_agreement].status == "approved"
    assert by_no[summary.offices.exchange_pending].status == "requested"
    holder = portal.login(db, DEMO_HOLDER_ID, DEMO_QUERY_PASSWORD).actor
    uses = exchange.holder_uses(db, holder, summary.issued.demo.person_id)
    assert [(u.department, u.mode, u.agreement) for u in uses] == [("PSB", "bulk", summary.offices.exchange_agreement)]
    assert summary.offices.exchange_bulk_lines == 4 and "answered through the file ferry" in describe(summary)
