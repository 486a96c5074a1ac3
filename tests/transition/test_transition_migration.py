"""A legacy migration of 100,000 cards on both databases whose totals reconcile exactly to the fen (old total =
the ledger's journal + the exceptions queue; every personal account holds what its old card held), then a
settlement by the old card number inside the transition window and its refusal after; files refused whole
(duplicate file, a card of an earlier file, one card claimed by two persons) with nothing written."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from transition_world import id_numbers, lines_for, load_persons, make_file

from medical.world import insured_person, new_hospital, settle_body
from sscard.access import PermissionDenied
from sscard.api.app import create_app
from sscard.errors import DomainError
from sscard.ledger import service as ledger
from sscard.ledger.chart import LegacyTransition, PersonalMedical
from sscard.ledger.models import LedgerAccount, LedgerTransfer
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from sscard.transition import report as report_files
from sscard.transition import service as transition
from sscard.transition.errors import LegacyFileRejected
from sscard.transition.legacy_file import Line
from sscard.transition.models import LegacyCard, LegacyImport
from support.city import City

N = 100_000
IN_WINDOW = dt.datetime(2027, 3, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in Qingyuan; the seeded window 2026-01-01…2027-06-30
AFTER_WINDOW = dt.datetime(2027, 7, 1, 2, 0, tzinfo=dt.UTC)


def _state(city: City) -> tuple[int, int, int, int]:
    with city.db.unit_of_work() as s:
        return (s.execute(select(func.count()).select_from(LegacyImport)).scalar_one(),
                s.execute(select(func.count()).select_from(LegacyCard)).scalar_one(),
                s.execute(select(func.count()).select_from(LedgerTransfer)).scalar_one(),
                s.execute(select(func.count()).select_from(LedgerAccount)).scalar_one())


def _refused(city: City, data: bytes) -> str:
    before = _state(city)
    with pytest.raises(DomainError) as caught:
        transition.import_file(city.db, city.admin, data)
    assert _state(city) == before  # nothing of it written
    return caught.value.code


def test_100000_cards_reconcile_to_the_fen_then_settle_by_old_card_in_the_window_only(
        fresh_city: City, new_id: Callable[..., str]) -> None:
    city = fresh_city
    numbers = id_numbers(N + 400)
    ids = load_persons(city.db, numbers[:N])  # the last 400 are nobody here
    wrong = [n[:17] + ("0" if n[17] != "0" else "1") for n in numbers[N + 300:]]  # bad check digit
    lines = lines_for(numbers[:N + 300] + wrong)
    patient = insured_person(city, new_id)  # enrolled, a normal new card: line N + 401
    lines.append(Line(N + 401, "QYPATIENT1", patient.id_number, "医保测试", 500_000, "1"))
    data = make_file(lines, file_id="QY-2026-11")
    old_total = sum(line.balance for line in lines)

    result = transition.import_file(city.db, city.admin, data)
    assert (result.line_count, result.total_fen) == (N + 401, old_total)
    assert (result.carried_count, result.exception_count) == (N + 1, 400)
    carried_fen = sum(line.balance for line in lines[:N]) + 500_000
    assert (result.carried_fen, result.exception_fen) == (carried_fen, old_total - carried_fen)

    report = transition.report(city.db, city.supervisor, result.import_id)
    assert report.reconciled and report.difference_fen == 0
    assert report.old_fen == report.journal_fen + report.queued_fen == old_total
    assert report.journal_fen == carried_fen and report.transition_account_debit_fen == carried_fen
    assert report.journal_transfers == sum(1 for line in lines[:N] if line.balance) + 1
    assert report.by_reason == {"NO_PERSON": (300, sum(x.balance for x in lines[N:N + 300])),
                                "ID_INVALID": (100, sum(x.balance for x in lines[N + 300:N + 400]))}
    with city.db.unit_of_work() as s:  # the ledger's own accounts, independently of the journal read
        personal = s.execute(select(func.sum(LedgerAccount.credits_posted - LedgerAccount.debits_posted))
                             .where(LedgerAccount.kind == "medical_personal")).scalar_one()
        assert personal == carried_fen
        assert ledger.balance(s, LegacyTransition("QYMED").code).debit_balance == carried_fen
        for line in (lines[0], lines[1], lines[N // 2], lines[N - 1]):
            code = PersonalMedical(ids[line.id_number]).code
            assert ledger.balance(s, code).credit_balance == line.balance
        assert ledger.check_zero_sum(s).ok
    sheet = list(csv.reader(io.StringIO(report_files.report_csv(report).decode("utf-8-sig"))))
    fen = {row[0]: row[3] for row in sheet[1:]}
    assert (fen["old"], fen["journal"], fen["difference"], fen["reconciled"]) == (
        str(old_total), str(carried_fen), "0", "1")
    pdf = report_files.report_pdf(report)
    assert pdf.startswith(b"%PDF-") and len(pdf) > 2000

    # the same file again, and files that would move a balance twice: refused whole
    assert _refused(city, data) == "LEGACY_FILE_DUPLICATE"
    again = [Line(1, lines[5].legacy_card_no, lines[5].id_number, "迁移测试", 1, "1")]
    assert _refused(city, make_file(again, file_id="QY-2026-12")) == "LEGACY_CARD_ALREADY_IMPORTED"
    other = [Line(1, lines[5].legacy_card_no, lines[6].id_number, "迁移测试", 1, "1")]
    assert _refused(city, make_file(other, file_id="QY-2026-13")) == "LEGACY_CARD_CONFLICT"

    client = TestClient(create_app(city.db), raise_server_exceptions=False)
    hospital = new_hospital(city, client)
    with time_machine.travel(IN_WINDOW, tick=False):
        body = settle_body(patient)
        del body["card_no"]
        body["legacy_card_no"] = "qypatient1"  # as typed at the hospital: case does not matter
        settled = hospital.settle(body)
        assert settled["identified_by"] == "legacy" and settled["card_no"] is None  # the new number is not told
        assert settled["account_balance_after_fen"] == 500_000 - settled["split"]["account_paid_fen"]
        assert settled["split"]["account_paid_fen"] > 0
        replay = hospital.post("settlements", body)
        assert replay.json()["replayed"] is True and replay.json()["setl_id"] == settled["setl_id"]
        unknown = hospital.post("settlements", {**body, "msg_id": "m-unknown", "legacy_card_no": "QYNOSUCH1"})
        assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "LEGACY_CARD_NOT_FOUND")
        queued = hospital.post("settlements", {**body, "msg_id": "m-queued",
                                               "legacy_card_no": lines[N + 10].legacy_card_no})
        assert (queued.status_code, queued.json()["error"]["code"]) == (409, "LEGACY_CARD_UNMATCHED")
        both = hospital.post("settlements", {**body, "msg_id": "m-both", "card_no": patient.card_no})
        assert both.json()["error"]["code"] == "IDENTIFICATION_INVALID"
    with time_machine.travel(AFTER_WINDOW, tick=False):
        late = settle_body(patient)
        del late["card_no"]
        late["legacy_card_no"] = "QYPATIENT1"
        refused = hospital.post("settlements", late)
        assert (refused.status_code, refused.json()["error"]["code"]) == (409, "LEGACY_CARD_WINDOW_CLOSED")
        assert hospital.post("pre-settlements", late).json()["error"]["code"] == "LEGACY_CARD_WINDOW_CLOSED"
        # the holder keeps their cover: the new card settles as before, from the carried balance
        by_card = hospital.settle(settle_body(patient))
        assert by_card["identified_by"] == "card"
        assert by_card["account_balance_after_fen"] == settled["account_balance_after_fen"] - \
            by_card["split"]["account_paid_fen"]


def test_a_queued_card_is_resolved_and_carried_and_the_report_stays_reconciled(
        fresh_city: City, new_id: Callable[..., str]) -> None:
    city = fresh_city
    known, later = new_id(), new_id()
    registry.register(city.db, city.counter, PersonIn(id_number=known, name="甲", region_code="441802"))
    lines = [Line(1, "RS0001", known, "甲", 1_000, "1"), Line(2, "RS0002", later, "乙", 2_345, "2")]
    result = transition.import_file(city.db, city.admin, make_file(lines, file_id="RS-1", source="RSMED"))
    assert (result.carried_count, result.exception_count) == (1, 1)
    with pytest.raises(PermissionDenied):
        transition.resolve(city.db, city.counter, result.import_id, 2, later)
    with pytest.raises(Exception) as missing:  # not registered yet
        transition.resolve(city.db, city.supervisor, result.import_id, 2, later)
    assert getattr(missing.value, "code", None) == "PERSON_NOT_FOUND"
    person = registry.register(city.db, city.counter, PersonIn(id_number=later, name="乙", region_code="441802"))
    resolved = transition.resolve(city.db, city.supervisor, result.import_id, 2, later)
    assert (resolved.person_id, resolved.balance_fen, resolved.transfer_id) == (person.id, 2_345,
                                                                                 "legacy:RSMED:RS0002")
    report = transition.report(city.db, city.supervisor, result.import_id)
    assert report.reconciled and (report.carried_count, report.queued_count) == (2, 0)
    assert report.journal_fen == report.old_fen == 3_345
    with city.db.unit_of_work() as s:
        assert ledger.balance(s, PersonalMedical(person.id).code).credit_balance == 2_345
    assert transition.exceptions(city.db, city.supervisor, result.import_id) == []
    with pytest.raises(Exception) as twice:
        transition.resolve(city.db, city.supervisor, result.import_id, 2, later)
    assert getattr(twice.value, "code", None) == "LEGACY_EXCEPTION_NOT_FOUND"
    # RS0002 was lost in the old system: its holder cannot use it at a hospital, window or not
    with city.db.unit_of_work() as s, pytest.raises(Exception) as lost, \
            time_machine.travel(IN_WINDOW, tick=False):
        transition.legacy_holder_in(s, "RS0002")
    assert getattr(lost.value, "code", None) == "LEGACY_CARD_NOT_USABLE"


def test_only_the_administrator_imports_and_bad_files_write_nothing(fresh_city: City) -> None:
    city = fresh_city
    numbers = id_numbers(3, region="441802")
    data = make_file(lines_for(numbers), file_id="PERM-1")
    with pytest.raises(PermissionDenied):
        transition.import_file(city.db, city.supervisor, data)
    assert _refused(city, data[:-2] + b"0\n") == "LEGACY_FILE_MAC"
    assert _refused(city, data[:-1]) == "LEGACY_FILE_TRUNCATED"
    with pytest.raises(LegacyFileRejected) as wrong_source:
        transition.import_file(city.db, city.admin, data, source="GFMED")
    assert wrong_source.value.code == "LEGACY_FILE_MAC"
    result = transition.import_file(city.db, city.admin, data)
    assert (result.carried_count, result.exception_count) == (0, 3)  # nobody registered: all queued
    report = transition.report(city.db, city.supervisor, result.import_id)
    assert report.reconciled and report.journal_fen == 0 and report.queued_fen == report.old_fen


def test_old_numbers_aliases_and_deaths_are_matched_as_the_registry_has_them(
        fresh_city: City, new_id: Callable[..., str]) -> None:
    """A card under a number the person held before (an alias) is carried to that person; a card of a person who
    died waits in the queue (PERSON_DECEASED) — on both databases, whichever import path the database takes."""
    city = fresh_city
    old, new, gone = new_id(), new_id(), new_id()
    moved = registry.register(city.db, city.counter, PersonIn(id_number=old, name="甲", region_code="441802"))
    died = registry.register(city.db, city.counter, PersonIn(id_number=gone, name="丙", region_code="441802"))
    with city.db.unit_of_work() as s:
        registry.correct_id_number_in(s, city.admin, moved.id, new, "dept:PSB test")
        registry.record_death_in(s, city.admin, died.id)
    lines = [Line(1, "AL0001", old, "甲", 1_200, "1"), Line(2, "AL0002", new, "甲", 300, "1"),
             Line(3, "AL0003", gone, "丙", 4_500, "1")]
    result = transition.import_file(city.db, city.admin, make_file(lines, file_id="AL-1", source="ALMED"))
    assert (result.carried_count, result.carried_fen, result.exception_count) == (2, 1_500, 1)
    report = transition.report(city.db, city.supervisor, result.import_id)
    assert report.reconciled and report.by_reason == {"PERSON_DECEASED": (1, 4_500)}
    with city.db.unit_of_work() as s:
        assert ledger.balance(s, PersonalMedical(moved.id).code).credit_balance == 1_500
        cards = {c.legacy_card_no: (c.person_id, c.state) for c in s.execute(select(LegacyCard)).scalars()}
    assert cards == {"AL0001": (moved.id, "carried"), "AL0002": (moved.id, "carried"),
                     "AL0003": (died.id, "exception")}


def test_a_card_twice_in_a_file_refuses_the_import_whole(fresh_city: City, new_id: Callable[..., str]) -> None:
    city = fresh_city
    one, two = new_id(), new_id()
    registry.register(city.db, city.counter, PersonIn(id_number=one, name="甲", region_code="441802"))
    base = [Line(1, "DU0001", one, "甲", 100, "1"), Line(2, "DU0002", two, "乙", 200, "1"),
            Line(3, "DU0003", one, "甲", 0, "1")]
    same = [*base[:2], base[2]._replace(legacy_card_no="DU0001")]
    assert _refused(city, make_file(same, file_id="DU-1")) == "LEGACY_FILE_DUPLICATE_LINE"
    other = [*base[:2], base[2]._replace(legacy_card_no="DU0002")]
    assert _refused(city, make_file(other, file_id="DU-2")) == "LEGACY_CARD_CONFLICT"
    result = transition.import_file(city.db, city.admin, make_file(base, file_id="DU-3"))
    assert (result.carried_count, result.exception_count, result.accounts_opened) == (2, 1, 1)


def test_old_fifteen_digit_numbers_a_lower_case_x_and_a_backslash_are_recorded_as_read(fresh_city: City) -> None:
    """Lines whose ID numbers the parser normalised (a 15-digit number upgraded, a lower-case x) are recorded
    and matched as normalised, and a name with a backslash is stored as written — on both databases."""
    city = fresh_city
    upgraded, with_x = "441802193304040048", "44180219300101001X"
    for number in (upgraded, with_x):
        registry.register(city.db, city.counter, PersonIn(id_number=number, name="甲", region_code="441802"))
    lines = [Line(1, "FT0001", "441802330404004", "陈\\欧", 700, "1"), Line(2, "FT0002", with_x.lower(), "乙", 0, "1")]
    result = transition.import_file(city.db, city.admin, make_file(lines, file_id="FT-1", source="FTMED"))
    assert (result.carried_count, result.carried_fen, result.accounts_opened) == (2, 700, 2)
    with city.db.unit_of_work() as s:
        cards = {c.legacy_card_no: (c.id_number, c.name, c.state) for c in s.execute(select(LegacyCard)).scalars()}
    assert cards == {"FT0001": (upgraded, "陈\\欧", "carried"), "FT0002": (with_x, "乙", "carried")}
