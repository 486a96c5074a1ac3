"""``sscard dr …``: the state of the replicated cluster and its backups (``status``), and a local two-site
cluster with the demo city served on it (``local``, what ``make demo-ha`` runs). docs/dr.md is the runbook."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sscard.cli.common import console, err, print_json
from sscard.config import get_settings
from sscard.db import Database
from sscard.dr import status as dr_status
from sscard.dr.local import STANZA, LocalCluster

dr_app = typer.Typer(help="Disaster recovery: Patroni cluster and pgBackRest state, a local cluster",
                     no_args_is_help=True)

PatroniOpt = Annotated[list[str] | None, typer.Option(
    "--patroni", help="a Patroni REST endpoint (repeat; default $SSCARD_PATRONI_URLS, comma-separated)")]


def _patroni_urls(given: list[str] | None) -> list[str]:
    urls = given or [u for u in os.environ.get("SSCARD_PATRONI_URLS", "").split(",") if u.strip()]
    return urls or ["http://127.0.0.1:8008"]


@dr_app.command("status")
def status(patroni: PatroniOpt = None,
           pgbackrest_config: Annotated[str | None, typer.Option(
               envvar="SSCARD_PGBACKREST_CONFIG", help="pgbackrest.conf to read `pgbackrest info` with")] = None,
           stanza: str = STANZA,
           database: Annotated[bool, typer.Option(
               help="also read pg_stat_archiver and pg_stat_replication through SSCARD_DATABASE_URL")] = True,
           as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Roles, timelines and lag of every node (Patroni), backups and archived WAL (pgBackRest), archive age
    and what each standby confirmed (PostgreSQL). Exit 1 if anything needs an operator (``problems``)."""
    db = Database(get_settings().database_url) if database else None
    try:
        found = dr_status.collect(_patroni_urls(patroni), pgbackrest_config, stanza, db)
    finally:
        if db is not None:
            db.dispose()
    if as_json:
        print_json(found.as_json())
    else:
        members = Table("node", "role", "state", "address", "timeline", "lag (bytes)", title="Patroni")
        for m in found.members:
            members.add_row(m.name, m.role, m.state, f"{m.host}:{m.port}", str(m.timeline or ""),
                            "" if m.lag_bytes is None else str(m.lag_bytes))
        console.print(members)
        for s in found.standbys:
            console.print(f"standby {s['name']}: {s['sync_state']}, flush lag {s['flush_lag_bytes']} B, "
                          f"replay lag {s['replay_lag_bytes']} B", highlight=False)
        if found.backups:
            last = found.backups[-1]
            console.print(f"last backup: {last.label} ({last.kind}) finished {last.stopped.isoformat()}; "
                          f"{len(found.backups)} in the repository", highlight=False)
        console.print(f"archived WAL: {found.archive_min_wal} … {found.archive_max_wal}; last archived "
                      f"{found.last_archived_wal} at {found.last_archived_at}", highlight=False)
        for problem in found.problems:
            err.print(f"[red]problem[/red]: {problem}", highlight=False)
    if found.problems:
        raise typer.Exit(1)


@dr_app.command("local")
def local(root: Annotated[Path, typer.Option(help="where the two sites' files go")] = Path("var/ha"),
          port: int = 8000, host: str = "127.0.0.1") -> None:
    """Start etcd, three Patroni-managed PostgreSQL nodes (two at site A, one at site B with the pgBackRest
    repository) on the fixed loopback ports of docs/dr.md, take a full backup, and serve the demo city on the
    cluster (``sscard demo --serve``) until Ctrl-C; then stop every process."""
    if root.exists() and any(root.iterdir()):
        err.print(f"[red]{root} is not empty[/red]: remove it for a new cluster", highlight=False)
        raise typer.Exit(2)
    root.mkdir(parents=True, exist_ok=True)
    cluster = LocalCluster(root, fixed_ports=True)
    demo: subprocess.Popen[bytes] | None = None
    try:
        cluster.start()
        url = cluster.create_database("sscard_demo")
        cluster.backrest(cluster.leader(), "backup", "--type=full")
        rest = ",".join(n.rest for n in cluster.nodes)
        # Quoted: the URL holds "&" (a shell sources this file with `set -a; . var/ha/env`).
        (root / "env").write_text(f"SSCARD_DATABASE_URL='{url}'\nSSCARD_PATRONI_URLS='{rest}'\n"
                                  f"SSCARD_PGBACKREST_CONFIG='{cluster.nodes[0].backrest_config}'\n")
        console.print(f"cluster up: nodes {', '.join(f'{n.name}@{n.pg_port}' for n in cluster.nodes)}; "
                      f"environment for `sscard dr status` in {root / 'env'}", highlight=False)
        env = {**os.environ, "SSCARD_DATABASE_URL": url, "SSCARD_MODE": os.environ.get("SSCARD_MODE", "demo")}
        demo = subprocess.Popen([str(Path(sys.executable).parent / "sscard"), "demo", "--serve", "--host", host,
                                 "--port", str(port)], env=env)
        demo.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if demo is not None and demo.poll() is None:
            demo.send_signal(signal.SIGINT)
            demo.wait(timeout=30)
        cluster.stop()
