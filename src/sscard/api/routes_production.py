"""/production and /stats/progress: collection imports, comparison exceptions, production batches and file
exchange with the banks and the card maker, programme progress. Thin: parse, authorise, call one service."""

from __future__ import annotations

import os
from pathlib import Path as FsPath
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, UploadFile
from fastapi.responses import Response

from sscard.api.deps import DB, CurrentActor
from sscard.kms import KeyManager, KeyStore, KmsError, Psam
from sscard.production import batches, progress
from sscard.production import service as production
from sscard.production.errors import KeysUnavailable
from sscard.production.progress import ProgressOut
from sscard.production.schemas import (
    BatchOut,
    ComparisonOut,
    CreateBatchesIn,
    ExceptionOut,
    HandOverIn,
    ImportOut,
    ResolveIn,
    ResolveOut,
    RowErrorOut,
)
from sscard.registry.regions import CITY_CODE

router = APIRouter(tags=["production"])
BatchNo = Annotated[str, Path(max_length=30)]
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ImportIdQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
MAX_UPLOAD = 512 * 1024 * 1024
FILE = "application/octet-stream"


def _read(upload: UploadFile) -> bytes:
    return upload.file.read(MAX_UPLOAD)


def _fmt(upload: UploadFile) -> str:
    return "parquet" if (upload.filename or "").lower().endswith(".parquet") else "csv"


def _psam(request: Request) -> Psam:
    """The bureau's PSAM for the city: from app.state.key_manager, else the keystore at SSCARD_KEYSTORE."""
    try:
        km: KeyManager | None = getattr(request.app.state, "key_manager", None)
        if km is None:
            km = KeyManager.from_settings(KeyStore(FsPath(os.environ.get("SSCARD_KEYSTORE", "var/keystore.json"))))
        return km.issue_psam(CITY_CODE)
    except (KmsError, ValueError, OSError) as exc:
        raise KeysUnavailable(str(exc)[:200]) from exc


@router.post("/production/imports/collection", response_model=ImportOut, status_code=201)
def import_collection(file: UploadFile, actor: CurrentActor, db: DB) -> ImportOut:
    """采集数据导入 (CSV or Parquet by file name); bad rows reported with row number and reason."""
    return production.import_collection(db, actor, _read(file), file.filename or "upload", _fmt(file))


@router.post("/production/imports/population", response_model=ImportOut, status_code=201)
def import_population(file: UploadFile, actor: CurrentActor, db: DB) -> ImportOut:
    """公安人口信息导入."""
    return production.import_population(db, actor, _read(file), file.filename or "upload", _fmt(file))


@router.get("/production/imports/{import_id}/errors", response_model=list[RowErrorOut])
def import_errors(import_id: RowId, actor: CurrentActor, db: DB) -> list[RowErrorOut]:
    return production.import_errors(db, actor, import_id)


@router.post("/production/comparisons", response_model=ComparisonOut)
def run_comparison(actor: CurrentActor, db: DB, import_id: ImportIdQuery = None) -> ComparisonOut:
    """比对: pending records against the population register; exceptions queued, clean records approved."""
    return production.run_comparison(db, actor, import_id)


@router.get("/production/exceptions", response_model=list[ExceptionOut])
def list_exceptions(actor: CurrentActor, db: DB, status: Annotated[str, Query(max_length=10)] = "open",
                    reason_code: Annotated[str | None, Query(max_length=40)] = None,
                    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
                    import_id: ImportIdQuery = None) -> list[ExceptionOut]:
    return production.list_exceptions(db, actor, status, reason_code, limit, offset, import_id)


@router.post("/production/exceptions/{exception_id}/resolve", response_model=ResolveOut)
def resolve_exception(exception_id: RowId, body: ResolveIn, actor: CurrentActor, db: DB) -> ResolveOut:
    """An operator's decision: take_register, accept (flags only), reject or send_back."""
    return production.resolve_exception(db, actor, exception_id, body.resolution)


@router.post("/production/batches", response_model=list[BatchOut], status_code=201)
def create_batches(body: CreateBatchesIn, actor: CurrentActor, db: DB) -> list[BatchOut]:
    return batches.create_batches(db, actor, body.max_per_batch)


@router.get("/production/batches", response_model=list[BatchOut])
def list_batches(actor: CurrentActor, db: DB, stage: Annotated[str | None, Query(max_length=16)] = None
                 ) -> list[BatchOut]:
    return batches.list_batches(db, actor, stage)


@router.get("/production/batches/{batch_no}", response_model=BatchOut)
def get_batch(batch_no: BatchNo, actor: CurrentActor, db: DB) -> BatchOut:
    return batches.get_batch(db, actor, batch_no)


@router.post("/production/batches/{batch_no}/bank-file", response_class=Response,
             responses={200: {"content": {FILE: {}}}})
def export_bank_file(batch_no: BatchNo, actor: CurrentActor, db: DB) -> Response:
    """开户报盘 (docs/production.md, type KH)."""
    return Response(batches.export_bank_file(db, actor, batch_no), media_type=FILE)


@router.post("/production/bank-returns", response_model=BatchOut)
def import_bank_return(file: UploadFile, actor: CurrentActor, db: DB) -> BatchOut:
    """开户回盘 (type KR): taken whole or refused whole."""
    return batches.import_bank_return(db, actor, _read(file))


@router.post("/production/batches/{batch_no}/maker-file", response_class=Response,
             responses={200: {"content": {FILE: {}}}})
def export_maker_file(batch_no: BatchNo, request: Request, actor: CurrentActor, db: DB) -> Response:
    """制卡数据 (type ZK), sensitive fields sealed for the card maker."""
    return Response(batches.export_maker_file(db, actor, batch_no, lambda: _psam(request)), media_type=FILE)


@router.post("/production/maker-returns", response_model=BatchOut)
def import_maker_return(file: UploadFile, actor: CurrentActor, db: DB) -> BatchOut:
    """制卡回盘 (type ZR)."""
    return batches.import_maker_return(db, actor, _read(file))


@router.post("/production/batches/{batch_no}/hand-over", response_model=BatchOut)
def hand_over(batch_no: BatchNo, body: HandOverIn, actor: CurrentActor, db: DB) -> BatchOut:
    return batches.hand_over(db, actor, batch_no, body.outlet_code)


@router.get("/stats/progress", response_model=ProgressOut)
def stats_progress(actor: CurrentActor, db: DB) -> ProgressOut:
    """Cards issued and active by division, bank and month against the 3 M / 4 M / 95% targets."""
    return progress.progress(db, actor)
