"""The file ferry's spool directories, one set per partner (docs/exchange-feeds.md "Spool"):

    <root>/<partner with ':' as '-'>/in/         the department drops envelopes here (write, then rename in)
    <root>/<partner with ':' as '-'>/out/        our answers (FEEDX1 envelopes of a FEEDA1 answer)
    <root>/<partner with ':' as '-'>/done/       imported files, moved out of in/
    <root>/<partner with ':' as '-'>/rejected/   refused files, each with <name>.reason.json

``root`` is ``SSCARD_FEED_SPOOL`` (default ``var/feeds``) or given; each directory can be given on its own.
A run takes the files of in/ (names not starting with '.') in the order of the sequence numbers their envelopes
name; each file is imported in one transaction, then its answer written and the file moved. A crash between the
commit and the move leaves the file in in/ with an unfinished record: the next run recognises it by its content
and only writes the answer and moves it — nothing is applied twice.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sscard import clock
from sscard.access import Actor
from sscard.db import Database
from sscard.errors import DomainError
from sscard.exchange.feeds import formats, service
from sscard.exchange.feeds.errors import FeedRejected
from sscard.exchange.feeds.schemas import FileOut, ImportOut, SpoolOut
from sscard.kms import partners
from sscard.kms.partners import PartnerKeys

SPOOL_ENV = "SSCARD_FEED_SPOOL"
DEFAULT_ROOT = Path("var") / "feeds"
CRASH_ENV = "SSCARD_FEED_CRASH_AT"
ANSWER = "FEEDA1"


@dataclass(frozen=True, slots=True)
class Spool:
    partner: str
    inbox: Path
    outbox: Path
    done: Path
    rejected: Path

    @classmethod
    def under(cls, partner: str, root: str | Path | None = None) -> Spool:
        formats.check_partner(partner)
        base = Path(root or os.environ.get(SPOOL_ENV) or DEFAULT_ROOT) / partner.replace(":", "-")
        return cls(partner, base / "in", base / "out", base / "done", base / "rejected")

    def make(self) -> Spool:
        for d in (self.inbox, self.outbox, self.done, self.rejected):
            d.mkdir(parents=True, exist_ok=True)
        return self

    def waiting(self) -> list[Path]:
        """The files in in/, in the order their envelopes' sequence numbers say (unreadable ones first: they are
        refused without waiting for anything)."""
        found = [p for p in self.inbox.iterdir() if p.is_file() and not p.name.startswith(".")]

        def order(path: Path) -> tuple[int, str]:
            with path.open("rb") as fh:
                env = formats.peek(fh.read(200))
            return (env.seq if env else 0, path.name)

        return sorted(found, key=order)


def crash_hook() -> Callable[[str], None]:
    """The test hook: ``SSCARD_FEED_CRASH_AT=<point>`` kills the process (SIGKILL) at that point."""
    wanted = os.environ.get(CRASH_ENV)

    def hook(point: str) -> None:
        if wanted and point == wanted:
            os.kill(os.getpid(), 9)

    return hook


def run(db: Database, actor: Actor, spool: Spool, keys: PartnerKeys | None = None) -> SpoolOut:
    """Import every waiting file of ``spool`` (see the module's note)."""
    spool.make()
    ring = keys or partners.default_keys()
    crash = crash_hook()
    imported: list[ImportOut] = []
    rejected: list[FileOut] = []
    resumed = 0
    for path in spool.waiting():
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        left = service.unfinished(db, spool.partner, sha)
        if left is not None:  # imported before a crash: finish the spool step only
            _answer(spool, ring, left.file_id or path.stem, left.seq or 0, "imported", "",
                    service.line_outcomes(db, left.id))
            move_into(path, spool.done)
            service.mark_finished(db, left.id)
            resumed += 1
            continue
        try:
            out = service.import_file(db, actor, data, spool.partner, path.name, ring, crash)
        except FeedRejected as err:
            rejected.append(service.record_rejected(db, actor, spool.partner, data, path.name, err))
            env = formats.peek(data)
            _answer(spool, ring, env.file_id if env else "-", env.seq if env else 0, "rejected", err.code, [],
                    name=f"{path.name}.rejected.answer")
            reject_into(path, spool.rejected, err)
            continue
        crash("after_commit")
        _answer(spool, ring, out.file_id, out.seq, "imported", "", service.line_outcomes(db, out.file_pk))
        move_into(path, spool.done)
        service.mark_finished(db, out.file_pk)
        imported.append(out)
    return SpoolOut(partner=spool.partner, imported=imported, rejected=rejected, finished_after_crash=resumed)


def answer_plain(partner: str, file_id: str, seq: int, status: str, code: str,
                 outcomes: list[tuple[int, str, str]], created: str | None = None) -> bytes:
    """The FEEDA1 answer to a file: its status (imported | rejected) and refusal code, then one line per line of
    the file with its outcome and reason; trailer with the count and SHA-256 (as FEED1)."""
    stamp = created or clock.now().astimezone(clock.local_zone()).strftime("%Y%m%d%H%M%S")
    safe_id = file_id if formats.FILE_ID_RE.fullmatch(file_id) else "-"
    head = f"H|{ANSWER}|{partner}|{safe_id}|{seq}|{status}|{code}|{len(outcomes)}|{stamp}\n"
    body = "".join(f"R|{n}|{outcome}|{reason}\n" for n, outcome, reason in outcomes)
    data = (head + body).encode("ascii")
    return data + f"T|{len(outcomes)}|{hashlib.sha256(data).hexdigest()}\n".encode("ascii")


def _answer(spool: Spool, ring: PartnerKeys, file_id: str, seq: int, status: str, code: str,
            outcomes: list[tuple[int, str, str]], name: str | None = None) -> Path:
    plain = answer_plain(spool.partner, file_id, seq, status, code, outcomes)
    sealed = formats.seal_bytes(plain, spool.partner, file_id if formats.FILE_ID_RE.fullmatch(file_id) else "-",
                                max(seq, 1), ring)
    target = spool.outbox / (name or f"{file_id}.{seq}.{status}.answer")
    tmp = spool.outbox / f".{target.name}.tmp"
    tmp.write_bytes(sealed)
    os.replace(tmp, target)
    return target


def move_into(path: Path, where: Path) -> Path:
    target = where / path.name
    if target.exists():
        target = where / f"{path.name}.{clock.now():%Y%m%d%H%M%S%f}"
    os.replace(path, target)
    return target


def reject_into(path: Path, where: Path, err: DomainError) -> None:
    """Move a refused file into ``where`` beside ``<name>.reason.json`` (its code and messages)."""
    target = where / path.name
    if target.exists():
        target = where / f"{path.name}.{clock.now():%Y%m%d%H%M%S%f}"
    reason = {"code": err.code, "message_zh": err.message_zh, "message_en": err.message_en,
              "detail": err.detail, "file": path.name, "rejected_at": clock.now().isoformat(timespec="seconds")}
    tmp = where / f".{target.name}.reason.json.tmp"
    tmp.write_text(json.dumps(reason, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, where / f"{target.name}.reason.json")
    os.replace(path, target)
