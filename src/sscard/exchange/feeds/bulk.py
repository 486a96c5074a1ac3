"""Bulk verification through the file ferry (docs/exchange.md "Bulk verification through the file ferry"): the
same question as ``POST /api/v1/exchange/bulk/verify`` — a list of ``id_number,name`` in, ``line,result,reason``
out — for a department on the far side of the isolation platform, which reaches sscard only by files.

The department seals a BULK1 plaintext in the feeds' FEEDX1 envelope (SM4 under its partner key, HMAC-SM3 file
MAC: ``sscard.exchange.feeds.formats``) and drops it in ``<root>/dept-<CODE>/bulk/in/``::

    H|BULK1|dept:<CODE>|file_id|item|count|created           created = YYYYMMDDHHMMSS, local time
    id_number,name                                         count lines, exactly as the API's body
    T|count|sha256                                         SHA-256 of every byte before the trailer

``sscard exchange-feeds bulk --department CODE`` answers each file under the department's agreement in force for
``item`` in mode ``bulk`` (one request against its daily quota, every person's access recorded as through the
API) with a BULKA1 plaintext sealed the same way in ``bulk/out/<file_id>.answer``::

    H|BULKA1|dept:<CODE>|file_id|item|status|code|count|created       status answered | rejected
    line,result,reason                                                 the API's answer file (answered only)
    T|count|sha256

then moves the request to ``bulk/done/``. A file that cannot be trusted or read whole — bad MAC, cut off, wrong
partner, counts or checksum that do not add up, not UTF-8, a file id already answered, no agreement — is refused
whole: moved to ``bulk/rejected/`` with ``<name>.reason.json``, a BULKA1 ``rejected`` answer with the stable code,
an audit record; no person is looked up and no quota is used. ``exchange_bulk_files`` holds one row per
(department, file id): a crash after the grant and before the answer leaves it ``started``; the next run answers
the same file again without counting the quota twice (the access records of lines answered before the crash may
then appear twice: each is a true use of the data)."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import delete, select

from sscard import clock
from sscard.access import Actor
from sscard.audit import service as audit
from sscard.db import Database, utcnow
from sscard.errors import DomainError
from sscard.exchange.errors import ExchangeDepartmentUnknown
from sscard.exchange.feeds import formats
from sscard.exchange.feeds.errors import (
    FeedChecksum,
    FeedDuplicate,
    FeedEncoding,
    FeedMalformed,
    FeedRejected,
    FeedTruncated,
)
from sscard.exchange.feeds.spool import DEFAULT_ROOT, SPOOL_ENV, move_into, reject_into
from sscard.exchange.keys import department_actor
from sscard.exchange.models import ExchangeBulkFile, ExchangeDepartment
from sscard.exchange.serving import bulk_answer, grant_for_department
from sscard.kms import partners
from sscard.kms.partners import PartnerKeys

REQUEST, ANSWER = "BULK1", "BULKA1"
MAX_LINES = 1_000_000
_CODE_RE = re.compile(r"[A-Z0-9]{1,18}")
_ITEM_RE = re.compile(r"[a-z_]{1,40}")
_COUNT_RE = re.compile(r"0|[1-9][0-9]{0,6}")
_CREATED_RE = re.compile(r"[0-9]{14}")
_SHA_RE = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class BulkRequest:
    partner: str
    file_id: str
    item: str
    lines: list[str]
    sha256: str  # of the whole envelope as received


class BulkFileOut(BaseModel):
    file: str
    file_id: str | None
    status: str  # answered | rejected
    code: str = ""
    lines: int = 0
    agreement: str | None = None
    answer: str | None = None  # the answer file's name in bulk/out/


class BulkRunOut(BaseModel):
    department: str
    answered: list[BulkFileOut]
    rejected: list[BulkFileOut]


@dataclass(frozen=True, slots=True)
class BulkSpool:
    department: str
    inbox: Path
    outbox: Path
    done: Path
    rejected: Path

    @property
    def partner(self) -> str:
        return f"dept:{self.department}"

    @classmethod
    def under(cls, department: str, root: str | Path | None = None) -> BulkSpool:
        if not _CODE_RE.fullmatch(department):
            raise FeedMalformed(f"{department[:20]!r} is not a department code (A–Z, 0–9, at most 18)")
        base = Path(root or os.environ.get(SPOOL_ENV) or DEFAULT_ROOT) / f"dept-{department}" / "bulk"
        return cls(department, base / "in", base / "out", base / "done", base / "rejected")

    def make(self) -> BulkSpool:
        for d in (self.inbox, self.outbox, self.done, self.rejected):
            d.mkdir(parents=True, exist_ok=True)
        return self


# ---------------------------------------------------------------------------------------------------- formats


def request_plain(partner: str, file_id: str, item: str, lines: list[str], created: str | None = None) -> bytes:
    """A BULK1 plaintext (what a department builds; the tests and the shipped example use it)."""
    stamp = created or clock.now().astimezone(clock.local_zone()).strftime("%Y%m%d%H%M%S")
    body = "".join(f"{line}\n" for line in lines)
    data = f"H|{REQUEST}|{partner}|{file_id}|{item}|{len(lines)}|{stamp}\n".encode("ascii") + body.encode("utf-8")
    return data + f"T|{len(lines)}|{hashlib.sha256(data).hexdigest()}\n".encode("ascii")


def seal_request(plain: bytes, keys: PartnerKeys | None = None, iv: bytes | None = None) -> bytes:
    """The FEEDX1 envelope of a BULK1 plaintext under its partner's current key (``iv`` fixed only for examples)."""
    partner, file_id, _, _ = _head(plain.split(b"\n", 1)[0], REQUEST, 7)
    return formats.seal_bytes(plain, partner, file_id, 1, keys, iv)


