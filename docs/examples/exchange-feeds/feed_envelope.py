"""A department's side of the file ferry (docs/exchange-feeds.md), in one file that needs only `cryptography`:
seal a FEED1 (or BULK1, docs/exchange.md) plaintext into its FEEDX1 envelope, or open an envelope (ours: an answer) and print its plaintext.

    python feed_envelope.py seal plain.txt KEY_HEX VERSION [IV_HEX] > file.feed
    python feed_envelope.py open file.feed KEY_HEX > plain.txt

KEY_HEX is the partner's file key (32 bytes, hex) of key version VERSION, as `sscard kms partner-key export`
hands it over (the demo key: SM3("sscard demo partner key|" + partner), version 1). IV_HEX (16 bytes) is random
unless given. The SM4 key is derived from the file key; the MAC is HMAC-SM3 over every byte before it.
"""

from __future__ import annotations

import base64
import hmac
import os
import sys

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    h = crypto_hmac.HMAC(key, hashes.SM3())
    h.update(data)
    return h.finalize()


def encryption_key(file_key: bytes, partner: str) -> bytes:
    return hmac_sm3(file_key, b"sscard feed encryption|" + partner.encode("ascii"))[:16]


def seal(plain: bytes, file_key: bytes, version: int, iv: bytes) -> bytes:
    header = plain.split(b"\n", 1)[0].decode("ascii").split("|")  # H|FEED1|partner|kind|file_id|seq|…
    partner, file_id, seq = header[2], header[4], header[5]
    if header[1] == "BULK1":  # a bulk verification file: H|BULK1|partner|file_id|item|count|…, sequence 1
        file_id, seq = header[3], "1"
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    enc = Cipher(algorithms.SM4(encryption_key(file_key, partner)), modes.CBC(iv)).encryptor()
    cipher = enc.update(padded) + enc.finalize()
    prefix = f"X|FEEDX1|{partner}|{file_id}|{seq}|{iv.hex()}|".encode() + base64.b64encode(cipher) + \
        f"|{partner}:v{version}|".encode()
    return prefix + hmac_sm3(file_key, prefix).hex().encode() + b"\n"


def open_envelope(data: bytes, file_key: bytes) -> bytes:
    fields = data.rstrip(b"\n").split(b"|")
    if len(fields) != 9 or fields[:2] != [b"X", b"FEEDX1"]:
        raise ValueError("not a FEEDX1 envelope")
    mac_at = len(data) - 1 - 64
    if not hmac.compare_digest(hmac_sm3(file_key, data[:mac_at]).hex().encode(), data[mac_at:-1]):
        raise ValueError("wrong MAC")
    partner = fields[2].decode()
    dec = Cipher(algorithms.SM4(encryption_key(file_key, partner)), modes.CBC(bytes.fromhex(fields[5].decode())))
    padded = dec.decryptor().update(base64.b64decode(fields[6], validate=True))
    unpadder = padding.PKCS7(128).unpadder()
    return unpadder.update(padded) + unpadder.finalize()


def main(argv: list[str]) -> int:
    if len(argv) >= 5 and argv[1] == "seal":
        iv = bytes.fromhex(argv[5]) if len(argv) > 5 else os.urandom(16)
        with open(argv[2], "rb") as fh:
            sys.stdout.buffer.write(seal(fh.read(), bytes.fromhex(argv[3]), int(argv[4]), iv))
        return 0
    if len(argv) == 4 and argv[1] == "open":
        with open(argv[2], "rb") as fh:
            sys.stdout.buffer.write(open_envelope(fh.read(), bytes.fromhex(argv[3])))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
