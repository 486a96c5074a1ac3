"""Replication lag and archive age as Prometheus gauges on the application's ``/metrics``.

Read from the primary the application is connected to (``pg_stat_replication``, ``pg_stat_archiver``, the same
queries as ``sscard dr status``), at most once every ``ttl`` seconds however often the endpoint is scraped, so
a scrape costs one cheap query now and then and nothing else. The application's database role needs
``pg_monitor`` (or superuser) to see the standbys' positions.

- ``sscard_dr_replication_lag_bytes{standby, sync_state}``: WAL the primary wrote that the standby has not yet
  flushed (RPO 0 rests on the ``sync`` one; an ``async`` one falling behind is the next to be promoted in
  vain). One series per standby streaming now.
- ``sscard_dr_replication_replay_lag_seconds{standby, sync_state}``: PostgreSQL's own ``replay_lag`` (NaN
  while the primary is idle: PostgreSQL measures it only while WAL flows).
- ``sscard_dr_standbys{sync_state}``: standbys streaming now, by sync state (``sync`` 0 with strict synchronous
  mode: writes wait).
- ``sscard_dr_archive_age_seconds``: since the last WAL segment was archived (NaN when none has been since the
  server started, e.g. a single server without archiving).
- ``sscard_dr_metrics_up``: 1 when the figures above come from the database now, 0 when it did not answer (then
  they are absent).

On SQLite none of these exist (there is no replication to measure); on a single PostgreSQL server the
standby series are absent, ``sscard_dr_standbys`` 0 and the archive age NaN.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from sscard.db import Database
from sscard.dr.status import database_replication

DEFAULT_TTL = 5.0


@dataclass(frozen=True)
class Reading:
    at: float  # monotonic clock of the query
    ok: bool
    archived_at: dt.datetime | None = None
    standbys: tuple[dict[str, Any], ...] = ()


class ReplicationCollector(Collector):
    """A prometheus-client collector reading the primary's replication state, cached ``ttl`` seconds."""

    def __init__(self, db: Database, ttl: float = DEFAULT_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.db, self.ttl, self.clock = db, ttl, clock
        self._lock = threading.Lock()
        self._last: Reading | None = None

    def reading(self) -> Reading:
        with self._lock:
            now = self.clock()
            if self._last is None or now - self._last.at >= self.ttl:
                try:
                    archiver, standbys = database_replication(self.db)
                    self._last = Reading(now, True, archiver["last_archived_time"], tuple(standbys))
                except SQLAlchemyError:  # unavailable (a failover) or not allowed: say so, never fail the scrape
                    self._last = Reading(now, False)
            return self._last

    def collect(self) -> Iterator[Metric]:
        if self.db.dialect != "postgresql":
            return
        found = self.reading()
        up = GaugeMetricFamily("sscard_dr_metrics_up", "1 when the replication figures were read from the database")
        up.add_metric([], 1.0 if found.ok else 0.0)
        yield up
        if not found.ok:
            return
        labels = ["standby", "sync_state"]
        lag = GaugeMetricFamily("sscard_dr_replication_lag_bytes",
                                "WAL written by the primary not yet flushed by the standby", labels=labels)
        replay = GaugeMetricFamily("sscard_dr_replication_replay_lag_seconds",
                                   "PostgreSQL's replay_lag of the standby (NaN while idle)", labels=labels)
        count = GaugeMetricFamily("sscard_dr_standbys", "Standbys streaming from the primary now",
                                  labels=["sync_state"])
        by_state = {"sync": 0, "async": 0, "potential": 0, "quorum": 0}
        for s in found.standbys:
            key = [str(s["name"]), str(s["sync_state"])]
            lag.add_metric(key, _number(s["flush_lag_bytes"]))
            replay.add_metric(key, _number(s["replay_lag_seconds"]))
            by_state[str(s["sync_state"])] = by_state.get(str(s["sync_state"]), 0) + 1
        for state, n in sorted(by_state.items()):
            count.add_metric([state], float(n))
        age = GaugeMetricFamily("sscard_dr_archive_age_seconds", "Seconds since the last WAL segment was archived")
        age.add_metric([], math.nan if found.archived_at is None
                       else max((dt.datetime.now(dt.UTC) - found.archived_at).total_seconds(), 0.0))
        yield from (lag, replay, count, age)


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)
