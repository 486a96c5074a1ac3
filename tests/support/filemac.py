"""Test helpers for the keyed exchange files (bank SSB1/SSR1, employer SSE1): re-MAC a changed file the way
only the holder of the partner's key could, so the checks after the MAC can be reached."""

from __future__ import annotations

import hashlib

from sscard.kms.partners import PartnerKeys, default_keys

_KIND = {b"SSB1": "bank", b"SSR1": "bank", b"SSE1": "employer", b"LMC1": "legacy"}


def partner_of(data: bytes) -> str:
    """The partner a bank or employer file names in its header (field 3: bank code or USCC)."""
    head = data.split(b"\n", 1)[0].split(b"|")
    return f"{_KIND.get(head[1], 'bank')}:{head[2].decode('ascii', 'replace')}"


def remac(data: bytes, partner: str | None = None, keys: PartnerKeys | None = None) -> bytes:
    """The MAC recomputed under ``partner``'s key (default: the one the header names); the rest kept."""
    start = data.rindex(b"\n", 0, len(data) - 1) + 1
    prefix = data[:start] + b"|".join(data[start:-1].split(b"|")[:-2]) + b"|"
    return prefix + (keys or default_keys()).seal(partner or partner_of(data), (prefix,))


def resha(data: bytes) -> bytes:
    """Only the trailer's SHA-256 recomputed: all a forger without the key can do."""
    start = data.rindex(b"\n", 0, len(data) - 1) + 1
    trailer = data[start:-1].split(b"|")
    trailer[-3] = hashlib.sha256(data[:start]).hexdigest().encode()
    return data[:start] + b"|".join(trailer) + b"\n"


def reseal(data: bytes, partner: str | None = None, keys: PartnerKeys | None = None) -> bytes:
    """SHA-256 and MAC recomputed after an edit: a file its key holder could have written."""
    return remac(resha(data), partner, keys)


def edit_field(data: bytes, index: int, field: int, value: str) -> bytes:
    """The file with field ``field`` of line ``index`` (both from 0; fields split on ``|``) set to ``value``."""
    lines = data.decode().split("\n")
    parts = lines[index].split("|")
    parts[field] = value
    lines[index] = "|".join(parts)
    return "\n".join(lines).encode()
