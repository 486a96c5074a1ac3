"""Streaming import of collection data (采集数据) and the public-security population extract (公安人口信息)
from CSV (UTF-8) or Parquet, with a Rich progress bar. Structural faults reject the whole file; a bad data row
is reported with its row number and reason and the rest goes on (the caller's transaction holds it all).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from sscard.production.errors import FileRejected
from sscard.registry.idnumber import upgrade_15

COLLECTION_COLUMNS = ("id_number", "name", "sex", "birth_date", "ethnicity", "region_code", "phone", "source",
                      "employer_uscc", "photo_ref")
POPULATION_COLUMNS = ("id_number", "name", "sex", "birth_date", "region_code", "living_status")
SOURCES = frozenset({"outlet", "employer", "community"})
CHUNK = 5000
_ID = re.compile(r"[0-9]{17}[0-9X]|[0-9]{15}")
_DATE = re.compile(r"([0-9]{4})-?([0-9]{2})-?([0-9]{2})")


@dataclass
class RowError:
    row_no: int
    code: str
    reason: str


@dataclass
class ImportResult:
    sha256: str = ""
    rows_total: int = 0
    rows_ok: int = 0
    errors: list[RowError] = field(default_factory=list)


class BadRow(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _Hashing(io.RawIOBase):
    """Reads through to ``inner`` and hashes what passes (the file's SHA-256 without a second read)."""

    def __init__(self, inner: IO[bytes]) -> None:
        self.inner = inner
        self.digest = hashlib.sha256()
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        self.digest.update(data)
        self.read_bytes += len(data)
        buffer[: len(data)] = data
        return len(data)


# ------------------------------------------------------------------------------------------------ fields


def _text(row: dict[str, Any], name: str, required: bool = True, max_len: int = 50) -> str:
    raw = row.get(name)
    value = "" if raw is None else str(raw).strip()
    if required and not value:
        raise BadRow("FIELD_MISSING", f"{name} is empty")
    if len(value) > max_len:
        raise BadRow("FIELD_TOO_LONG", f"{name} has {len(value)} characters (at most {max_len})")
    return value


def _id_number(row: dict[str, Any]) -> str:
    value = _text(row, "id_number", max_len=18).upper()
    if not _ID.fullmatch(value):
        raise BadRow("ID_NUMBER_MALFORMED", "id_number must be 18 characters (17 digits + digit/X) or 15 digits")
    return upgrade_15(value) if len(value) == 15 else value


def _date(row: dict[str, Any], name: str) -> dt.date:
    raw = row.get(name)
    if isinstance(raw, dt.date):
        return raw
    match = _DATE.fullmatch(_text(row, name, max_len=10))
    if match is None:
        raise BadRow("DATE_INVALID", f"{name} is not YYYYMMDD or YYYY-MM-DD")
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError as exc:
        raise BadRow("DATE_INVALID", f"{name} is not a calendar date") from exc


def _code(row: dict[str, Any], name: str, allowed: str, default: str | None = None) -> str:
    value = _text(row, name, required=default is None, max_len=10) or (default or "")
    if not re.fullmatch(allowed, value):
        raise BadRow(f"{name.upper()}_INVALID", f"{name} {value[:10]!r} is not {allowed}")
    return value


def collection_row(row: dict[str, Any]) -> dict[str, Any]:
    """One collection row → the values stored (raises BadRow). ID consistency is the comparison's job."""
    source = _text(row, "source", required=False, max_len=10) or "outlet"
    if source not in SOURCES:
        raise BadRow("SOURCE_INVALID", f"source must be one of {sorted(SOURCES)}")
    return {
        "id_number": _id_number(row), "name": _text(row, "name"), "sex": _code(row, "sex", "[12]"),
        "birth_date": _date(row, "birth_date"), "ethnicity": _code(row, "ethnicity", "[0-9]{2}", "01"),
        "region_code": _code(row, "region_code", "[0-9]{6}"),
        "phone": _text(row, "phone", required=False, max_len=20) or None, "source": source,
        "employer_uscc": _text(row, "employer_uscc", required=False, max_len=18) or None,
        "photo_ref": _text(row, "photo_ref", required=False, max_len=200) or None,
    }


def population_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id_number": _id_number(row), "name": _text(row, "name"), "sex": _code(row, "sex", "[12]"),
        "birth_date": _date(row, "birth_date"), "region_code": _code(row, "region_code", "[0-9]{6}"),
        "living_status": _code(row, "living_status", "[1-5]"),
    }


# ------------------------------------------------------------------------------------------------ readers


def _progress(total: int | None, label: str, show: bool) -> Progress:
    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    disable=not show, transient=True)


