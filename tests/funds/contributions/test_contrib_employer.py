"""Employer contribution files: imported whole (lines, ledger postings, the employee medical share in the
personal medical account) or refused whole with a stable code when anything is wrong or tampered."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest
from contrib_world import AVG, new_person
from sqlalchemy import func, select
from stdnum.cn import uscc as stdnum_uscc

from sscard.funds.contributions import employer_file, history
from sscard.funds.contributions.employer import import_employer_file
from sscard.funds.contributions.errors import EmployerFileDuplicate, EmployerFileRejected
from sscard.funds.contributions.models import EmployerFile
from sscard.ledger import service as ledger
from sscard.ledger.models import LedgerTransfer
from support.city import City
from support.factories import next_id_number
from support.filemac import edit_field, reseal, resha

# The seeded example rates on a base of AVG: (employer, employee) fen per insurance.
SHARES = {"pension": (64_372, 36_784), "medical": (29_887, 9_196), "unemployment": (6_897, 2_299)}
_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def new_uscc() -> str:
    body = "91441802" + "".join(secrets.choice(_ALPHABET) for _ in range(9))
    return body + stdnum_uscc.calc_check_digit(body)


def lines_for(people: list[tuple[str, str]]) -> list[employer_file.EmployerLine]:
    out = []
    for number, name in people:
        for insurance, (er, ee) in SHARES.items():
            out.append(employer_file.EmployerLine(len(out) + 1, number, name, insurance, AVG, er, ee))
    return out


def make_file(lines: list[employer_file.EmployerLine], *, uscc: str | None = None, bank: str = "ICBC",
              period: str = "2014-06") -> bytes:
    header = employer_file.EmployerHeader(uscc or new_uscc(), "清远市测试有限公司", bank, period, len(lines),
                                          sum(ln.employer_fen + ln.employee_fen for ln in lines), "20140625093000")
    return employer_file.write(header, lines)


def _people(city: City, n: int = 2) -> list[tuple[int, str, str]]:
    return [(pid, number, f"职工{i}") for i in range(n) for pid, number in [new_person(city, f"职工{i}")]]


def _transfers(city: City) -> int:
    with city.db.unit_of_work() as session:
        return int(session.execute(select(func.count()).select_from(LedgerTransfer)
                                   .where(LedgerTransfer.id.like("emp:%"))).scalar_one())


def _files(city: City) -> int:
    with city.db.unit_of_work() as session:
        return int(session.execute(select(func.count()).select_from(EmployerFile)).scalar_one())


def test_an_employer_file_is_imported_whole_with_the_employee_medical_share_in_the_personal_account(
        city: City) -> None:
    people = _people(city)
    data = make_file(lines_for([(number, name) for _, number, name in people]))
    before = _transfers(city)
    result = import_employer_file(city.db, city.admin, data)

    assert (result.lines, result.total_fen, result.replayed) == (6, 2 * sum(map(sum, SHARES.values())), False)
    assert result.transfers == 2 * 5  # pension and medical: pool + personal; unemployment: pool only
    assert _transfers(city) == before + 10
    person_id = people[0][0]
    with city.db.unit_of_work() as session:
        assert ledger.balance(session, f"person:{person_id}:medical").credit_balance == SHARES["medical"][1]
        assert ledger.balance(session, f"person:{person_id}:pension").credit_balance == SHARES["pension"][1]
        assert ledger.check_zero_sum(session).ok
    records = history.contribution_history(city.db, city.admin, person_id)
    assert {(r.source, r.insurance_type, r.status, r.amount_fen) for r in records} == {
        ("employer", t, "paid", er + ee) for t, (er, ee) in SHARES.items()}

    again = import_employer_file(city.db, city.admin, data)
    assert again.replayed and again.file_id == result.file_id and _transfers(city) == before + 10
    changed = make_file(lines_for([(number, name) for _, number, name in people[:1]]),
                        uscc=employer_file.parse(data).header.uscc)
    with pytest.raises(EmployerFileDuplicate):
        import_employer_file(city.db, city.admin, changed)


def _reseal(data: bytes) -> bytes:
    """Checksum and MAC recomputed under the key of the employer the header names (the key holder's file)."""
    return reseal(data)


def _with_totals(lines: list[employer_file.EmployerLine]) -> Callable[[bytes], bytes]:
    return lambda _: make_file(lines)


Tamper = Callable[[bytes, list[employer_file.EmployerLine]], bytes]
TAMPERING: dict[str, tuple[str, Tamper]] = {
    "changed amount": ("EMPLOYER_FILE_MAC", lambda d, _: resha(edit_field(d, 1, 6, "64373"))),
    "changed amount, resealed": ("EMPLOYER_FILE_TOTALS", lambda d, _: _reseal(edit_field(d, 1, 6, "64373"))),
    "header total": ("EMPLOYER_FILE_TOTALS", lambda d, _: _reseal(edit_field(d, 0, 7, "1"))),
    "bad USCC check character": ("EMPLOYER_FILE_USCC",
                                 lambda d, _: _reseal(edit_field(d, 0, 2, "91441802MA4UXXXXX0"))),
    "same person and insurance twice": ("EMPLOYER_FILE_DUPLICATE_LINE",
                                        lambda d, ls: make_file([*ls, ls[0]._replace(line_no=len(ls) + 1)])),
    "same line number twice": ("EMPLOYER_FILE_DUPLICATE_LINE", lambda d, _: _reseal(edit_field(d, 2, 1, "1"))),
    "unregistered person": ("EMPLOYER_FILE_UNKNOWN_PERSON",
                            lambda d, ls: make_file([ls[0]._replace(id_number=next_id_number()), *ls[1:]])),
    "name differs from the registry": ("EMPLOYER_FILE_UNKNOWN_PERSON",
                                       lambda d, ls: make_file([ls[0]._replace(name="冒名"), *ls[1:]])),
    "amount not at the policy rate": ("EMPLOYER_FILE_AMOUNT",
                                      lambda d, ls: make_file([ls[0]._replace(employer_fen=64_000), *ls[1:]])),
    "base above the ceiling": ("EMPLOYER_FILE_AMOUNT", lambda d, ls: make_file(
        [ls[0]._replace(base_fen=2_000_000, employer_fen=280_000, employee_fen=160_000), *ls[1:]])),
    "unknown insurance": ("EMPLOYER_FILE_MALFORMED", lambda d, _: _reseal(edit_field(d, 1, 4, "maternity"))),
    "unknown bank": ("EMPLOYER_FILE_MALFORMED", lambda d, ls: make_file(ls, bank="NOBANK")),
    "truncated": ("EMPLOYER_FILE_TRUNCATED", lambda d, _: d[: len(d) // 2]),
    "not UTF-8": ("EMPLOYER_FILE_ENCODING", lambda d, _: _reseal(d.replace("职工".encode(), b"\xb0\xa1", 1))),
}


@pytest.mark.parametrize("case", sorted(TAMPERING))
def test_a_defective_employer_file_is_refused_whole(city: City, case: str) -> None:
    code, tamper = TAMPERING[case]
    people = _people(city)
    lines = lines_for([(number, name) for _, number, name in people])
    data = tamper(make_file(lines), lines)
    before = _transfers(city), _files(city)
    with pytest.raises(EmployerFileRejected) as refused:
        import_employer_file(city.db, city.admin, data)
    assert refused.value.code == code
    assert (_transfers(city), _files(city)) == before
    assert history.contribution_history(city.db, city.admin, people[0][0]) == []
