"""Card image: the whole persistent state of a :class:`VirtualCard` as JSON (file tree, records, keys, PIN
counters, ATC). An image holds the card's own secret keys — treat the file like the chip itself.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, cast

from sscard.chip.cos import PbocData, VirtualCard
from sscard.chip.fs import AccessRule, Algorithm, DedicatedFile, ElementaryFile, Key, KeyUsage, Pin

FORMAT = "sscard-card-image/1"


class ImageError(ValueError):
    """The file is not a card image this version can read."""


def _ef_to(ef: ElementaryFile) -> dict[str, Any]:
    return {
        "type": "ef",
        "fid": f"{ef.fid:04X}",
        "sfi": ef.sfi,
        "kind": ef.kind,
        "read": ef.read.spec,
        "write": ef.write.spec,
        "records": [r.hex().upper() for r in ef.records],
        "content": bytes(ef.content).hex().upper(),
    }


def _df_to(df: DedicatedFile) -> dict[str, Any]:
    return {
        "type": "df",
        "fid": f"{df.fid:04X}",
        "aid": df.aid.hex().upper(),
        "label": df.label,
        "fci_extra": df.fci_extra.hex().upper(),
        "keys": [
            {
                "kid": k.kid,
                "usage": k.usage,
                "algorithm": k.algorithm,
                "value": k.value.hex().upper(),
                "max_tries": k.max_tries,
                "tries_left": k.tries_left,
            }
            for k in df.keys.values()
        ],
        "pins": [
            {"ref": p.ref, "value": p.value, "max_tries": p.max_tries, "tries_left": p.tries_left}
            for p in df.pins.values()
        ],
        "children": [_df_to(c) if isinstance(c, DedicatedFile) else _ef_to(c) for c in df.children.values()],
    }


def to_dict(card: VirtualCard) -> dict[str, Any]:
    """The card's persistent state as plain JSON-able data."""
    pboc = card.pboc
    return {
        "format": FORMAT,
        "generation": card.generation,
        "atr": card.atr.hex().upper(),
        "pboc": None
        if pboc is None
        else {
            "aid": pboc.aid.hex().upper(),
            "aip": pboc.aip.hex().upper(),
            "afl": pboc.afl.hex().upper(),
            "cdol1_len": pboc.cdol1_len,
            "atc": pboc.atc,
            "cvr": pboc.cvr.hex().upper(),
        },
        "mf": _df_to(card.mf),
    }


def _ef_from(d: dict[str, Any]) -> ElementaryFile:
    kind = d["kind"]
    if kind not in ("record", "binary"):
        raise ImageError(f"unknown EF kind {kind!r}")
    return ElementaryFile(
        fid=int(d["fid"], 16),
        sfi=int(d["sfi"]),
        kind=kind,
        read=AccessRule(str(d["read"])),
        write=AccessRule(str(d["write"])),
        records=[bytes.fromhex(r) for r in d["records"]],
        content=bytearray.fromhex(d["content"]),
    )


def _df_from(d: dict[str, Any]) -> DedicatedFile:
    df = DedicatedFile(
        fid=int(d["fid"], 16),
        aid=bytes.fromhex(d["aid"]),
        label=str(d["label"]),
        fci_extra=bytes.fromhex(d["fci_extra"]),
        keys={
            int(k["kid"]): Key(
                kid=int(k["kid"]),
                usage=cast(KeyUsage, k["usage"]),
                algorithm=cast(Algorithm, k["algorithm"]),
                value=bytes.fromhex(k["value"]),
                max_tries=int(k["max_tries"]),
                tries_left=int(k["tries_left"]),
            )
            for k in d["keys"]
        },
        pins={
            int(p["ref"]): Pin(
                ref=int(p["ref"]),
                value=str(p["value"]),
                max_tries=int(p["max_tries"]),
                tries_left=int(p["tries_left"]),
            )
            for p in d["pins"]
        },
    )
    for child in d["children"]:
        df.add(_df_from(child) if child["type"] == "df" else _ef_from(child))
    return df


def from_dict(data: dict[str, Any]) -> VirtualCard:
    """Rebuild a card (in its reset state) from :func:`to_dict` output."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ImageError("not an sscard card image")
    try:
        p = data["pboc"]
        pboc = (
            None
            if p is None
            else PbocData(
                aid=bytes.fromhex(p["aid"]),
                aip=bytes.fromhex(p["aip"]),
                afl=bytes.fromhex(p["afl"]),
                cdol1_len=int(p["cdol1_len"]),
                atc=int(p["atc"]),
                cvr=bytes.fromhex(p["cvr"]),
            )
        )
        return VirtualCard(
            mf=_df_from(data["mf"]),
            atr=bytes.fromhex(data["atr"]),
            generation=int(data["generation"]),
            pboc=pboc,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ImageError(f"corrupt card image: {exc}") from exc


def dumps(card: VirtualCard) -> str:
    return json.dumps(to_dict(card), ensure_ascii=False, indent=1)


def loads(text: str) -> VirtualCard:
    try:
        return from_dict(json.loads(text))
    except json.JSONDecodeError as exc:
        raise ImageError(f"not JSON: {exc}") from exc


def save(card: VirtualCard, path: str | Path) -> None:
    """Write the image atomically (temp file + rename), readable by the owner only."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=".card-", suffix=".tmp", dir=target.parent or Path("."))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(dumps(card))
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load(path: str | Path) -> VirtualCard:
    return loads(Path(path).read_text(encoding="utf-8"))
