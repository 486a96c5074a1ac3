"""The card's file system and secrets: MF/DDF/DF/EF tree, record and binary EFs, keys, PINs, access rules.
An *environment* is a DDF directly under the MF (SSSE or PSE); keys and PINs are only ever looked up inside
the environment of the file being accessed — that is the firewall between the two."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Algorithm = Literal["3des", "sm4"]
KeyUsage = Literal["ext_auth", "int_auth", "mac", "pin_reload", "pboc_ac"]


@dataclass(frozen=True, slots=True)
class AccessRule:
    """When a read or write is allowed. ``spec`` grammar: ``free`` | ``never`` | terms joined by ``+`` (all
    needed) or ``|`` (any suffices); a term is ``pin``, ``key:KK`` (external auth. with key id KK, hex)
    or ``mac:KK`` (write only: line-protection MAC under key KK, CLA 04)."""

    spec: str

    def terms(self) -> tuple[str, list[str]]:
        if self.spec in ("free", "never"):
            return self.spec, []
        if "|" in self.spec:
            return "any", self.spec.split("|")
        return "all", self.spec.split("+")

    def mac_key(self) -> int | None:
        _, terms = self.terms()
        for t in terms:
            if t.startswith("mac:"):
                return int(t[4:], 16)
        return None


@dataclass(slots=True)
class Key:
    """A card key: id, usage, algorithm, value (16 bytes) and an error counter (0 = blocked)."""

    kid: int
    usage: KeyUsage
    algorithm: Algorithm
    value: bytes
    max_tries: int = 15
    tries_left: int = 15


@dataclass(slots=True)
class Pin:
    """A PIN (digit string) with its try counter; ``tries_left == 0`` means blocked."""

    ref: int
    value: str
    max_tries: int = 3
    tries_left: int = 3


@dataclass(slots=True)
class ElementaryFile:
    """An EF: ``kind`` is ``record`` (list of TLV records) or ``binary`` (transparent bytes)."""

    fid: int
    sfi: int
    kind: Literal["record", "binary"]
    read: AccessRule
    write: AccessRule
    records: list[bytes] = field(default_factory=list)
    content: bytearray = field(default_factory=bytearray)


@dataclass(slots=True)
class DedicatedFile:
    """MF, DDF or DF: a FID, an optional DF name (AID), children, keys, PINs and extra FCI data."""

    fid: int
    aid: bytes = b""
    label: str = ""
    children: dict[int, DedicatedFile | ElementaryFile] = field(default_factory=dict)
    keys: dict[int, Key] = field(default_factory=dict)
    pins: dict[int, Pin] = field(default_factory=dict)
    fci_extra: bytes = b""
    parent: DedicatedFile | None = field(default=None, repr=False, compare=False)

    def add(self, child: DedicatedFile | ElementaryFile) -> None:
        if isinstance(child, DedicatedFile):
            child.parent = self
        self.children[child.fid] = child

    def efs(self) -> list[ElementaryFile]:
        return [c for c in self.children.values() if isinstance(c, ElementaryFile)]

    def dfs(self) -> list[DedicatedFile]:
        return [c for c in self.children.values() if isinstance(c, DedicatedFile)]

    def ef_by_sfi(self, sfi: int) -> ElementaryFile | None:
        for ef in self.efs():
            if ef.sfi == sfi:
                return ef
        return None

    def walk(self) -> list[DedicatedFile]:
        out = [self]
        for df in self.dfs():
            out.extend(df.walk())
        return out

    def environment(self) -> DedicatedFile | None:
        """The DDF directly under the MF that contains this DF (None for the MF itself)."""
        node: DedicatedFile = self
        while node.parent is not None and node.parent.parent is not None:
            node = node.parent
        return node if node.parent is not None else None

    def find_key(self, kid: int) -> Key | None:
        """Look the key up here, then in ancestors up to (and including) the environment DDF, never the MF."""
        node: DedicatedFile | None = self
        while node is not None and node.parent is not None:
            if kid in node.keys:
                return node.keys[kid]
            node = node.parent
        return None

    def find_key_by_usage(self, usage: KeyUsage) -> Key | None:
        node: DedicatedFile | None = self
        while node is not None and node.parent is not None:
            for key in node.keys.values():
                if key.usage == usage:
                    return key
            node = node.parent
        return None

    def find_pin(self, ref: int) -> Pin | None:
        node: DedicatedFile | None = self
        while node is not None and node.parent is not None:
            if ref in node.pins:
                return node.pins[ref]
            node = node.parent
        return None
