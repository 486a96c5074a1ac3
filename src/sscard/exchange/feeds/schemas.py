"""Pydantic shapes of the feeds (CLI and page out)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict


class ImportOut(BaseModel):
    file_pk: int
    partner: str
    kind: str
    file_id: str
    seq: int
    line_count: int
    applied: int
    skipped: int
    exceptions: int
    replayed: bool = False


class FileOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    partner: str
    kind: str | None
    file_id: str | None
    seq: int | None
    filename: str
    status: str
    code: str | None
    reason: str | None
    line_count: int
    applied: int
    skipped: int
    exceptions: int
    finished: bool
    received_at: dt.datetime


class CaseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    queue: str
    reason_code: str
    person_id: int | None
    file_pk: int
    line_no: int
    detail: str
    amount_fen: int | None
    status: str
    resolution: str | None
    person_name: str | None = None  # filled by ``cases`` for the supervisor's page
    id_masked: str | None = None


class SpoolOut(BaseModel):
    partner: str
    imported: list[ImportOut]
    rejected: list[FileOut]
    finished_after_crash: int
