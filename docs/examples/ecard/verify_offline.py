"""An offline verifier of e-card codes written from docs/ecard.md alone (it does not import sscard).

    python verify_offline.py CODE_TEXT KEYS_JSON [REVOCATIONS] [--now UNIX_SECONDS] [--skew SECONDS]

Prints ``valid`` or the refusal's code and exits 0 / 1. Needs ``gmssl-pyx`` and ``cryptography``.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import struct
import sys
import time

import gmssl_pyx
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

SIGNER_ID = b"1234567812345678"
N = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)


def sm2_ok(public: bytes, message: bytes, signature: bytes) -> bool:
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    if len(signature) != 64 or not (0 < r < N and 0 < s < N):
        return False
    return bool(gmssl_pyx.sm2_verify(public, message, encode_dss_signature(r, s), SIGNER_ID))


def revoked_tokens(data: bytes, keys: dict[int, bytes]) -> set[str]:
    cut = data.rfind(b"sig ")
    match = re.fullmatch(rb"sig ([1-9][0-9]*) ([0-9a-f]{128})\n", data[cut:])
    lines = data[:cut].decode("ascii").split("\n")[:-1]
    if match is None or lines[0] != "ESSC-CRL/1" or lines[2] != f"count {len(lines) - 3}":
        raise ValueError("ECARD_CODE_MALFORMED")
    key = keys.get(int(match.group(1)))
    if key is None or not sm2_ok(key, data[:cut], bytes.fromhex(match.group(2).decode())):
        raise ValueError("ECARD_CODE_FORGED")
    return set(lines[3:])


def check(text: str, keys: dict[int, bytes], now: int, skew: int, revoked: set[str]) -> str:
    if not text.startswith("ESSC1.") or not re.fullmatch(r"[A-Za-z0-9_-]{130}", text[6:]):
        return "ECARD_CODE_MALFORMED"
    raw = base64.urlsafe_b64decode(text[6:] + "==")
    version, key_version, token, issued_at, validity, _nonce = struct.unpack(">BH16sIH8s", raw[:33])
    if version != 1 or key_version == 0 or validity == 0:
        return "ECARD_CODE_MALFORMED"
    key = keys.get(key_version)
    if key is None or not sm2_ok(key, raw[:33], raw[33:]):
        return "ECARD_CODE_FORGED"
    if not issued_at - skew <= now <= issued_at + validity:
        return "ECARD_CODE_EXPIRED"
    if token.hex() in revoked:
        return "ECARD_CODE_REVOKED"
    return "valid"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("code")
    parser.add_argument("keys")
    parser.add_argument("revocations", nargs="?")
    parser.add_argument("--now", type=int, default=int(time.time()))
    parser.add_argument("--skew", type=int, default=5)
    args = parser.parse_args()
    published = json.load(open(args.keys, encoding="utf-8"))
    keys = {k["version"]: bytes.fromhex(k["public_key"])[1:] for k in published["keys"] if k["status"] != "revoked"}
    revoked = revoked_tokens(open(args.revocations, "rb").read(), keys) if args.revocations else set()
    text = open(args.code, encoding="ascii").read().strip()
    result = check(text, keys, args.now, args.skew, revoked)
    print(result)
    return 0 if result == "valid" else 1


if __name__ == "__main__":
    sys.exit(main())
