"""How signed messages travel: a centre posts to the hub (``POST <hub>/hub/v1/messages``), the hub posts to the
destination centre (``POST <centre>/partner/remote/v1/messages``); the body is the envelope, the answer (200) the
answering side's signed envelope. A connection failure, a timeout or a 5xx is ``REMOTE_CENTRE_UNAVAILABLE`` (the
caller may send the same message again: every side is idempotent by message id); a 4xx carries the other side's
stable code as ``REMOTE_REFUSED``."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from typing import Protocol
from urllib.parse import urlsplit

from sscard.remote.errors import RemoteCentreUnavailable, RemoteRefused

HUB_PATH = "/hub/v1/messages"
CENTRE_PATH = "/partner/remote/v1/messages"
CONTENT_TYPE = "application/json"


class Sender(Protocol):
    def __call__(self, url: str, raw: bytes, timeout: float) -> bytes: ...


# Keep-alive connections per thread and peer, on the standard library's http.client rather than httpx: a
# remote settlement makes two of these calls (treating centre → hub, hub → home centre) on a path where the
# client's own CPU showed: httpx took about a sixth of the hub's and an eighth of the treating centre's CPU
# per message (py-spy, bench/remote.py). http.client sends the headers and a bytes body in one write (no
# Nagle/delayed-ACK stall) and the connection stays open between calls; TCP_NODELAY is set anyway.
_local = threading.local()


def _connection(scheme: str, netloc: str, timeout: float) -> http.client.HTTPConnection:
    pool: dict[tuple[str, str], http.client.HTTPConnection] = _local.__dict__.setdefault("pool", {})
    conn = pool.get((scheme, netloc))
    if conn is None:
        kind = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        conn = pool[(scheme, netloc)] = kind(netloc, timeout=timeout)
    conn.timeout = timeout
    if conn.sock is not None:
        conn.sock.settimeout(timeout)
    return conn


def _post(conn: http.client.HTTPConnection, path: str, raw: bytes) -> tuple[int, bytes]:
    if conn.sock is None:
        conn.connect()
        sock = conn.sock
        assert sock is not None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn.request("POST", path, body=raw, headers={"Content-Type": CONTENT_TYPE, "Content-Length": str(len(raw))})
    answer = conn.getresponse()
    body = answer.read()
    if answer.will_close:
        conn.close()
    return answer.status, body


def _drop(scheme: str, netloc: str) -> None:
    conn = _local.__dict__.get("pool", {}).pop((scheme, netloc), None)
    if conn is not None:
        conn.close()


def http_send(url: str, raw: bytes, timeout: float) -> bytes:
    """POST ``raw`` to ``url`` (a full URL) with this attempt's ``timeout``; the answer's bytes. A kept-alive
    connection the peer closed meanwhile is opened again once at once (the message is idempotent by its id)."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    deadline = time.monotonic() + timeout
    try:
        conn = _connection(parts.scheme, parts.netloc, timeout)
        reused = conn.sock is not None
        try:
            status, content = _post(conn, path, raw)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            _drop(parts.scheme, parts.netloc)
            if not reused:
                raise
            conn = _connection(parts.scheme, parts.netloc, max(0.01, deadline - time.monotonic()))
            status, content = _post(conn, path, raw)
    except (OSError, http.client.HTTPException) as exc:
        _drop(parts.scheme, parts.netloc)
        raise RemoteCentreUnavailable(f"{type(exc).__name__}", url=parts.netloc) from exc
    if status == 200:
        return content
    if status >= 500:
        raise RemoteCentreUnavailable(f"HTTP {status}", url=parts.netloc)
    try:
        code = str(json.loads(content)["error"]["code"])[:40]
    except (ValueError, KeyError, TypeError):
        code = f"HTTP_{status}"
    raise RemoteRefused(f"answered {code}", code=code)
