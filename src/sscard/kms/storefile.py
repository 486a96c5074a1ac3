"""The key stores' files: written whole, private to the owner (0600), replaced atomically, so a crash leaves
either the old store or the new one and never a half-written or world-readable file."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def write_private_json(path: Path, payload: Any, *, prefix: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=1)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_stamp(path: Path | None) -> tuple[int, int] | None:
    """What tells a store that another process rewrote its file: (mtime ns, size); None for no file."""
    if path is None:
        return None
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size)


def read_entries(path: Path, file_format: str) -> list[dict[str, Any]]:
    """The raw entries of a store file of ``file_format``; ValueError (or KeyError/TypeError/AttributeError from a
    malformed document) for anything else — the caller turns it into its own stable error."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != file_format:
        raise ValueError(data.get("format"))
    entries = data["entries"]
    if not isinstance(entries, list):
        raise TypeError("entries")
    return entries


def write_entries(path: Path, file_format: str, entries: list[dict[str, Any]], *, prefix: str) -> None:
    write_private_json(path, {"format": file_format, "entries": entries}, prefix=prefix)