def _head(raw: bytes, magic: str, fields: int) -> tuple[str, str, str, int]:
    try:
        head = raw.decode("ascii").split("|")
    except UnicodeDecodeError:
        raise FeedMalformed("the header is ASCII") from None
    if len(head) != fields or head[0] != "H" or head[1] != magic:
        raise FeedMalformed(f"the first line is not a {magic} header")
    partner, file_id, item, count = head[2], head[3], head[4], head[5]
    formats.check_partner(partner)
    if not (formats.FILE_ID_RE.fullmatch(file_id) and _ITEM_RE.fullmatch(item) and _COUNT_RE.fullmatch(count)):
        raise FeedMalformed("the header's file id, item or count is not in its form")
    if magic == REQUEST and not _CREATED_RE.fullmatch(head[6]):
        raise FeedMalformed("the header's creation time is YYYYMMDDHHMMSS")
    return partner, file_id, item, int(count)


def parse_request(plain: bytes) -> tuple[str, str, str, list[str]]:
    """Check a BULK1 plaintext whole: (partner, file id, item, the lines). Every defect is a ``FeedRejected``."""
    if not plain.endswith(b"\n"):
        raise FeedTruncated("the file does not end with its trailer line")
    first, _, rest = plain.partition(b"\n")
    partner, file_id, item, count = _head(first, REQUEST, 7)
    if count > MAX_LINES:
        raise FeedMalformed(f"{count} lines, at most {MAX_LINES}")
    cut = plain.rstrip(b"\n").rfind(b"\n")
    trailer = plain[cut + 1:-1]
    if not trailer.startswith(b"T|"):
        raise FeedTruncated("the trailer is missing")
    parts = trailer.split(b"|")
    if len(parts) != 3 or parts[1].decode("ascii", "replace") != str(count):
        raise FeedTruncated(f"the trailer does not confirm the header's {count} lines")
    digest = parts[2].decode("ascii", "replace")
    if not _SHA_RE.fullmatch(digest):
        raise FeedMalformed("the trailer's checksum is not 64 lower-case hex digits")
    if hashlib.sha256(plain[:cut + 1]).hexdigest() != digest:
        raise FeedChecksum("the SHA-256 of the file does not match its trailer")
    try:
        body = rest[:len(rest) - len(trailer) - 1].decode("utf-8")
    except UnicodeDecodeError:
        raise FeedEncoding("the lines are not UTF-8") from None
    lines = body.split("\n")[:-1] if body else []
    if len(lines) != count:
        raise FeedTruncated(f"{len(lines)} lines, the header says {count}")
    if any("\r" in line for line in lines):
        raise FeedMalformed("lines end with LF only")
    return partner, file_id, item, lines


def read_request(data: bytes, partner: str, keys: PartnerKeys | None = None) -> BulkRequest:
    """A whole envelope from ``partner`` checked (MAC, then decryption) and its BULK1 plaintext parsed; the
    plaintext's partner and file id must be the envelope's."""
    env, plain = formats.open_envelope(data, partner, keys)
    named, file_id, item, lines = parse_request(plain)
    if (named, file_id) != (env.partner, env.file_id):
        raise FeedMalformed("the plaintext's header does not match its envelope (partner, file id)")
    return BulkRequest(partner, file_id, item, lines, hashlib.sha256(data).hexdigest())


def answer_plain(partner: str, file_id: str, item: str, status: str, code: str, answer: str, count: int) -> bytes:
    stamp = clock.now().astimezone(clock.local_zone()).strftime("%Y%m%d%H%M%S")
    safe_id = file_id if formats.FILE_ID_RE.fullmatch(file_id) else "-"
    safe_item = item if _ITEM_RE.fullmatch(item) else "-"
    data = (f"H|{ANSWER}|{partner}|{safe_id}|{safe_item}|{status}|{code}|{count}|{stamp}\n".encode("ascii")
            + answer.encode("utf-8"))
    return data + f"T|{count}|{hashlib.sha256(data).hexdigest()}\n".encode("ascii")


def read_answer(data: bytes, partner: str, keys: PartnerKeys | None = None) -> tuple[str, str, list[str]]:
    """A BULKA1 answer opened (what the department does): (status, code, the answer's lines)."""
    _, plain = formats.open_envelope(data, partner, keys)
    first, _, rest = plain.partition(b"\n")
    head = first.decode("ascii").split("|")
    if len(head) != 9 or head[:2] != ["H", ANSWER]:
        raise FeedMalformed("not a BULKA1 answer")
    body = rest.decode("utf-8").split("\n")[:-1]
    return head[5], head[6], body[:-1]


