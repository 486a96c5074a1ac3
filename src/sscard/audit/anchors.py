"""Anchors: checkpoints of the audit chain's head written outside the database.

Each anchor is one new file in ``SSCARD_AUDIT_ANCHOR_DIR`` (never rewritten, never deleted: put the directory
on append-only or WORM storage): the head's sequence number and hash, the sealed switch-over to the keyed chain,
the time, and an HMAC under a key derived from the audit key. ``verify`` then finds a tail that was deleted with
the head rewound (the chain ends before an anchor) and a chain rebuilt below an anchor (the hash at the
anchored sequence number differs). Records written after the latest anchor are covered by the keyed chain but
not against truncation: the anchor interval (the jobs' schedule) is that window.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from sscard.audit.chain import Key
from sscard.config import get_settings
from sscard.errors import DomainError

_NAME = re.compile(r"^anchor-(\d{12})-\d{8}T\d{12}Z-[0-9a-f]{8}\.json$")
_FIELDS = ("v", "seq", "head", "keyed_from", "seal", "at")


class AnchorDirUnset(DomainError):
    code = "AUDIT_ANCHOR_DIR_UNSET"
    http_status = 409
    message_zh = "未配置审计锚点目录（SSCARD_AUDIT_ANCHOR_DIR）"
    message_en = "No audit anchor directory is configured (SSCARD_AUDIT_ANCHOR_DIR)"


class AnchorDirUnusable(DomainError):
    code = "AUDIT_ANCHOR_DIR_UNUSABLE"
    http_status = 409
    message_zh = "审计锚点目录不可用"
    message_en = "The audit anchor directory cannot be used"


class ChainRewound(DomainError):
    code = "AUDIT_CHAIN_REWOUND"
    http_status = 409
    message_zh = "审计链短于已有锚点：记录被删除，拒绝写入新锚点"
    message_en = "The audit chain is shorter than an existing anchor: records were removed; no anchor written"


@dataclass(frozen=True)
class Anchor:
    seq: int
    head: str
    keyed_from: int | None
    seal: str | None
    at: str
    mac: str
    file: str

    def body(self) -> dict[str, object]:
        return {"v": 1, "seq": self.seq, "head": self.head, "keyed_from": self.keyed_from, "seal": self.seal,
                "at": self.at}


@dataclass(frozen=True)
class BadAnchor:
    file: str
    reason: str


def _payload(body: dict[str, object]) -> bytes:
    return json.dumps([body[f] for f in _FIELDS], separators=(",", ":")).encode()


def directory() -> Path | None:
    configured = get_settings().audit_anchor_dir
    return Path(configured) if configured else None


def read_all(key: Key, where: Path) -> tuple[list[Anchor], list[BadAnchor]]:
    """Every anchor in the directory, in sequence order, and the files that are not authentic anchors."""
    good: list[Anchor] = []
    bad: list[BadAnchor] = []
    if not where.is_dir():
        return good, bad
    for path in sorted(where.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue  # a temporary file of a writer (renamed into place when complete)
        match = _NAME.match(path.name)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            body = {f: data[f] for f in _FIELDS}
            mac = str(data["mac"])
            if key.anchor_mac(_payload(body)) != mac:
                bad.append(BadAnchor(path.name, "MAC does not match (forged or altered)"))
                continue
            anchor = Anchor(int(data["seq"]), str(data["head"]),
                            None if data["keyed_from"] is None else int(data["keyed_from"]),
                            None if data["seal"] is None else str(data["seal"]), str(data["at"]), mac, path.name)
        except (OSError, ValueError, KeyError, TypeError):
            bad.append(BadAnchor(path.name, "not a readable anchor"))
            continue
        if match is None or int(match.group(1)) != anchor.seq:
            bad.append(BadAnchor(path.name, "file name does not match its sequence number"))
            continue
        good.append(anchor)
    good.sort(key=lambda a: (a.seq, a.at))
    return good, bad


def write(key: Key, where: Path, seq: int, head: str, keyed_from: int | None, seal: str | None,
          now: dt.datetime) -> Anchor:
    """A new anchor file, complete or not at all: written under a temporary name, flushed to disk, then linked
    to its final name (which never replaces an existing file)."""
    try:
        where.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AnchorDirUnusable(f"{where}: {exc.strerror}") from None
    at = now.astimezone(dt.UTC).isoformat(timespec="microseconds")
    body: dict[str, object] = {"v": 1, "seq": seq, "head": head, "keyed_from": keyed_from, "seal": seal,
                               "at": at}
    mac = key.anchor_mac(_payload(body))
    stamp = now.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    name = f"anchor-{seq:012d}-{stamp}Z-{uuid.uuid4().hex[:8]}.json"
    tmp = where / f".{name}.tmp"
    try:
        with open(tmp, "x", encoding="utf-8") as out:
            out.write(json.dumps({**body, "mac": mac}, separators=(",", ":")) + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.link(tmp, where / name)
        os.unlink(tmp)
        dir_fd = os.open(where, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise AnchorDirUnusable(f"{where}: {exc.strerror}") from None
    return Anchor(seq, head, keyed_from, seal, at, mac, name)
