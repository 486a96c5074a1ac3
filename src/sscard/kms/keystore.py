"""Key storage: every key is kept only wrapped (AES-256-GCM under a KEK, metadata bound as AAD), in memory or
in one JSON file written atomically. No database: the keystore is a file an HSM export could replace.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from sscard.kms.storefile import write_private_json

Level = Literal["ministry", "province", "city"]
FORMAT = "sscard-keystore/1"


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """One wrapped key: which key (name, algorithm), where in the hierarchy (level, scope), which version."""

    name: str
    algorithm: str
    level: Level
    scope: str  # "000000" for the ministry, else the 6-digit province or city code
    version: int
    wrapped: str  # hex of nonce (12) ‖ AES-GCM ciphertext+tag
    created: str
    status: Literal["active", "retired"] = "active"

    @property
    def ident(self) -> tuple[str, str, str, str, int]:
        return (self.name, self.algorithm, self.level, self.scope, self.version)

    def aad(self) -> bytes:
        return "|".join(map(str, self.ident)).encode("ascii")


class KeyStore:
    """Wrapped key entries, optionally persisted to ``path`` (JSON). Entries are never stored unwrapped."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._entries: dict[tuple[str, str, str, str, int], KeyEntry] = {}
        if self.path is not None and self.path.exists():
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT:
                raise ValueError(f"{self.path} is not an sscard keystore")
            for raw in data["entries"]:
                entry = KeyEntry(**raw)
                self._entries[entry.ident] = entry

    def get(self, name: str, algorithm: str, level: Level, scope: str, version: int) -> KeyEntry | None:
        return self._entries.get((name, algorithm, level, scope, version))

    def put(self, entries: list[KeyEntry]) -> None:
        for entry in entries:
            self._entries[entry.ident] = entry
        self._flush()

    def entries(self) -> list[KeyEntry]:
        return list(self._entries.values())

    def _flush(self) -> None:
        if self.path is None:
            return
        payload = {"format": FORMAT, "entries": [asdict(e) for e in self._entries.values()]}
        write_private_json(self.path, payload, prefix=".keystore-")


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
