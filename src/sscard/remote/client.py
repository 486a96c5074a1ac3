"""How signed messages travel: a centre posts to the hub (``POST <hub>/hub/v1/messages``), the hub posts to the
destination centre (``POST <centre>/partner/remote/v1/messages``); the body is the envelope, the answer (200) the
answering side's signed envelope. A connection failure, a timeout or a 5xx is ``REMOTE_CENTRE_UNAVAILABLE`` (the
caller may send the same message again: every side is idempotent by message id); a 4xx carries the other side's
stable code as ``REMOTE_REFUSED``."""

from __future__ import annotations

import socket
from typing import Protocol

import httpx

from sscard.remote.errors import RemoteCentreUnavailable, RemoteRefused

HUB_PATH = "/hub/v1/messages"
CENTRE_PATH = "/partner/remote/v1/messages"
CONTENT_TYPE = "application/json"


class Sender(Protocol):
    def __call__(self, url: str, raw: bytes, timeout: float) -> bytes: ...


_client: httpx.Client | None = None


def _pooled() -> httpx.Client:
    """One client per process (its connections kept alive; creating one costs an SSL context)."""
    global _client
    if _client is None:
        # TCP_NODELAY: a POST's headers and body may go out as two writes; none waits for the peer's ACK
        transport = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
                                        limits=httpx.Limits(max_connections=200, max_keepalive_connections=64))
        _client = httpx.Client(trust_env=False, transport=transport)
    return _client


def http_send(url: str, raw: bytes, timeout: float) -> bytes:
    """POST ``raw`` to ``url`` (a full URL) with this attempt's ``timeout``; the answer's bytes."""
    try:
        answer = _pooled().post(url, content=raw, headers={"Content-Type": CONTENT_TYPE}, timeout=timeout)
    except httpx.HTTPError as exc:
        raise RemoteCentreUnavailable(f"{type(exc).__name__}", url=url.split("/", 3)[2]) from exc
    if answer.status_code == 200:
        return answer.content
    if answer.status_code >= 500:
        raise RemoteCentreUnavailable(f"HTTP {answer.status_code}", url=url.split("/", 3)[2])
    try:
        code = str(answer.json()["error"]["code"])[:40]
    except (ValueError, KeyError, TypeError):
        code = f"HTTP_{answer.status_code}"
    raise RemoteRefused(f"answered {code}", code=code)
