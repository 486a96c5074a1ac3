"""Reading the settlement inputs from files: policy (JSON), catalogue (CSV or JSON), bill (JSON).

Every failure becomes a DomainError with a stable code (POLICY_INVALID, CATALOGUE_INVALID, BILL_INVALID),
naming the file and the first problems found — never a traceback. Formats: docs/settlement.md.
"""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from sscard.errors import DomainError
from sscard.medical.catalogue import Catalogue, CatalogueItem
from sscard.medical.engine_schemas import BillFile
from sscard.medical.errors import BillInvalid, CatalogueInvalid, PolicyInvalid
from sscard.medical.policy import PolicyBook

EXAMPLE_POLICY = "policy-example.json"
EXAMPLE_CATALOGUE = "catalogue-example.csv"
CATALOGUE_COLUMNS = ("code", "name", "item_type", "class", "price_cap_fen", "yi_self_pay_bp", "effective_from",
                     "effective_to")
M = TypeVar("M", bound=BaseModel)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CLASS_ALIASES = {"甲": "甲", "乙": "乙", "丙": "丙", "A": "甲", "B": "乙", "C": "丙"}


# The most a file of each kind may hold (a bill or a policy is a few kB; a full catalogue tens of MB): reading
# stops there, so /dev/zero or a huge file is refused without filling memory.
MAX_BILL_BYTES = 4 * 1024 * 1024
MAX_POLICY_BYTES = 4 * 1024 * 1024
MAX_CATALOGUE_BYTES = 64 * 1024 * 1024


def read_input(path: Path, error: type[DomainError], limit: int) -> str:
    """The UTF-8 text of ``path``, reading at most ``limit`` bytes; any failure is ``error`` (exit 2 in the CLI)."""
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        raise error(f"cannot read {path}: {exc.strerror or exc}", file=str(path)) from None
    if len(data) > limit:
        raise error(f"{path} is larger than {limit // (1024 * 1024)} MiB", file=str(path))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"{path} is not UTF-8 text (byte {exc.start})", file=str(path)) from None


def _json(text: str, source: str, error: type[DomainError]) -> Any:
    try:
        return json.loads(text, parse_float=Decimal)  # exact decimals, never binary floats
    except json.JSONDecodeError as exc:
        raise error(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
                    file=source) from None
    except (ValueError, RecursionError) as exc:  # an integer of thousands of digits; nesting too deep
        raise error(f"{source}: not acceptable JSON ({str(exc)[:100]})", file=source) from None


def _validation_summary(exc: ValidationError, limit: int = 3) -> str:
    parts = []
    for problem in exc.errors()[:limit]:
        where = ".".join(str(p) for p in problem["loc"]) or "(top level)"
        parts.append(f"{where}: {problem['msg']}")
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def _validate(model: type[M], data: Any, source: str, error: type[DomainError]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error(f"{source}: {_validation_summary(exc)}", file=source) from None


def parse_policy(text: str, source: str = "<policy>") -> PolicyBook:
    return _validate(PolicyBook, _json(text, source, PolicyInvalid), source, PolicyInvalid)


def load_policy(path: Path | None = None) -> PolicyBook:
    """The policy file at ``path``, or the shipped example policy (illustrative values only)."""
    if path is None:
        return parse_policy(_example_text(EXAMPLE_POLICY), EXAMPLE_POLICY)
    return parse_policy(read_input(path, PolicyInvalid, MAX_POLICY_BYTES), str(path))


def parse_bill(text: str, source: str = "<bill>") -> BillFile:
    return _validate(BillFile, _json(text, source, BillInvalid), source, BillInvalid)


def load_bill(path: Path) -> BillFile:
    return parse_bill(read_input(path, BillInvalid, MAX_BILL_BYTES), str(path))


def parse_catalogue_csv(text: str, source: str = "<catalogue>") -> Catalogue:
    """CSV (UTF-8) with a header row of ``CATALOGUE_COLUMNS``, optionally after ``#`` comment lines; an empty
    cell means "none" (no price cap, the policy's 乙类 rate, open-ended). Any malformed row (a line break or
    control character inside an unquoted cell, too many cells, a cell too long) refuses the whole file:
    CATALOGUE_INVALID, with the line."""
    lines = text.splitlines(keepends=True)
    comments = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
    reader = csv.DictReader(io.StringIO("".join(lines[comments:])))  # rows end at \n (or \r\n) only
    try:
        header = tuple(reader.fieldnames or ())
        missing = [c for c in CATALOGUE_COLUMNS if c not in header]
        if missing:
            raise CatalogueInvalid(f"{source}: missing column(s) {', '.join(missing)}", file=source)
        items = [item for row in reader if (item := _catalogue_row(row, comments + reader.line_num, source))]
    except csv.Error as exc:
        raise CatalogueInvalid(f"{source} line {comments + reader.line_num + 1}: malformed CSV ({exc})",
                               file=source) from None
    return _catalogue(items, source)


def _catalogue_row(row: dict[str | Any, Any], row_no: int, source: str) -> CatalogueItem | None:
    where = f"{source} line {row_no}"
    if None in row:  # DictReader's place for the cells beyond the header
        raise CatalogueInvalid(f"{where}: more cells than columns", file=source)
    cells = {k: v or "" for k, v in row.items()}
    if not any(v.strip() for v in cells.values()):
        return None
    if any(_CONTROL.search(v) for v in cells.values()):
        raise CatalogueInvalid(f"{where}: a control character (line break, tab, NUL…) inside a cell", file=source)
    data: dict[str, Any] = {k: cells.get(k, "").strip() for k in CATALOGUE_COLUMNS}
    data["catalogue_class"] = _CLASS_ALIASES.get(data.pop("class"), "?")
    for key in ("price_cap_fen", "yi_self_pay_bp"):
        data[key] = _int_cell(data[key], f"{where} {key}")
    if not data["effective_from"]:
        del data["effective_from"]
    data["effective_to"] = data["effective_to"] or None
    return _validate(CatalogueItem, data, where, CatalogueInvalid)


def parse_catalogue_json(text: str, source: str = "<catalogue>") -> Catalogue:
    """JSON: {"items": [CatalogueItem, ...]} (field names as in the model, ``catalogue_class`` 甲/乙/丙)."""
    data = _json(text, source, CatalogueInvalid)
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise CatalogueInvalid(f"{source}: expected an object with an \"items\" list", file=source)
    items = [_validate(CatalogueItem, row, f"{source} item {i + 1}", CatalogueInvalid)
             for i, row in enumerate(data["items"])]
    return _catalogue(items, source)


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The catalogue at ``path`` (.csv or .json), or the shipped example catalogue."""
    if path is None:
        return parse_catalogue_csv(_example_text(EXAMPLE_CATALOGUE), EXAMPLE_CATALOGUE)
    text = read_input(path, CatalogueInvalid, MAX_CATALOGUE_BYTES)
    if path.suffix.lower() == ".json":
        return parse_catalogue_json(text, str(path))
    return parse_catalogue_csv(text, str(path))


def _catalogue(items: list[CatalogueItem], source: str) -> Catalogue:
    try:
        return Catalogue(items)
    except ValueError as exc:
        raise CatalogueInvalid(f"{source}: {exc}", file=source) from None


def _int_cell(text: str, where: str) -> int | None:
    if not text:
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 19):  # beyond 19 digits: past any BIGINT
        raise CatalogueInvalid(f"{where}: {text!r} is not a whole non-negative number")
    return int(text)


def _example_text(name: str) -> str:
    return resources.files("sscard.medical").joinpath("data", name).read_text(encoding="utf-8")
