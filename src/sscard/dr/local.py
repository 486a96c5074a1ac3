"""A Patroni cluster on one machine: etcd, three PostgreSQL nodes under Patroni, a pgBackRest repository.

For developers (``sscard dr local``, ``make demo-ha``) and the fault tests (tests/dr). Every process listens on
127.0.0.1 only; nothing here elects, replicates or fences — Patroni, PostgreSQL and pgBackRest do, this only
writes their configuration, starts them, and sends the signals a fault test needs (by pid).

The layout under ``root`` stands for two sites: ``site-a/`` (the primary site: nodes ``a1``, ``a2``),
``site-b/`` (the DR site: node ``b1`` and the pgBackRest repository ``site-b/pgbackrest``). PostgreSQL refuses
to run as root: started by root, every process runs as the ``postgres`` user on files it owns.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import sqlalchemy as sa

PG_BIN = Path(os.environ.get("SSCARD_PG_BIN", "/usr/lib/postgresql/15/bin"))
SCOPE = "sscard"
STANZA = "sscard"
# The failure detector's clock (Patroni's DCS settings): the leader key lives ``TTL`` seconds without renewal;
# every node runs its loop each ``LOOP_WAIT`` seconds; a DCS or PostgreSQL call gives up after ``RETRY_TIMEOUT``
# (then the leader demotes itself). docs/dr.md: why these values and what they cost.
# Patroni requires loop_wait + 2 × retry_timeout ≤ ttl. The time from the primary's death to a promoted standby is
# bounded by TTL + LOOP_WAIT (leader key expiry, then the next loop of the standby).
TTL, LOOP_WAIT, RETRY_TIMEOUT = 10, 2, 4


# What the application adds to its URL (docs/dr.md): connect only to the node that takes writes, give up on a
# node within 2 s, and break a connection whose peer stopped acknowledging (keepalives, tcp_user_timeout) —
# a partitioned primary — instead of waiting on it for ever.
CLIENT_OPTIONS = ("target_session_attrs=read-write&connect_timeout=2&keepalives=1&keepalives_idle=5"
                  "&keepalives_interval=2&keepalives_count=3&tcp_user_timeout=10000")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _service_user() -> pwd.struct_passwd | None:
    """The account PostgreSQL runs as: ``postgres`` when we are root (postgres refuses root), else ourselves."""
    return pwd.getpwnam("postgres") if os.geteuid() == 0 else None


@dataclass
class Node:
    name: str
    site: str
    pg_port: int
    rest_port: int
    data_dir: Path
    config: Path
    backrest_config: Path
    socket_dir: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def rest(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def pids(self) -> list[int]:
        """Patroni's pid, the postmaster's and every backend's: the whole node, as a VM pause would freeze it."""
        found = [self.proc.pid] if self.proc is not None and self.proc.poll() is None else []
        postmaster = self.postmaster_pid()
        if postmaster is not None and _alive(postmaster):
            found.append(postmaster)
            children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True).stdout
            found += [int(p) for p in children.split()]
        return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class LocalCluster:
    """etcd + Patroni-managed PostgreSQL nodes + a pgBackRest repository, all on loopback under ``root``.

    ``etcd_members``: 1 for tests and the demo (the faults under test are the data nodes'; a one-member etcd has
    no election of its own to be starved of CPU on a small machine); 3 to see etcd's quorum at work.
    ``fixed_ports``: the demo's well-known ports (``PORTS`` below); tests take free ones."""

    root: Path
    nodes_per_site: Sequence[tuple[str, int]] = (("site-a", 2), ("site-b", 1))
    etcd_members: int = 1
    fixed_ports: bool = False
    password: str = field(default_factory=lambda: secrets.token_hex(12))
    nodes: list[Node] = field(default_factory=list)
    etcd: list[tuple[subprocess.Popen[bytes], int]] = field(default_factory=list)

    PORTS: ClassVar[dict[str, int]] = {"pg": 6101, "rest": 8101, "etcd": 2479}

    # ------------------------------------------------------------------------------------------ configuration

    def __post_init__(self) -> None:
        self.root = self.root.absolute()
        self.repo = self.root / "site-b" / "pgbackrest"
        self.user = _service_user()
        index = 0
        for site, count in self.nodes_per_site:
            for i in range(count):
                name = f"{site[-1]}{i + 1}"
                pg, rest = ((self.PORTS["pg"] + index, self.PORTS["rest"] + index) if self.fixed_ports
                            else (free_port(), free_port()))
                base = self.root / site / name
                self.nodes.append(Node(name, site, pg, rest, base / "data", base / "patroni.yml",
                                       base / "pgbackrest.conf", base / "run", base / "patroni.log"))
                index += 1
        self.etcd_ports = [((self.PORTS["etcd"] + 2 * i, self.PORTS["etcd"] + 2 * i + 1) if self.fixed_ports
                            else (free_port(), free_port())) for i in range(self.etcd_members)]

    @property
    def etcd_hosts(self) -> str:
        return ",".join(f"127.0.0.1:{client}" for client, _ in self.etcd_ports)

    def url(self, database: str = "postgres", driver: str = "postgresql+psycopg") -> str:
        """The application's URL: every node, libpq picks the one that accepts writes (``target_session_attrs``)."""
        hosts = "&".join(f"host=127.0.0.1:{n.pg_port}" for n in self.nodes)
        return (f"{driver}://postgres:{self.password}@/{database}?{hosts}&{CLIENT_OPTIONS}")

    def create_database(self, name: str) -> str:
        """Create ``name`` on the primary (through the multi-host URL) and return the application's URL for it."""
        admin = sa.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        finally:
            admin.dispose()
        return self.url(name)

    def node_url(self, node: Node, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres:{self.password}@127.0.0.1:{node.pg_port}/{database}"

    def _patroni_config(self, node: Node) -> dict[str, Any]:
        archive = (f"pgbackrest --config={node.backrest_config} --stanza={STANZA} archive-push %p")
        return {
            "scope": SCOPE,
            "namespace": "/service/",
            "name": node.name,
            "log": {"level": "INFO", "dir": str(node.log.parent), "file_num": 2},
            "restapi": {"listen": f"127.0.0.1:{node.rest_port}", "connect_address": f"127.0.0.1:{node.rest_port}"},
            "etcd": {"hosts": self.etcd_hosts},
            "bootstrap": {
                "dcs": {
                    "ttl": TTL, "loop_wait": LOOP_WAIT, "retry_timeout": RETRY_TIMEOUT,
                    "maximum_lag_on_failover": 1_048_576,
                    "synchronous_mode": True, "synchronous_mode_strict": True, "synchronous_node_count": 1,
                    "postgresql": {
                        "use_pg_rewind": True, "use_slots": True,
                        "parameters": {"wal_level": "replica", "hot_standby": "on", "wal_log_hints": "on",
                                       "max_wal_senders": 10, "max_replication_slots": 10,
                                       "max_connections": 100, "wal_keep_size": "128MB",
                                       "archive_mode": "on", "archive_timeout": 60},
                    },
                },
                "initdb": [{"encoding": "UTF8"}, {"locale": "C.UTF-8"}, "data-checksums"],
            },
            "postgresql": {
                "listen": f"127.0.0.1:{node.pg_port}",
                "connect_address": f"127.0.0.1:{node.pg_port}",
                "data_dir": str(node.data_dir),
                "bin_dir": str(PG_BIN),
                "pgpass": str(node.data_dir.parent / "pgpass"),
                "authentication": {
                    "superuser": {"username": "postgres", "password": self.password},
                    "replication": {"username": "replicator", "password": self.password},
                    "rewind": {"username": "postgres", "password": self.password},
                },
                # Node-local: each node archives with its own pgBackRest configuration (its data directory).
                "parameters": {"unix_socket_directories": str(node.socket_dir), "archive_command": archive,
                               "shared_buffers": "32MB", "fsync": "on"},
                "pg_hba": ["local all all trust",
                           "host replication replicator 127.0.0.1/32 scram-sha-256",
                           "host all all 127.0.0.1/32 scram-sha-256"],
            },
            "tags": {"nofailover": False, "noloadbalance": False, "clonefrom": False, "nosync": False,
                     "site": node.site},
        }

    def _backrest_config(self, node: Node) -> str:
        return "\n".join([
            "[global]",
            f"repo1-path={self.repo}",
            "repo1-retention-full=2",
            "compress-type=lz4",
            "start-fast=y",
            "log-level-console=warn",
            "log-level-file=info",
            f"log-path={node.data_dir.parent / 'pgbackrest-log'}",
            f"lock-path={node.data_dir.parent / 'pgbackrest-lock'}",
            "",
            f"[{STANZA}]",
            f"pg1-path={node.data_dir}",
            f"pg1-port={node.pg_port}",
            f"pg1-socket-path={node.socket_dir}",
            "pg1-user=postgres",
            "",
        ])

    def write(self) -> None:
        for node in self.nodes:
            node.socket_dir.mkdir(parents=True, exist_ok=True)
            (node.data_dir.parent / "pgbackrest-log").mkdir(exist_ok=True)
            (node.data_dir.parent / "pgbackrest-lock").mkdir(exist_ok=True)
            # JSON is YAML: Patroni reads it as its YAML configuration.
            node.config.write_text(json.dumps(self._patroni_config(node), indent=2))
            node.backrest_config.write_text(self._backrest_config(node))
        self.repo.mkdir(parents=True, exist_ok=True)
        (self.root / "etcd").mkdir(parents=True, exist_ok=True)
        self._own(self.root)

    def _own(self, path: Path) -> None:
        if self.user is None:
            return
        os.chown(path, self.user.pw_uid, self.user.pw_gid)
        for dirpath, dirnames, filenames in os.walk(path):
            for name in dirnames + filenames:
                os.chown(os.path.join(dirpath, name), self.user.pw_uid, self.user.pw_gid, follow_symlinks=False)
        os.chmod(path, 0o755)

    # ------------------------------------------------------------------------------------------ processes

    def _env(self) -> dict[str, str]:
        # Debian's patroni runs on the system Python: none of our virtualenv's variables.
        return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(self.root), "LANG": "C.UTF-8",
                "LC_ALL": "C.UTF-8", "PGPASSWORD": self.password}

    def _spawn(self, args: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
        out = log.open("ab")
        try:
            kwargs: dict[str, Any] = {}
            if self.user is not None:
                kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
            return subprocess.Popen(list(args), stdout=out, stderr=subprocess.STDOUT, env=self._env(),
                                    cwd=self.root, start_new_session=True, **kwargs)
        finally:
            out.close()

    def run(self, args: Sequence[str], timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        """A tool (pgbackrest, pg_ctl) as the service user; its output returned."""
        kwargs: dict[str, Any] = {}
        if self.user is not None:
            kwargs = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []}
        done = subprocess.run(list(args), capture_output=True, text=True, env=self._env(), cwd=self.root,
                              timeout=timeout, **kwargs)
        if check and done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
        return done

    def start_etcd(self) -> None:
        peers = ",".join(f"e{i + 1}=http://127.0.0.1:{peer}" for i, (_, peer) in enumerate(self.etcd_ports))
        for i, (client, peer) in enumerate(self.etcd_ports):
            data = self.root / "etcd" / f"e{i + 1}"
            args = ["etcd", "--name", f"e{i + 1}", "--data-dir", str(data), "--enable-v2=true",
                    "--listen-client-urls", f"http://127.0.0.1:{client}",
                    "--advertise-client-urls", f"http://127.0.0.1:{client}",
                    "--listen-peer-urls", f"http://127.0.0.1:{peer}",
                    "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
                    "--initial-cluster", peers, "--initial-cluster-state", "new",
                    "--initial-cluster-token", f"{SCOPE}-{self.root.name}"]
            self.etcd.append((self._spawn(args, self.root / "etcd" / f"e{i + 1}.log"), client))
        self._wait(lambda: all(self._get(f"http://127.0.0.1:{c}/health") is not None for _, c in self.etcd),
                   30, "etcd did not answer")

    def start_node(self, node: Node) -> None:
        node.proc = self._spawn(["patroni", str(node.config)], node.log.with_suffix(".out"))

    def start(self, timeout: float = 180) -> None:
        """etcd, then every node (the first bootstraps, the others clone it), then the pgBackRest stanza."""
        self.write()
        self.start_etcd()
        # The first node (the primary site's) bootstraps the cluster; the others clone it once it leads.
        self.start_node(self.nodes[0])
        self._wait(lambda: any(m.get("role") == "leader" and m.get("state") == "running" for m in self.members()),
                   timeout, "the first node did not bootstrap")
        for node in self.nodes[1:]:
            self.start_node(node)
        self.wait_healthy(timeout)
        leader = self.leader()
        self.backrest(leader, "stanza-create")
        self.backrest(leader, "check")

    def backrest(self, node: Node, command: str, *options: str, timeout: float = 180) -> str:
        return self.run(["pgbackrest", f"--config={node.backrest_config}", f"--stanza={STANZA}", *options,
                         command], timeout=timeout).stdout

    def restore_to(self, target: Path, when: str, port: int) -> None:
        """Point-in-time recovery into a scratch cluster: pgBackRest restores the latest backup before ``when``
        into ``target`` and replays archived WAL up to ``when``; PostgreSQL is then started on ``port`` and
        promoted. Nothing of the running cluster is touched (the drill of docs/dr.md)."""
        target.mkdir(parents=True)
        (target.parent / "run").mkdir(exist_ok=True)
        self._own(target.parent)
        leader = self.leader()
        self.backrest(leader, "restore", f"--pg1-path={target}", "--type=time", f"--target={when}",
                      "--target-action=promote", "--archive-mode=off")
        # The restored configuration is the node's: its port, sockets, synchronous standby names and hba path.
        overrides = {"port": str(port), "listen_addresses": "127.0.0.1",
                     "unix_socket_directories": str(target.parent / "run"), "synchronous_standby_names": "",
                     "hba_file": str(target / "pg_hba.conf"), "ident_file": str(target / "pg_ident.conf"),
                     "archive_mode": "off", "cluster_name": "restore-drill"}
        options = " ".join(f"-c {k}={v}" if v else f"-c {k}=''" for k, v in overrides.items())
        self.run([str(PG_BIN / "pg_ctl"), "-D", str(target), "-w", "-t", "120", "-l",
                  str(target.parent / "restore.log"), "-o", options, "start"], timeout=150)

    def stop_restored(self, target: Path) -> None:
        self.run([str(PG_BIN / "pg_ctl"), "-D", str(target), "-m", "fast", "-w", "stop"], timeout=60, check=False)

    def stop(self) -> None:
        """Every process this cluster started, by pid: Patroni (it stops its PostgreSQL), then etcd."""
        for node in self.nodes:
            self.resume(node)
            if node.proc is not None and node.proc.poll() is None:
                node.proc.terminate()
        for node in self.nodes:
            if node.proc is not None:
                try:
                    node.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    node.proc.kill()
                    node.proc.wait(timeout=10)
            postmaster = node.postmaster_pid()
            if postmaster is not None and _alive(postmaster):
                os.kill(postmaster, signal.SIGQUIT)
        for proc, _ in self.etcd:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # ------------------------------------------------------------------------------------------ faults

    def kill(self, node: Node) -> None:
        """SIGKILL the node's postmaster and its Patroni, by pid: the machine is gone, nothing shuts down cleanly."""
        postmaster = node.postmaster_pid()
        if node.proc is not None:
            node.proc.kill()
            node.proc.wait(timeout=10)
        if postmaster is not None and _alive(postmaster):
            os.kill(postmaster, signal.SIGKILL)

    def freeze(self, node: Node) -> list[int]:
        """SIGSTOP every process of the node (Patroni, postmaster, backends): a hung machine that comes back."""
        frozen = node.pids()
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        self._frozen = {**getattr(self, "_frozen", {}), node.name: frozen}
        return frozen

    def resume(self, node: Node) -> None:
        for pid in getattr(self, "_frozen", {}).pop(node.name, []):
            if _alive(pid):
                os.kill(pid, signal.SIGCONT)

    # ------------------------------------------------------------------------------------------ state

    def _get(self, url: str) -> Any:
        try:
            response = httpx.get(url, timeout=1.5)
        except httpx.HTTPError:
            return None
        if response.status_code >= 500:
            return None
        try:
            return response.json()
        except ValueError:
            return response.text

    def members(self, exclude: Sequence[Node] = ()) -> list[dict[str, Any]]:
        """Patroni's own view (GET /cluster) from the first node that answers."""
        for node in self.nodes:
            if node in exclude or node.name in getattr(self, "_frozen", {}):
                continue
            data = self._get(f"{node.rest}/cluster")
            if isinstance(data, dict):
                return list(data.get("members", []))
        return []

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def leader(self, exclude: Sequence[Node] = ()) -> Node:
        for member in self.members(exclude):
            if member.get("role") == "leader" and member.get("state") == "running":
                return self.node(member["name"])
        raise LookupError("no running leader")

    def role_of(self, node: Node) -> str | None:
        return next((m.get("role") for m in self.members() if m["name"] == node.name), None)

    def healthy(self, exclude: Sequence[Node] = ()) -> bool:
        """A running leader, a synchronous standby streaming from it, every other node streaming too."""
        members = [m for m in self.members(exclude) if m["name"] not in {n.name for n in exclude}]
        wanted = {n.name for n in self.nodes} - {n.name for n in exclude}
        if {m["name"] for m in members} != wanted:
            return False
        roles = [m.get("role") for m in members]
        states_ok = all(m.get("state") in ("running", "streaming") for m in members)
        return roles.count("leader") == 1 and "sync_standby" in roles and states_ok

    def wait_healthy(self, timeout: float = 120, exclude: Sequence[Node] = ()) -> None:
        self._wait(lambda: self.healthy(exclude), timeout, "cluster did not become healthy")

    def wait_leader_other_than(self, old: Node, timeout: float = 60) -> Node:
        found: list[Node] = []

        def promoted() -> bool:
            try:
                leader = self.leader(exclude=[old])
            except LookupError:
                return False
            if leader is old:
                return False
            found.append(leader)
            return True

        self._wait(promoted, timeout, f"no node took over from {old.name}")
        return found[-1]

    def wait_sync_standby(self, timeout: float = 60, exclude: Sequence[Node] = ()) -> None:
        """Until a member streams as the synchronous standby: in strict synchronous mode the primary acknowledges
        no commit before that (after a failover, the remaining standby must first follow the new leader)."""
        self._wait(lambda: any(m.get("role") == "sync_standby" and m.get("state") in ("running", "streaming")
                               for m in self.members(exclude)), timeout, "no synchronous standby")

    def _wait(self, ok: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ok():
                return
            time.sleep(0.3)
        raise TimeoutError(f"{what} within {timeout:.0f} s; members: {self.members()}")

    def logs_tail(self, lines: int = 40) -> str:
        parts = []
        for node in self.nodes:
            for path in (node.log.with_suffix(".out"), node.log):
                if path.exists():
                    parts.append(f"--- {path}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(parts)
