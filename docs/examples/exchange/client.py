"""A department's client for sscard's data-sharing interface (docs/exchange.md) — copy it, it needs only the
Python standard library and ``cryptography`` (SM3 and HMAC).

    python client.py --base http://127.0.0.1:8000 --key-id dk_psb_… --secret-hex … \\
        verify card_status 441802199001011234 张三

Every request is signed: X-Signature = lowercase hex HMAC-SM3(secret, METHOD \\n PATH \\n QUERY \\n timestamp
\\n nonce \\n hex SM3(body)), QUERY = the parameters sorted by name, each name=value percent-encoded per RFC 3986
(unreserved characters kept), joined by "&".
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import quote

from cryptography.hazmat.primitives import hashes, hmac


def sm3_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def canonical_query(params: dict[str, str]) -> str:
    pairs = sorted((quote(k, safe="~"), quote(v, safe="~")) for k, v in params.items())
    return "&".join(f"{k}={v}" for k, v in pairs)


def signature(secret: bytes, method: str, path: str, params: dict[str, str], timestamp: str, nonce: str,
              body: bytes) -> str:
    text = "\n".join((method.upper(), path, canonical_query(params), timestamp, nonce, sm3_hex(body)))
    mac = hmac.HMAC(secret, hashes.SM3())
    mac.update(text.encode("utf-8"))
    return mac.finalize().hex()


def call(base: str, key_id: str, secret: bytes, method: str, path: str, params: dict[str, str] | None = None,
         body: bytes = b"", content_type: str = "application/json") -> tuple[int, bytes]:
    """One signed request; returns the HTTP status and the answer's bytes."""
    params = params or {}
    timestamp, nonce = str(int(time.time())), secrets.token_hex(16)
    query = canonical_query(params)
    request = urllib.request.Request(
        base.rstrip("/") + path + (f"?{query}" if query else ""), data=body if method != "GET" else None,
        method=method, headers={"X-Dept-Key": key_id, "X-Timestamp": timestamp, "X-Nonce": nonce,
                                "X-Signature": signature(secret, method, path, params, timestamp, nonce, body),
                                "Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - the base URL is the caller's
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="sscard data-sharing client (docs/exchange.md)")
    parser.add_argument("--base", required=True)
    parser.add_argument("--key-id", required=True)
    parser.add_argument("--secret-hex", required=True)
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("verify", help="核验: item, ID number, name")
    v.add_argument("item")
    v.add_argument("id_number")
    v.add_argument("name")
    v.add_argument("--insurance")
    q = sub.add_parser("query", help="查询: item, ID number")
    q.add_argument("item")
    q.add_argument("id_number")
    b = sub.add_parser("bulk", help="批量核验: a file of id_number,name lines; the answer file to stdout")
    b.add_argument("file")
    b.add_argument("--item", default="card_status")
    args = parser.parse_args(argv)
    secret = bytes.fromhex(args.secret_hex)
    if args.command == "verify":
        doc = {"item": args.item, "id_number": args.id_number, "name": args.name}
        if args.insurance:
            doc["insurance"] = args.insurance
        status, answer = call(args.base, args.key_id, secret, "POST", "/api/v1/exchange/verify",
                              body=json.dumps(doc, ensure_ascii=False).encode("utf-8"))
    elif args.command == "query":
        doc = {"item": args.item, "id_number": args.id_number}
        status, answer = call(args.base, args.key_id, secret, "POST", "/api/v1/exchange/query",
                              body=json.dumps(doc, ensure_ascii=False).encode("utf-8"))
    else:
        with open(args.file, "rb") as handle:
            data = handle.read()
        status, answer = call(args.base, args.key_id, secret, "POST", "/api/v1/exchange/bulk/verify",
                              {"item": args.item}, data, "text/csv")
    sys.stdout.write(answer.decode("utf-8"))
    if not answer.endswith(b"\n"):
        sys.stdout.write("\n")
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
