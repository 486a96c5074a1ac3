"""Tables: audit records and the single chain-head row that serialises appends."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sscard.db import Base


class Recorded:
    """A row a use case changed carries the sequence number of the audit record of that change (``audit_seq``;
    not stored, None on a row only loaded), so the caller shows the reference of what was done without looking
    it up again. The use case sets it with ``recorded``."""

    @property
    def audit_seq(self) -> int | None:
        seq = getattr(self, "_audit_seq", None)
        return seq if isinstance(seq, int) else None

    def recorded(self, entry: AuditRecord) -> None:
        self._audit_seq = entry.seq

class AuditRecord(Base):
    """One state change. ``seq`` is gapless; ``hash`` = HMAC-SHA256 under the audit key over the previous hash and
    this record (SHA-256 for the records written before the keyed chain, below ``AuditHead.keyed_from``).

    The migration installs triggers that refuse UPDATE and DELETE on this table.
    """

    __tablename__ = "audit_records"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=False)
    at: Mapped[dt.datetime]
    operator_id: Mapped[int | None] = mapped_column(Integer)
    operator: Mapped[str] = mapped_column(String(50))
    role: Mapped[str] = mapped_column(String(20))
    outlet: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(50), index=True)
    entity_type: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[str] = mapped_column(String(50), index=True)
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The tip of the chain. Appending locks this one row, so the chain stays linear under concurrency.

    ``keyed_from`` is the first record of the keyed chain (1 for a database born keyed; one past the last
    record for a database whose chain was unkeyed), and ``seal`` the audit key's MAC over it and the legacy head
    the first keyed record links to: a DBA can neither move the switch-over nor rewrite the legacy part."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    last_hash: Mapped[str] = mapped_column(String(64))
    keyed_from: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    seal: Mapped[str | None] = mapped_column(String(64))
