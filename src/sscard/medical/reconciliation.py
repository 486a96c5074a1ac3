"""Daily reconciliation (对账, after 3201/3202): an institution's totals per day and scheme against the centre's
effective (not reversed) settlements; on a mismatch its details, compared by settlement id into differences
(院多 extra at hospital, 中心多 extra at centre, 金额不一致 amount differs) that staff check and resolve."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from sscard import clock
from sscard.access import Actor, Permission
from sscard.audit import service as audit
from sscard.db import Database
from sscard.medical import journal
from sscard.medical.errors import ReconDifferenceNotFound, ReconRunNotFound, ReconStateInvalid
from sscard.medical.institutions import RECONCILE, InstitutionPrincipal
from sscard.medical.models import Institution, ReconDifference, ReconRun, Settlement
from sscard.medical.schemas import MsgId, SetlId
from sscard.medical.terms import Fen, MessageKind, Scheme

AMOUNTS = ("total_fen", "fund_fen", "account_fen", "cash_fen")
BALANCED, UNBALANCED = "000000", "000103"  # the national platform's result codes (平 / 不平)
STATUS_NAMES = {0: "pending 待处理", 1: "checked 已核对", 2: "resolved 已平账"}


class TotalsIn(BaseModel):
    """3201 对总账: the institution's count and amounts for one day and scheme."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    msg_id: MsgId
    day: dt.date
    scheme: Scheme
    count: Annotated[int, Field(strict=True, ge=0, le=2**31 - 1)]  # an INTEGER column
    total_fen: Fen  # every amount at most a BIGINT (the centre's sums are added in Python)
    fund_fen: Fen
    account_fen: Fen
    cash_fen: Fen


class DetailLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    setl_id: SetlId
    total_fen: Fen
    fund_fen: Fen
    account_fen: Fen
    cash_fen: Fen


