"""The state of the disaster-recovery set-up, from the tools' own interfaces: Patroni's REST API (GET /cluster:
roles, timelines, lag), ``pgbackrest info --output=json`` (backups, archived WAL) and PostgreSQL's
``pg_stat_archiver`` / ``pg_stat_replication`` (archive age, what each standby has confirmed)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import text

from sscard.db import Database
from sscard.dr.errors import ToolAnswerInvalid


@dataclass(frozen=True)
class Member:
    name: str
    role: str  # leader | sync_standby | replica
    state: str  # running | streaming | stopped | starting …
    host: str
    port: int
    timeline: int | None
    lag_bytes: int | None  # behind the leader, as Patroni reports it (None for the leader or unknown)


@dataclass(frozen=True)
class Backup:
    label: str
    kind: str  # full | diff | incr
    started: dt.datetime
    stopped: dt.datetime
    wal_start: str
    wal_stop: str


@dataclass
class Status:
    members: list[Member] = field(default_factory=list)
    patroni_error: str | None = None
    backups: list[Backup] = field(default_factory=list)
    archive_min_wal: str | None = None
    archive_max_wal: str | None = None
    backrest_status: str | None = None  # pgBackRest's stanza status message ("ok", "no valid backups" …)
    backrest_error: str | None = None
    last_archived_wal: str | None = None
    last_archived_at: dt.datetime | None = None
    archive_failures: int | None = None  # since the statistics were reset (the first ones: before the stanza)
    last_failed_at: dt.datetime | None = None
    standbys: list[dict[str, Any]] = field(default_factory=list)  # pg_stat_replication on the primary

    @property
    def leader(self) -> Member | None:
        return next((m for m in self.members if m.role == "leader"), None)

    @property
    def problems(self) -> list[str]:
        """What an operator must look at now (docs/dr.md, alerts): each one a reason for exit status 1."""
        found = []
        if self.patroni_error:
            found.append(f"Patroni: {self.patroni_error}")
        elif self.leader is None:
            found.append("no leader: writes are refused")
        elif not any(m.role == "sync_standby" and m.state in ("running", "streaming") for m in self.members):
            found.append("no synchronous standby: writes wait (strict synchronous mode)")
        down = [m.name for m in self.members if m.state not in ("running", "streaming")]
        if down:
            found.append(f"not running: {', '.join(down)}")
        if self.backrest_error:
            found.append(f"pgBackRest: {self.backrest_error}")
        elif self.backrest_status not in (None, "ok"):
            found.append(f"pgBackRest: {self.backrest_status}")
        if self.last_failed_at is not None and (self.last_archived_at is None
                                                or self.last_failed_at > self.last_archived_at):
            found.append(f"WAL archiving is failing (last failure {self.last_failed_at.isoformat()})")
        return found

    @property
    def archive_age_seconds(self) -> float | None:
        """Since the last WAL segment was archived: with archive_timeout 60 s, above a few minutes means the
        DR site's copy of the WAL is falling behind (docs/dr.md, alerts)."""
        if self.last_archived_at is None:
            return None
        return round((dt.datetime.now(dt.UTC) - self.last_archived_at).total_seconds(), 1)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["problems"] = self.problems
        data["archive_age_seconds"] = self.archive_age_seconds
        return data


def _lag(value: Any) -> int | None:
    # Patroni reports "unknown" for a member it cannot measure
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# The parts of the tools' answers read here, as their documentation gives them; anything else is refused whole.
class _PatroniMember(BaseModel):
    name: str
    role: str = "unknown"
    state: str = "unknown"
    host: str = ""
    port: int = Field(0, ge=0, le=65535)
    timeline: int | None = Field(None, ge=0)
    lag: Any = None


class _PatroniCluster(BaseModel):
    members: list[_PatroniMember] = []


class _Times(BaseModel):
    start: int = Field(ge=0, le=253_402_300_799)  # up to 9999-12-31
    stop: int = Field(ge=0, le=253_402_300_799)


class _WalRange(BaseModel):
    start: str
    stop: str


class _BackrestBackup(BaseModel):
    label: str
    type: str
    timestamp: _Times
    archive: _WalRange


class _ArchiveIds(BaseModel):
    min: str | None = None
    max: str | None = None


class _StanzaStatus(BaseModel):
    message: str = "unknown"


class _Stanza(BaseModel):
    name: str
    status: _StanzaStatus = _StanzaStatus()
    archive: list[_ArchiveIds] = []
    backup: list[_BackrestBackup] = []


def _invalid(tool: str, exc: ValidationError) -> ToolAnswerInvalid:
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": str(exc)}
    where = ".".join(str(p) for p in first["loc"]) or "the answer"
    return ToolAnswerInvalid(f"{tool}: {where}: {first['msg']}", tool=tool)


