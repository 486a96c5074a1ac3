"""Importing an employer's contribution file: whole-file checks against the registry and the policy rates, then
the lines and their ledger postings in one transaction (the employee medical share goes to the person's
personal medical account, the employee pension share to the personal pension account).

The employer pays by bank transfer into the bureau's settlement account at the bank the file names; the ledger
posts that money from ``bank:<code>:clearing``, so the bank must hold it too: after the import commits, the
bank's gateway records the transfer (the embedded simulated bank credits its bureau account, idempotent by the
reference ``EMP-<file id>-<sha prefix>``). A crash between the two is healed by importing the same file again:
the replay repeats the (idempotent) bank step and posts nothing twice.
"""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.banks import simulated
from sscard.banks.gateway import gateway_for
from sscard.banks.http_client import HttpGateway
from sscard.db import Database
from sscard.errors import DomainError
from sscard.funds.contributions import assessment, employer_file, postings
from sscard.funds.contributions.errors import (
    EmployerFileAmount,
    EmployerFileDuplicate,
    EmployerFileMalformed,
    EmployerFileUnknownPerson,
)
from sscard.funds.contributions.models import EmployerFile, EmployerLine
from sscard.funds.contributions.schemas import EmployerImportResult
from sscard.production.models import CooperatingBank
from sscard.registry import service as registry
from sscard.registry.idnumber import parse as parse_id
from sscard.registry.models import Person


def import_employer_file(db: Database, actor: Actor, data: bytes) -> EmployerImportResult:
    """单位缴费文件导入: all lines or none. The same file again returns the first result; another file for the
    same employer and month is ``EMPLOYER_FILE_DUPLICATE``."""
    actor.require(Permission.FUNDS_RUN)
    result, bank_code, sha = _import(db, actor, data)
    _money_arrives(db, bank_code, result.total_fen, f"EMP-{result.file_id}-{sha[:16]}")
    return result


def _import(db: Database, actor: Actor, data: bytes) -> tuple[EmployerImportResult, str, str]:
    parsed = employer_file.parse(data)
    head = parsed.header
    with db.unit_of_work() as session:
        earlier = session.execute(select(EmployerFile).where(EmployerFile.uscc == head.uscc,
                                                             EmployerFile.period == head.period)).scalar_one_or_none()
        if earlier is not None:
            if earlier.file_sha256 != parsed.checksum:
                raise EmployerFileDuplicate(f"{head.uscc} {head.period} was imported on "
                                            f"{earlier.imported_at:%Y-%m-%d}", uscc=head.uscc, period=head.period)
            return EmployerImportResult(file_id=earlier.id, uscc=earlier.uscc, period=earlier.period,
                                        lines=earlier.line_count, total_fen=earlier.total_fen, transfers=0,
                                        replayed=True), earlier.bank_code, earlier.file_sha256
        if session.get(CooperatingBank, head.bank_code) is None:
            raise EmployerFileMalformed(f"bank {head.bank_code} is not a cooperating bank", bank=head.bank_code)
        persons = _persons(session, parsed)
        rates = assessment.load_rates(session, head.period)
        for line in parsed.lines:
            _check_amounts(line, rates)
        row = EmployerFile(uscc=head.uscc, employer_name=head.employer_name, period=head.period,
                           bank_code=head.bank_code, file_sha256=parsed.checksum, line_count=head.count,
                           total_fen=head.total, imported_by=actor.username)
        session.add(row)
        session.flush()
        if parsed.lines:
            session.execute(insert(EmployerLine), [
                {"file_id": row.id, "line_no": ln.line_no, "person_id": persons[ln.line_no], "insurance_type":
                 ln.insurance, "base_fen": ln.base_fen, "employer_fen": ln.employer_fen,
                 "employee_fen": ln.employee_fen} for ln in parsed.lines])
        payments = [_payment(row.id, head.bank_code, head.period, ln, persons[ln.line_no]) for ln in parsed.lines]
        postings.ensure_accounts(session, {p.personal for p in payments if p.personal})
        posted = postings.post(session, postings.transfers_for(payments))
        audit.record(session, actor, "contrib.employer.import", "contrib_employer_file", row.id, None,
                     {"uscc": head.uscc, "period": head.period, "lines": head.count, "total_fen": head.total,
                      "sha256": parsed.checksum, "transfers": posted})
        return EmployerImportResult(file_id=row.id, uscc=head.uscc, period=head.period, lines=head.count,
                                    total_fen=head.total, transfers=posted), head.bank_code, parsed.checksum