class DetailsIn(BaseModel):
    """3202 对明细账: every settlement the institution holds for the run's day and scheme."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    msg_id: MsgId
    lines: list[DetailLine] = Field(max_length=200_000)


class RunOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: int
    institution: str
    day: dt.date
    scheme: Scheme
    result: Literal["balanced", "unbalanced", "details_compared"]
    stmt_rslt: str
    hospital: dict[str, int]
    centre: dict[str, int]
    differences: int
    replayed: bool = False


class DifferenceOut(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    run_id: int
    setl_id: str
    kind: Literal["extra_at_hospital", "extra_at_centre", "amount_differs"]
    hospital: dict[str, int] | None
    centre: dict[str, int] | None
    status: int
    note: str | None
    resolved_by: str | None


def _centre_rows(session: Session, institution_id: int, day: dt.date, scheme: str) -> dict[str, dict[str, int]]:
    rows = session.execute(select(Settlement.setl_id, Settlement.total_fen, Settlement.fund_paid_fen,
                                  Settlement.account_paid_fen, Settlement.cash_fen)
                           .where(Settlement.institution_id == institution_id, Settlement.settled_on == day,
                                  Settlement.scheme == scheme, Settlement.status == "settled"))
    return {r[0]: dict(zip(AMOUNTS, (int(v) for v in r[1:]), strict=True)) for r in rows}


def _run_out(session: Session, run: ReconRun, replayed: bool = False) -> RunOut:
    code = session.execute(select(Institution.code).where(Institution.id == run.institution_id)).scalar_one()
    count = session.execute(select(func.count()).select_from(ReconDifference)
                            .where(ReconDifference.run_id == run.id)).scalar_one()
    hospital = {"count": run.hospital_count, "total_fen": run.hospital_total_fen, "fund_fen": run.hospital_fund_fen,
                "account_fen": run.hospital_account_fen, "cash_fen": run.hospital_cash_fen}
    centre = {"count": run.centre_count, "total_fen": run.centre_total_fen, "fund_fen": run.centre_fund_fen,
              "account_fen": run.centre_account_fen, "cash_fen": run.centre_cash_fen}
    return RunOut(run_id=run.id, institution=code, day=run.day, scheme=Scheme(run.scheme),
                  result=run.result,
                  stmt_rslt=BALANCED if run.result == "balanced" else UNBALANCED, hospital=hospital, centre=centre,
                  differences=int(count), replayed=replayed)


def submit_totals(db: Database, principal: InstitutionPrincipal, req: TotalsIn) -> RunOut:
    """3201: compare totals; a new run for the same day and scheme supersedes the earlier ones."""
    principal.require_service(RECONCILE)
    if req.day > clock.local_date():
        raise ReconStateInvalid("cannot reconcile a future day", day=req.day.isoformat())
    with db.unit_of_work() as session:
        first = journal.begin(session, principal.id, req.msg_id, MessageKind.RECONCILE_TOTALS, req)
        if first is not None:
            return RunOut.model_validate_json(first).model_copy(update={"replayed": True})
        centre = _centre_rows(session, principal.id, req.day, req.scheme.value)
        sums = {k: sum(r[k] for r in centre.values()) for k in AMOUNTS}
        balanced = len(centre) == req.count and all(sums[k] == getattr(req, k) for k in AMOUNTS)
        session.execute(update(ReconRun).where(ReconRun.institution_id == principal.id, ReconRun.day == req.day,
                                               ReconRun.scheme == req.scheme.value).values(superseded=True))
        run = ReconRun(institution_id=principal.id, day=req.day, scheme=req.scheme.value,
                       hospital_count=req.count, hospital_total_fen=req.total_fen, hospital_fund_fen=req.fund_fen,
                       hospital_account_fen=req.account_fen, hospital_cash_fen=req.cash_fen,
                       centre_count=len(centre), centre_total_fen=sums["total_fen"], centre_fund_fen=sums["fund_fen"],
                       centre_account_fen=sums["account_fen"], centre_cash_fen=sums["cash_fen"],
                       result="balanced" if balanced else "unbalanced", superseded=False)
        session.add(run)
        session.flush()
        out = _run_out(session, run)
        journal.finish(session, principal.id, req.msg_id, out.model_dump_json())
        return out


def submit_details(db: Database, principal: InstitutionPrincipal, run_id: int, req: DetailsIn) -> RunOut:
    """3202: line by line by settlement id, into differences; only for the current, unbalanced run."""
    principal.require_service(RECONCILE)
    with db.unit_of_work() as session:
        first = journal.begin(session, principal.id, req.msg_id, MessageKind.RECONCILE_DETAILS, req)
        if first is not None:
            return RunOut.model_validate_json(first).model_copy(update={"replayed": True})
        run = session.execute(select(ReconRun).where(ReconRun.id == run_id).with_for_update()).scalar_one_or_none()
        if run is None or run.institution_id != principal.id:
            raise ReconRunNotFound(str(run_id), run_id=run_id)
        if run.superseded or run.result != "unbalanced":
            raise ReconStateInvalid(f"run {run_id} is {'superseded' if run.superseded else run.result}",
                                    run_id=run_id)
        hospital: dict[str, dict[str, int]] = {}
        for line in req.lines:
            if line.setl_id in hospital:
                raise ReconStateInvalid(f"settlement {line.setl_id} is listed twice", setl_id=line.setl_id)
            hospital[line.setl_id] = {k: getattr(line, k) for k in AMOUNTS}
        centre = _centre_rows(session, principal.id, run.day, run.scheme)
        for setl_id in sorted(hospital.keys() | centre.keys()):
            ours, theirs = centre.get(setl_id), hospital.get(setl_id)
            if ours == theirs:
                continue
            kind = "extra_at_hospital" if ours is None else "extra_at_centre" if theirs is None else "amount_differs"
            session.add(ReconDifference(run_id=run.id, setl_id=setl_id, kind=kind,
                                        hospital=json.dumps(theirs) if theirs else None,
                                        centre=json.dumps(ours) if ours else None, status=0))
        run.result = "details_compared"
        session.flush()
        out = _run_out(session, run)
        journal.finish(session, principal.id, req.msg_id, out.model_dump_json())
        return out


def _diff_out(d: ReconDifference) -> DifferenceOut:
    return DifferenceOut(id=d.id, run_id=d.run_id, setl_id=d.setl_id, kind=d.kind,
                         hospital=json.loads(d.hospital) if d.hospital else None,
                         centre=json.loads(d.centre) if d.centre else None, status=d.status, note=d.note,
                         resolved_by=d.resolved_by)


def differences(db: Database, actor: Actor, run_id: int) -> list[DifferenceOut]:
    actor.require(Permission.MEDICAL_RECONCILE)
    with db.unit_of_work() as session:
        if session.get(ReconRun, run_id) is None:
            raise ReconRunNotFound(str(run_id), run_id=run_id)
        rows = session.execute(select(ReconDifference).where(ReconDifference.run_id == run_id)
                               .order_by(ReconDifference.setl_id)).scalars()
        return [_diff_out(d) for d in rows]


def resolve(db: Database, actor: Actor, difference_id: int, status: int, note: str) -> DifferenceOut:
    """Workflow 0 待处理 → 1 已核对 (checked, with a note) → 2 已平账 (resolved); each step audited."""
    actor.require(Permission.MEDICAL_RECONCILE)
    if status not in (1, 2) or not note.strip() or len(note) > 500:
        raise ReconStateInvalid("status must be 1 or 2, with a note of 1–500 characters")
    with db.unit_of_work() as session:
        d = session.execute(select(ReconDifference).where(ReconDifference.id == difference_id)
                            .with_for_update()).scalar_one_or_none()
        if d is None:
            raise ReconDifferenceNotFound(str(difference_id), difference_id=difference_id)
        if status != d.status + 1:
            raise ReconStateInvalid(f"difference {difference_id} is {STATUS_NAMES[d.status]}; next is "
                                    f"{STATUS_NAMES.get(d.status + 1, 'none')}", status=d.status)
        before = {"status": d.status, "note": d.note}
        d.status, d.note, d.resolved_by = status, note.strip(), actor.username
        session.flush()
        audit.record(session, actor, "medical.recon.resolve", "medical_recon_difference", d.id, before,
                     {"status": status, "note": d.note, "setl_id": d.setl_id})
        return _diff_out(d)


def run_for(db: Database, actor: Actor, run_id: int) -> RunOut:
    """A reconciliation run, for staff who review reconciliation."""
    actor.require(Permission.MEDICAL_RECONCILE)
    return _run_for(db, run_id, None)


def _run_for(db: Database, run_id: int, institution_id: int | None) -> RunOut:
    with db.unit_of_work() as session:
        run = session.get(ReconRun, run_id)
        if run is None or (institution_id is not None and run.institution_id != institution_id):
            raise ReconRunNotFound(str(run_id), run_id=run_id)
        return _run_out(session, run)


def result_csv(db: Database, actor: Actor, run_id: int) -> str:
    """The result file of any run, for staff who review reconciliation."""
    actor.require(Permission.MEDICAL_RECONCILE)
    return _result_csv(db, run_id, None)


def institution_result_csv(db: Database, principal: InstitutionPrincipal, run_id: int) -> str:
    """The result file of one of the institution's own runs (another's is not found)."""
    principal.actor.require(Permission.MEDICAL_SETTLE)
    return _result_csv(db, run_id, principal.id)


def _result_csv(db: Database, run_id: int, institution_id: int | None) -> str:
    """The result file (对账结果文件): a summary row for each side, then one row per difference."""
    run = _run_for(db, run_id, institution_id)
    with db.unit_of_work() as session:
        diffs = [_diff_out(d) for d in session.execute(select(ReconDifference).where(
            ReconDifference.run_id == run_id).order_by(ReconDifference.setl_id)).scalars()]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["run_id", "institution", "day", "scheme", "result", "stmt_rslt", "generated_at"])
    w.writerow([run.run_id, run.institution, run.day.isoformat(), run.scheme.value, run.result, run.stmt_rslt,
                clock.now().isoformat(timespec="seconds")])
    w.writerow(["side", "count", *AMOUNTS])
    for side, sums in (("hospital", run.hospital), ("centre", run.centre)):
        w.writerow([side, sums["count"], *(sums[k] for k in AMOUNTS)])
    w.writerow(["difference_id", "setl_id", "kind", *(f"hospital_{k}" for k in AMOUNTS),
                *(f"centre_{k}" for k in AMOUNTS), "status", "note", "resolved_by"])
    for d in diffs:
        w.writerow([d.id, d.setl_id, d.kind, *((d.hospital or {}).get(k, "") for k in AMOUNTS),
                    *((d.centre or {}).get(k, "") for k in AMOUNTS), d.status, d.note or "", d.resolved_by or ""])
    return out.getvalue()