def parse_patroni_cluster(data: Any) -> list[Member]:
    """The members of Patroni's ``GET /cluster`` answer (already decoded JSON); ``ToolAnswerInvalid`` otherwise."""
    try:
        cluster = _PatroniCluster.model_validate(data)
    except ValidationError as exc:
        raise _invalid("patroni GET /cluster", exc) from None
    return [Member(m.name, m.role, m.state, m.host, m.port, m.timeline, _lag(m.lag)) for m in cluster.members]


def patroni_members(urls: Sequence[str], timeout: float = 2.0) -> list[Member]:
    """GET /cluster from the first Patroni REST endpoint that answers (every member serves the whole view)."""
    errors = []
    for url in urls:
        try:
            response = httpx.get(f"{url.rstrip('/')}/cluster", timeout=timeout)
            response.raise_for_status()
            return parse_patroni_cluster(response.json())
        except (httpx.HTTPError, ValueError) as exc:
            errors.append(f"{url}: {type(exc).__name__}")
        except ToolAnswerInvalid as exc:
            errors.append(f"{url}: {exc.detail}")
    raise ConnectionError("no Patroni REST endpoint answered: " + "; ".join(errors))


def _stamp(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def parse_backrest_info(raw: str, stanza: str) -> tuple[str, list[Backup], str | None, str | None]:
    """(status message, backups oldest first, oldest and newest archived WAL) from ``pgbackrest info --output=json``;
    ``ToolAnswerInvalid`` when the answer is not that."""
    try:
        entries = [_Stanza.model_validate(e) for e in _json_list(raw)]
    except ValidationError as exc:
        raise _invalid("pgbackrest info", exc) from None
    entry = next((e for e in entries if e.name == stanza), None)
    if entry is None:
        return f"stanza {stanza} not found", [], None, None
    backups = [Backup(b.label, b.type, _stamp(b.timestamp.start), _stamp(b.timestamp.stop), b.archive.start,
                      b.archive.stop) for b in entry.backup]
    low = min((a.min for a in entry.archive if a.min), default=None)
    high = max((a.max for a in entry.archive if a.max), default=None)
    return entry.status.message, backups, low, high


def _json_list(raw: str) -> list[Any]:
    try:
        entries = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ToolAnswerInvalid(f"pgbackrest info: not JSON ({type(exc).__name__})", tool="pgbackrest info") \
            from None
    if not isinstance(entries, list):
        raise ToolAnswerInvalid("pgbackrest info: not a list of stanzas", tool="pgbackrest info")
    return entries


def backrest_info(config: str, stanza: str, timeout: float = 30) -> str:
    done = subprocess.run(["pgbackrest", f"--config={config}", f"--stanza={stanza}", "--output=json", "info"],
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip() or f"pgbackrest info exited {done.returncode}")
    return done.stdout


def database_replication(db: Database) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The primary's archiver and its standbys (what each has written, flushed, replayed, and whether sync)."""
    with db.engine.connect() as conn:
        archiver = dict(conn.execute(text(
            "SELECT last_archived_wal, last_archived_time, failed_count, last_failed_time "
            "FROM pg_stat_archiver")).mappings().one())
        standbys = [dict(r) for r in conn.execute(text(
            "SELECT application_name AS name, state, sync_state, "
            "pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn)::bigint AS flush_lag_bytes, "
            "pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint AS replay_lag_bytes, "
            "EXTRACT(EPOCH FROM replay_lag)::float AS replay_lag_seconds "
            "FROM pg_stat_replication ORDER BY application_name")).mappings()]
    return archiver, standbys


def collect(patroni: Sequence[str], backrest_config: str | None, stanza: str,
            db: Database | None = None) -> Status:
    status = Status()
    try:
        status.members = patroni_members(patroni)
    except ConnectionError as exc:
        status.patroni_error = str(exc)
    if backrest_config is not None:
        try:
            status.backrest_status, status.backups, status.archive_min_wal, status.archive_max_wal = \
                parse_backrest_info(backrest_info(backrest_config, stanza), stanza)
        except ToolAnswerInvalid as exc:
            status.backrest_error = exc.detail
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            status.backrest_error = str(exc)
    if db is not None and db.dialect == "postgresql":
        archiver, status.standbys = database_replication(db)
        status.last_archived_wal = archiver["last_archived_wal"]
        status.last_archived_at = archiver["last_archived_time"]
        status.archive_failures = int(archiver["failed_count"] or 0)
        status.last_failed_at = archiver["last_failed_time"]
    return status
