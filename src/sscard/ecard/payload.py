"""The e-card code as it travels in the QR code, and the revocation list: exact byte layouts, parsing and the
offline checks a verifier makes with the published public keys (docs/ecard.md). Pure: no database, no clock.

Code text: ``ESSC1.`` + base64url (RFC 4648 §5, no padding) of 97 bytes, big-endian::

    0   1  version      = 1
    1   2  key version  (the bureau's SM2 key that signed)
    3  16  e-card token (opaque, random; never the ID or card number)
    19  4  issued at    (Unix seconds, UTC)
    23  2  validity     (seconds)
    25  8  nonce        (random)
    33 64  SM2 signature r ‖ s over bytes 0–32 (SM3, signer ID 1234567812345678)
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sscard.crypto import sm2
from sscard.ecard.errors import EcardCodeExpired, EcardCodeForged, EcardCodeMalformed

PREFIX = "ESSC1."
VERSION = 1
_HEADER = struct.Struct(">BH16sIH8s")
SIGNED_LEN = _HEADER.size  # 33
CODE_LEN = SIGNED_LEN + sm2.SIGNATURE_LEN  # 97
TEXT_LEN = len(PREFIX) + 130  # base64url of 97 bytes without padding
_B64URL = re.compile(r"[A-Za-z0-9_-]{130}")

CRL_FORMAT = "ESSC-CRL/1"
_CRL_TOKEN = re.compile(r"[0-9a-f]{32}")
_CRL_SIG = re.compile(r"sig ([1-9][0-9]{0,4}) ([0-9a-f]{128})\n")
CRL_MAX = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Code:
    version: int
    key_version: int
    token: bytes
    issued_at: int
    validity: int
    nonce: bytes
    signature: bytes

    @property
    def signed(self) -> bytes:
        """The exact bytes the signature covers."""
        return _HEADER.pack(self.version, self.key_version, self.token, self.issued_at, self.validity, self.nonce)

    @property
    def token_hex(self) -> str:
        return self.token.hex()

    @property
    def nonce_hex(self) -> str:
        return self.nonce.hex()

    @property
    def expires_at(self) -> int:
        return self.issued_at + self.validity

    def text(self) -> str:
        raw = self.signed + self.signature
        return PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unsigned(key_version: int, token: bytes, issued_at: int, validity: int, nonce: bytes) -> Code:
    """A code before signing (its ``signed`` bytes are what the KMS signs)."""
    if len(token) != 16 or len(nonce) != 8 or not (0 < key_version < 1 << 16) or not (0 < validity < 1 << 16):
        raise ValueError("token 16 bytes, nonce 8, key version and validity 1..65535")
    return Code(VERSION, key_version, token, issued_at, validity, nonce, b"")


def parse(text: str) -> Code:
    """The code in ``text``; ECARD_CODE_MALFORMED for anything that is not exactly a version-1 code."""
    if not isinstance(text, str) or len(text) > TEXT_LEN + 64:
        raise EcardCodeMalformed("oversized")
    text = text.strip()
    if not text.startswith(PREFIX):
        raise EcardCodeMalformed(f"the code must start with {PREFIX}")
    body = text[len(PREFIX):]
    if not _B64URL.fullmatch(body):
        raise EcardCodeMalformed(f"expected {TEXT_LEN - len(PREFIX)} characters of base64url after the prefix")
    try:
        raw = base64.urlsafe_b64decode(body + "==")
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - the pattern admits only the alphabet
        raise EcardCodeMalformed("malformed base64url") from exc
    if len(raw) != CODE_LEN or base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii") != body:
        raise EcardCodeMalformed("not the canonical base64url of a code")
    version, key_version, token, issued_at, validity, nonce = _HEADER.unpack_from(raw)
    if version != VERSION:
        raise EcardCodeMalformed(f"unknown code version {version}")
    if key_version == 0 or validity == 0:
        raise EcardCodeMalformed("key version and validity must be positive")
    return Code(version, key_version, token, issued_at, validity, nonce, raw[SIGNED_LEN:])


def check(code: Code, public_keys: Mapping[int, bytes], now: int, skew: int) -> None:
    """The offline checks: the signature under the published key of its version (ECARD_CODE_FORGED, also for an
    unknown or revoked key version), then the time window ``issued_at - skew ≤ now ≤ issued_at + validity``
    (ECARD_CODE_EXPIRED). The revocation list and one-time use are the verifier's next steps."""
    key = public_keys.get(code.key_version)
    if key is None or not sm2.verify(key, code.signed, code.signature):
        raise EcardCodeForged(key_version=code.key_version)
    if now < code.issued_at - skew:
        raise EcardCodeExpired("issued in the future (check the verifier's clock)")
    if now > code.expires_at:
        raise EcardCodeExpired()


# ---------------------------------------------------------------------------------------------------- revocations


def crl_body(generated_at: dt.datetime, tokens: Iterable[str]) -> bytes:
    """The signed part of a revocation list: format line, time line, count line, one token per line (sorted)."""
    listed = sorted(set(tokens))
    when = generated_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = [CRL_FORMAT, f"generated {when}", f"count {len(listed)}", *listed]
    return ("\n".join(lines) + "\n").encode("ascii")


def crl_text(body: bytes, key_version: int, signature: bytes) -> bytes:
    return body + f"sig {key_version} {signature.hex()}\n".encode("ascii")


@dataclass(frozen=True, slots=True)
class RevocationList:
    generated_at: dt.datetime
    tokens: frozenset[str]
    key_version: int


def parse_crl(data: bytes, public_keys: Mapping[int, bytes]) -> RevocationList:
    """A revocation list checked against the published keys (ECARD_CODE_MALFORMED / ECARD_CODE_FORGED)."""
    if len(data) > CRL_MAX:
        raise EcardCodeMalformed("revocation list oversized")
    cut = data.rfind(b"sig ")
    if cut <= 0 or data[cut - 1:cut] != b"\n":
        raise EcardCodeMalformed("revocation list without its signature line")
    try:
        body, tail = data[:cut].decode("ascii"), data[cut:].decode("ascii")
    except UnicodeDecodeError as exc:
        raise EcardCodeMalformed("revocation list is not ASCII") from exc
    sig = _CRL_SIG.fullmatch(tail)
    lines = body.split("\n")[:-1]
    if sig is None or len(lines) < 3 or lines[0] != CRL_FORMAT or not lines[1].startswith("generated ") \
            or lines[2] != f"count {len(lines) - 3}" or not all(_CRL_TOKEN.fullmatch(t) for t in lines[3:]):
        raise EcardCodeMalformed("not an ESSC-CRL/1 revocation list")
    try:
        generated = dt.datetime.strptime(lines[1][len("generated "):], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError as exc:
        raise EcardCodeMalformed("bad generation time") from exc
    version = int(sig.group(1))
    key = public_keys.get(version)
    if key is None or not sm2.verify(key, data[:cut], bytes.fromhex(sig.group(2))):
        raise EcardCodeForged("the revocation list's signature does not verify", key_version=version)
    return RevocationList(generated, frozenset(lines[3:]), version)