def _csv_rows(stream: _Hashing, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, Any] | BadRow]]:
    text = io.TextIOWrapper(io.BufferedReader(stream), encoding="utf-8-sig", errors="strict", newline="")
    reader = csv.reader(text, strict=True)  # a broken quote means the row boundaries are unknown
    try:
        header = next(reader, None)
        if header is None:
            raise FileRejected("the file is empty: a header line is required")
        names = [h.strip() for h in header]
        missing = [c for c in columns if c not in names and c in _REQUIRED]
        if missing or len(set(names)) != len(names):
            raise FileRejected(f"header must name the columns {list(columns)}; missing {missing}")
        seen: set[tuple[str, ...]] = set()
        for values in reader:
            row_no = reader.line_num
            if not values or values == [""]:
                continue
            if len(values) != len(names):
                yield row_no, BadRow("FIELD_COUNT", f"{len(values)} fields, the header has {len(names)}")
                continue
            key = tuple(values)
            if key in seen:
                yield row_no, BadRow("DUPLICATE_LINE", "the same line appears earlier in the file")
                continue
            seen.add(key)
            yield row_no, dict(zip(names, values, strict=True))
    except UnicodeDecodeError as exc:
        raise FileRejected(f"not UTF-8 text near line {reader.line_num + 1}") from exc
    except csv.Error as exc:
        raise FileRejected(f"not CSV near line {reader.line_num}: {exc}") from exc


_REQUIRED = frozenset({"id_number", "name", "sex", "birth_date", "region_code", "living_status"})


def _parquet_rows(path_or_bytes: Path | bytes, columns: tuple[str, ...]
                  ) -> Iterator[tuple[int, dict[str, Any] | BadRow]]:
    source: Any = pa.BufferReader(path_or_bytes) if isinstance(path_or_bytes, bytes) else str(path_or_bytes)
    try:
        parquet = pq.ParquetFile(source)
        names = parquet.schema_arrow.names
        missing = [c for c in columns if c not in names and c in _REQUIRED]
        if missing:
            raise FileRejected(f"Parquet columns missing: {missing}")
        wanted = [c for c in columns if c in names]
        row_no = 1  # row 1 is the header in CSV terms; data rows count from 2 in both formats
        seen: set[tuple[Any, ...]] = set()
        for batch in parquet.iter_batches(batch_size=CHUNK, columns=wanted):
            for row in batch.to_pylist():
                row_no += 1
                key = tuple(row.values())
                if key in seen:
                    yield row_no, BadRow("DUPLICATE_LINE", "the same row appears earlier in the file")
                    continue
                seen.add(key)
                yield row_no, row
    except (pa.ArrowException, OSError) as exc:
        raise FileRejected(f"not a readable Parquet file: {str(exc)[:120]}") from exc


def read(source: Path | bytes, kind: str, sink: Callable[[list[dict[str, Any]]], None], fmt: str | None = None,
         show_progress: bool = False) -> ImportResult:
    """Stream ``source`` in chunks to ``sink``; bad rows collected with row numbers. Returns the totals."""
    columns, convert = ((COLLECTION_COLUMNS, collection_row) if kind == "collection"
                        else (POPULATION_COLUMNS, population_row))
    fmt = fmt or (source.suffix.lstrip(".").lower() if isinstance(source, Path) else "csv")
    if fmt not in ("csv", "parquet"):
        raise FileRejected(f"unknown format {fmt!r}: csv or parquet")
    result = ImportResult()
    raw: IO[bytes] = open(source, "rb") if isinstance(source, Path) else io.BytesIO(source)  # noqa: SIM115
    size = source.stat().st_size if isinstance(source, Path) else len(source)
    try:
        hashing = _Hashing(raw)
        if fmt == "csv":
            rows = _csv_rows(hashing, columns)
        else:
            data = source.read_bytes() if isinstance(source, Path) else source
            hashing.digest.update(data)
            rows = _parquet_rows(source, columns)
        chunk: list[dict[str, Any]] = []
        with _progress(size, f"import {kind}", show_progress) as bar:
            task = bar.add_task(kind, total=size)
            for row_no, row in rows:
                result.rows_total += 1
                try:
                    if isinstance(row, BadRow):
                        raise row
                    values = convert(row)
                except BadRow as bad:
                    result.errors.append(RowError(row_no, bad.code, bad.reason))
                    continue
                values["row_no"] = row_no
                chunk.append(values)
                if len(chunk) >= CHUNK:
                    sink(chunk)
                    result.rows_ok += len(chunk)
                    chunk = []
                    bar.update(task, completed=hashing.read_bytes if fmt == "csv" else size)
            if chunk:
                sink(chunk)
                result.rows_ok += len(chunk)
            bar.update(task, completed=size)
    finally:
        raw.close()
    result.sha256 = hashing.digest.hexdigest()
    return result
