"""/treasury: the funds' bank accounts (docs/treasury.md) for the fund accountant (基金会计, the maker) and the
supervisor (the checker) — accounts and positions, term deposits, the movements between accounts proposed by one
operator and approved by another, collections and payments through the banks, statement import (camt.053 or
SSCSV1 as the body), the reconciliation queue and its resolution, the daily balance checks and the monthly
余额调节表 as JSON, PDF and CSV. Each operation calls one function of ``sscard.treasury.service``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from sscard.api.deps import DB, CurrentActor
from sscard.ledger.schemas import TransferOut
from sscard.treasury import report, service
from sscard.treasury.schemas import (
    AccountIn,
    AccountOut,
    BalanceCheckOut,
    BookIn,
    ExplainIn,
    FlowIn,
    ImportOut,
    InstructionOut,
    MatchIn,
    MaturityIn,
    MoneyIn,
    PlacementIn,
    PositionOut,
    QueueItemOut,
    ReconciliationOut,
    RejectIn,
    Rematched,
    StatementOut,
)
from sscard.treasury.statements import MAX_BYTES

router = APIRouter(prefix="/treasury", tags=["treasury"])
AccountCode = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Z0-9][A-Z0-9_.\-]*$")]
Month = Annotated[str, Path(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", examples=["2026-01"])]
Bank = Annotated[str, Query(min_length=1, max_length=10, pattern=r"^[A-Z0-9]+$",
                            description="the bank whose key must have made the statement's MAC")]
Language = Annotated[str, Query(pattern="^(zh_CN|en)$")]
FUND = Annotated[str | None, Query(pattern="^(pension|medical|unemployment|work_injury|employment)$")]


@router.get("/accounts", response_model=list[AccountOut])
def accounts(actor: CurrentActor, db: DB, fund: FUND = None) -> list[AccountOut]:
    """Every fund account (收入户, 支出户, 财政专户, term deposits with their terms) and its ledger balance."""
    return [AccountOut.model_validate(a) for a in service.list_accounts(db, actor, fund)]


@router.post("/accounts", response_model=AccountOut, status_code=201)
def open_account(body: AccountIn, actor: CurrentActor, db: DB) -> AccountOut:
    """Register a fund's account at a bank (administrators) and open its mirror in the ledger."""
    return AccountOut.model_validate(service.open_account(db, actor, body.code, body.fund, body.bank_code,
                                                          body.kind, body.account_no, body.name, body.opened_on))


@router.get("/positions", response_model=list[PositionOut])
def positions(actor: CurrentActor, db: DB) -> list[PositionOut]:
    """Each fund's money at the banks by kind of account, and the interest its deposits earned."""
    return [PositionOut.model_validate(p) for p in service.positions(db, actor)]


@router.post("/collections", response_model=TransferOut, status_code=201)
def collection(body: MoneyIn, actor: CurrentActor, db: DB) -> TransferOut:
    """收款 on a 收入户; a retry with the same reference moves nothing twice."""
    return service.record_collection(db, actor, body.account, body.amount, body.reference)


@router.post("/payments", response_model=TransferOut, status_code=201)
def payment(body: MoneyIn, actor: CurrentActor, db: DB) -> TransferOut:
    """付款 from a 支出户; a retry with the same reference moves nothing twice."""
    return service.record_payment(db, actor, body.account, body.amount, body.reference)


@router.post("/instructions", response_model=InstructionOut, status_code=201)
def propose(body: FlowIn, actor: CurrentActor, db: DB) -> InstructionOut:
    """经办: propose a sweep or a 用款计划 transfer; nothing moves until another operator approves it."""
    return InstructionOut.model_validate(service.propose(db, actor, body.kind, body.from_code, body.to_code,
                                                         body.amount, body.request_key, body.plan_no, body.memo))


@router.post("/deposits", response_model=InstructionOut, status_code=201)
def placement(body: PlacementIn, actor: CurrentActor, db: DB) -> InstructionOut:
    """经办: place a term deposit won by tender from the 财政专户 (an instruction awaiting approval)."""
    return InstructionOut.model_validate(service.propose_placement(
        db, actor, body.request_key, body.special_code, body.deposit_code, body.certificate_no, body.tender_ref,
        body.principal, body.rate_bp, body.term_months, body.placed_on, body.bank_code))


@router.post("/deposits/{code}/maturity", response_model=InstructionOut, status_code=201)
def maturity(code: AccountCode, body: MaturityIn, actor: CurrentActor, db: DB) -> InstructionOut:
    """经办: take a matured deposit back to its 财政专户 with its interest (an instruction awaiting approval)."""
    return InstructionOut.model_validate(service.propose_maturity(db, actor, body.request_key, code))


