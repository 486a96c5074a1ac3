"""A department's receiver of sscard's subscribed events (docs/exchange.md "Subscriptions") — copy it; it needs
only the Python standard library and ``cryptography``.

sscard POSTs each event as JSON to the department's endpoint, signed exactly as the department signs its own
requests (X-Dept-Key, X-Timestamp, X-Nonce, X-Signature), with ``X-Event-Id`` = the body's ``event_id``. Delivery
is at least once: answer 2xx once the event is stored; the same ``event_id`` may come again (a lost answer) and
must be stored once.

    python receiver.py --port 9100 --key-id dk_… --secret-hex … --store events.jsonl [--fail-first 1]

``--fail-first N`` stores the first N events but answers 503 (as if the answer were lost), to show a retry.
"""

from __future__ import annotations

import argparse
import hmac as std_hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlsplit

from cryptography.hazmat.primitives import hashes, hmac


def sm3_hex(data: bytes) -> str:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize().hex()


def expected_signature(secret: bytes, method: str, path: str, query: str, timestamp: str, nonce: str,
                       body: bytes) -> str:
    pairs = sorted((quote(k, safe="~"), quote(v, safe="~")) for k, v in parse_qsl(query, keep_blank_values=True))
    canonical = "&".join(f"{k}={v}" for k, v in pairs)
    mac = hmac.HMAC(secret, hashes.SM3())
    mac.update("\n".join((method, path, canonical, timestamp, nonce, sm3_hex(body))).encode("utf-8"))
    return mac.finalize().hex()


class Receiver:
    def __init__(self, key_id: str, secret: bytes, store: Path, fail_first: int) -> None:
        self.key_id, self.secret, self.store, self.fail_left = key_id, secret, store, fail_first
        self.lock = threading.Lock()
        self.seen_nonces: dict[str, float] = {}
        self.accepted: set[str] = set()
        if store.exists():
            for line in store.read_text("utf-8").splitlines():
                record = json.loads(line)
                if record["kind"] == "accepted":
                    self.accepted.add(record["event_id"])

    def _log(self, record: dict[str, object]) -> None:
        with self.store.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> int:
        parts = urlsplit(target)
        ts, nonce = headers.get("x-timestamp", ""), headers.get("x-nonce", "")
        if headers.get("x-dept-key") != self.key_id or not ts.isdigit() or abs(time.time() - int(ts)) > 300:
            return 401
        good = expected_signature(self.secret, method, parts.path, parts.query, ts, nonce, body)
        if not std_hmac.compare_digest(good, headers.get("x-signature", "")):
            return 401
        event = json.loads(body)
        with self.lock:
            if nonce in self.seen_nonces:
                return 409
            self.seen_nonces[nonce] = time.time()
            self._log({"kind": "received", "event_id": event["event_id"]})
            if event["event_id"] not in self.accepted:  # idempotent by event id: stored once
                self.accepted.add(event["event_id"])
                self._log({"kind": "accepted", "event_id": event["event_id"], "event": event})
            if self.fail_left > 0:
                self.fail_left -= 1
                return 503
        return 204


def main() -> None:
    parser = argparse.ArgumentParser(description="receive sscard's subscribed events")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--key-id", required=True)
    parser.add_argument("--secret-hex", required=True)
    parser.add_argument("--store", required=True)
    parser.add_argument("--fail-first", type=int, default=0)
    args = parser.parse_args()
    receiver = Receiver(args.key_id, bytes.fromhex(args.secret_hex), Path(args.store), args.fail_first)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.handle("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print(f"listening on http://{args.host}:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