# ------------------------------------------------------------------------------------------------------- runs


def run(db: Database, actor: Actor, spool: BulkSpool, keys: PartnerKeys | None = None) -> BulkRunOut:
    """Answer every file waiting in the department's bulk/in/, in name order (see the module's note)."""
    spool.make()
    ring = keys or partners.default_keys()
    answered: list[BulkFileOut] = []
    rejected: list[BulkFileOut] = []
    for path in sorted(p for p in spool.inbox.iterdir() if p.is_file() and not p.name.startswith(".")):
        data = path.read_bytes()
        try:
            request = read_request(data, spool.partner, ring)
            answered.append(_answer(db, spool, ring, path, request))
        except (FeedRejected, DomainError) as err:
            rejected.append(_refuse(db, actor, spool, ring, path, data, err))
    return BulkRunOut(department=spool.department, answered=answered, rejected=rejected)


def _department_id(db: Database, code: str) -> int | None:
    with db.unit_of_work() as session:
        return session.execute(select(ExchangeDepartment.id).where(ExchangeDepartment.code == code)).scalar()


def _begin(db: Database, department_id: int, request: BulkRequest) -> ExchangeBulkFile | None:
    """The file's row: None when it is new (inserted ``started`` now), the row when a crash left it started."""
    with db.unit_of_work() as session:
        row = session.execute(select(ExchangeBulkFile).where(ExchangeBulkFile.department_id == department_id,
                                                             ExchangeBulkFile.file_id == request.file_id)
                              .with_for_update()).scalar_one_or_none()
        if row is not None:
            if row.status == "answered" or row.sha256 != request.sha256:
                raise FeedDuplicate(f"file {request.file_id} was already received", file_id=request.file_id)
            session.expunge(row)
            return row
        session.add(ExchangeBulkFile(department_id=department_id, file_id=request.file_id, sha256=request.sha256,
                                     item_code=request.item, agreement_no="", line_count=len(request.lines),
                                     status="started"))
        return None


def _forget(db: Database, department_id: int, file_id: str) -> None:
    with db.unit_of_work() as session:
        session.execute(delete(ExchangeBulkFile).where(ExchangeBulkFile.department_id == department_id,
                                                       ExchangeBulkFile.file_id == file_id,
                                                       ExchangeBulkFile.status == "started"))


def _answer(db: Database, spool: BulkSpool, ring: PartnerKeys, path: Path, request: BulkRequest) -> BulkFileOut:
    department_id = _department_id(db, spool.department)
    if department_id is None:
        raise ExchangeDepartmentUnknown(spool.department)
    resumed = _begin(db, department_id, request)
    try:  # a resumed file was counted against the quota before the crash
        granted = grant_for_department(db, spool.department, request.item, units=0 if resumed else 1)
    except DomainError:
        if resumed is None:
            _forget(db, department_id, request.file_id)  # refused: the department may send it again
        raise
    answer = "".join(bulk_answer(db, granted, request.lines))
    plain = answer_plain(spool.partner, request.file_id, request.item, "answered", "", answer, len(request.lines))
    name = _write(spool, ring, request.file_id, plain, f"{request.file_id}.answer")
    with db.unit_of_work() as session:
        row = session.execute(select(ExchangeBulkFile).where(ExchangeBulkFile.department_id == department_id,
                                                             ExchangeBulkFile.file_id == request.file_id)
                              ).scalar_one()
        row.status, row.agreement_no, row.answered_at = "answered", granted.agreement_no, utcnow()
    move_into(path, spool.done)
    return BulkFileOut(file=path.name, file_id=request.file_id, status="answered", lines=len(request.lines),
                       agreement=granted.agreement_no, answer=name)


def _refuse(db: Database, actor: Actor, spool: BulkSpool, ring: PartnerKeys, path: Path, data: bytes,
            err: DomainError) -> BulkFileOut:
    env = formats.peek(data)
    file_id = env.file_id if env is not None and env.partner == spool.partner else None
    with db.unit_of_work() as session:
        audit.record(session, department_actor(spool.department), "exchange.bulk_refused", "exchange_bulk_file",
                     file_id or path.name[:40], None, {"code": err.code, "file": path.name[:100], "via": "spool",
                                                       "run_by": actor.username})
    plain = answer_plain(spool.partner, file_id or "-", "-", "rejected", err.code, "", 0)
    name = _write(spool, ring, file_id or "-", plain, f"{path.name}.rejected.answer")
    reject_into(path, spool.rejected, err)
    return BulkFileOut(file=path.name, file_id=file_id, status="rejected", code=err.code, answer=name)


def _write(spool: BulkSpool, ring: PartnerKeys, file_id: str, plain: bytes, name: str) -> str:
    sealed = formats.seal_bytes(plain, spool.partner, file_id if formats.FILE_ID_RE.fullmatch(file_id) else "-", 1,
                                ring)
    tmp = spool.outbox / f".{name}.tmp"
    tmp.write_bytes(sealed)
    os.replace(tmp, spool.outbox / name)
    return name