@router.get("/instructions", response_model=list[InstructionOut])
def instructions(actor: CurrentActor, db: DB,
                 status: Annotated[str | None, Query(pattern="^(proposed|approved|rejected)$")] = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[InstructionOut]:
    return [InstructionOut.model_validate(i) for i in service.list_instructions(db, actor, status, limit)]


@router.post("/instructions/{instruction_id}/approve", response_model=InstructionOut)
def approve(instruction_id: Annotated[int, Path(ge=1, le=2**62)], actor: CurrentActor, db: DB) -> InstructionOut:
    """复核: approve another operator's instruction; the money moves now (TREASURY_SAME_OPERATOR for the maker)."""
    return InstructionOut.model_validate(service.approve(db, actor, instruction_id))


@router.post("/instructions/{instruction_id}/reject", response_model=InstructionOut)
def reject(instruction_id: Annotated[int, Path(ge=1, le=2**62)], body: RejectIn, actor: CurrentActor,
           db: DB) -> InstructionOut:
    """复核: send another operator's instruction back; nothing moves."""
    return InstructionOut.model_validate(service.reject(db, actor, instruction_id, body.reason))


@router.post("/statements", response_model=ImportOut, status_code=201,
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/xml": {"schema": {"type": "string"}}, "text/csv": {"schema": {"type": "string"}}},
                 "description": "the signed statement as the bank sent it: camt.053 XML or SSCSV1, then its "
                                "SSMAC line"}})
async def import_statement(request: Request, actor: CurrentActor, db: DB, bank: Bank) -> ImportOut:
    """Import a signed statement wholly or not at all: lines matched to the ledger, the rest queued, every day
    of its period checked."""
    raw = await request.body()
    result = await run_in_threadpool(service.import_statement, db, actor, raw[:MAX_BYTES + 1], bank)
    return ImportOut.model_validate(result)


@router.get("/statements", response_model=list[StatementOut])
def statements(actor: CurrentActor, db: DB, account: Annotated[str | None, Query(max_length=40)] = None
               ) -> list[StatementOut]:
    return [StatementOut.of(s) for s in service.statements_of(db, actor, account)]


@router.get("/queue", response_model=list[QueueItemOut])
def queue(actor: CurrentActor, db: DB, account: Annotated[str | None, Query(max_length=40)] = None,
          limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> list[QueueItemOut]:
    """The reconciliation queue: statement lines no ledger transfer matched, with suggested transfers."""
    return [QueueItemOut.model_validate(q) for q in service.queue(db, actor, account, limit)]


LineId = Annotated[int, Path(ge=1, le=2**62)]


@router.post("/queue/{line_id}/match", status_code=204)
def match(line_id: LineId, body: MatchIn, actor: CurrentActor, db: DB) -> Response:
    """Match a queued line to a ledger transfer by hand (a suggestion or any transfer that fits)."""
    service.resolve_match(db, actor, line_id, body.transfer_id, body.note)
    return Response(status_code=204)


@router.post("/queue/{line_id}/explain", status_code=204)
def explain(line_id: LineId, body: ExplainIn, actor: CurrentActor, db: DB) -> Response:
    """Close a queued line with an explanation and no ledger entry (it stays an explained open item)."""
    service.resolve_explain(db, actor, line_id, body.note)
    return Response(status_code=204)


@router.post("/queue/{line_id}/book", response_model=TransferOut, status_code=201)
def book(line_id: LineId, body: BookIn, actor: CurrentActor, db: DB) -> TransferOut:
    """Book what the bank did alone (a charge or interest) into the ledger and match the line to it."""
    return service.resolve_book(db, actor, line_id, body.as_, body.note)


@router.post("/accounts/{code}/rematch", response_model=Rematched)
def rematch(code: AccountCode, actor: CurrentActor, db: DB) -> Rematched:
    """Match the account's queued lines again against the ledger (transfers booked since)."""
    return Rematched(matched=service.rematch(db, actor, code))


@router.get("/checks", response_model=list[BalanceCheckOut])
def checks(actor: CurrentActor, db: DB, account: Annotated[str | None, Query(max_length=40)] = None,
           status: Annotated[str | None, Query(pattern="^(ok|explained|unexplained)$")] = None,
           limit: Annotated[int, Query(ge=1, le=5000)] = 400) -> list[BalanceCheckOut]:
    """The daily balance checks: statement closing balance against the ledger, or the difference explained."""
    return [BalanceCheckOut.model_validate(c) for c in service.balance_checks(db, actor, account, status, limit)]


@router.get("/accounts/{code}/reconciliation/{month}", response_model=ReconciliationOut)
def reconciliation(code: AccountCode, month: Month, actor: CurrentActor, db: DB) -> ReconciliationOut:
    """The month's 余额调节表 of one account."""
    return ReconciliationOut.model_validate(service.reconciliation(db, actor, code, month))


@router.get("/accounts/{code}/reconciliation/{month}/pdf", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}, "description": "the 余额调节表 (A4)"}})
def reconciliation_pdf(code: AccountCode, month: Month, actor: CurrentActor, db: DB,
                       language: Language = "zh_CN") -> Response:
    found = service.reconciliation(db, actor, code, month)
    return Response(report.reconciliation_pdf(found, language), media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="recon-{code}-{month}.pdf"'})


@router.get("/accounts/{code}/reconciliation/{month}/csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "the 余额调节表, UTF-8 with a BOM"}})
def reconciliation_csv(code: AccountCode, month: Month, actor: CurrentActor, db: DB,
                       language: Language = "zh_CN") -> Response:
    found = service.reconciliation(db, actor, code, month)
    return Response(report.reconciliation_csv(found, language), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="recon-{code}-{month}.csv"'})