def _money_arrives(db: Database, bank_code: str, amount: int, ref: str) -> None:
    """The employer's transfer as the bank records it, outside the import's transaction (the bank is not the
    bureau). Only a simulated bank — embedded, or the loopback service — can be told; a real bank records the
    transfer itself, and its statement is what the clearing account is reconciled against."""
    if amount <= 0:
        return
    gateway = gateway_for(bank_code, db=db)
    if isinstance(gateway, simulated.EmbeddedGateway | HttpGateway):
        gateway.receive_transfer(amount, ref)


def _persons(session: Session, parsed: employer_file.EmployerFile) -> dict[int, int]:
    """line no → person id; every ID number must be registered under the name the file gives."""
    numbers: dict[int, str] = {}
    for ln in parsed.lines:
        try:
            numbers[ln.line_no] = parse_id(ln.id_number).value
        except DomainError:
            raise EmployerFileUnknownPerson(f"line {ln.line_no}: invalid ID number", line=ln.line_no) from None
    found: dict[str, tuple[int, str]] = {}
    wanted = sorted(set(numbers.values()))
    for start in range(0, len(wanted), 5000):
        for pid, number, name in session.execute(select(Person.id, Person.id_number, Person.name).where(
                Person.id_number.in_(wanted[start:start + 5000]))):
            found[number] = (pid, name)
    out: dict[int, int] = {}
    for ln in parsed.lines:
        hit = found.get(numbers[ln.line_no])
        try:
            same_name = hit is not None and registry.normalise_name(ln.name) == hit[1]
        except DomainError:
            same_name = False
        if hit is None or not same_name:
            raise EmployerFileUnknownPerson(f"line {ln.line_no}: {'name does not match' if hit else 'not registered'}",
                                            line=ln.line_no)
        out[ln.line_no] = hit[0]
    return out


def _check_amounts(line: employer_file.EmployerLine, rates: assessment.Rates) -> None:
    expected_er = assessment.bp_of(line.base_fen, rates.employer_bp[line.insurance])
    expected_ee = assessment.bp_of(line.base_fen, rates.employee_bp[line.insurance])
    if not rates.floor_fen <= line.base_fen <= rates.ceiling_fen:
        raise EmployerFileAmount(f"line {line.line_no}: base {line.base_fen} outside {rates.floor_fen}–"
                                 f"{rates.ceiling_fen} fen", line=line.line_no)
    if (line.employer_fen, line.employee_fen) != (expected_er, expected_ee):
        raise EmployerFileAmount(f"line {line.line_no}: {line.insurance} on base {line.base_fen} is "
                                 f"{expected_er} + {expected_ee} fen, the file says {line.employer_fen} + "
                                 f"{line.employee_fen}", line=line.line_no)


def _payment(file_id: int, bank_code: str, period: str, line: employer_file.EmployerLine,
             person_id: int) -> postings.Payment:
    personal = postings.personal_account(person_id, line.insurance)
    if personal is None:  # unemployment: both shares go to the fund
        return postings.Payment(key=f"emp:{file_id}:{line.line_no}", bank_code=bank_code,
                                pool=postings.employer_pool_account(line.insurance),
                                pool_fen=line.employer_fen + line.employee_fen, personal=None, personal_fen=0,
                                code="contrib.employer", reference=f"{period}:{person_id}")
    return postings.Payment(key=f"emp:{file_id}:{line.line_no}", bank_code=bank_code,
                            pool=postings.employer_pool_account(line.insurance), pool_fen=line.employer_fen,
                            personal=personal, personal_fen=line.employee_fen, code="contrib.employer",
                            reference=f"{period}:{person_id}")
