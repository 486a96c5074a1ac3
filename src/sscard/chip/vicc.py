"""Serve a card to a real pcscd through vsmartcard-vpcd (the vicc side of its protocol), over loopback only.
Frames: 2-byte big-endian length + payload; 1-byte payloads are control codes (00 power off, 01 power on,
02 reset, 04 get ATR — only the last is answered); longer payloads are C-APDUs."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sscard.chip.cos import VirtualCard
from sscard.chip.image import save

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
POWER_OFF, POWER_ON, RESET, GET_ATR = 0, 1, 2, 4
log = logging.getLogger(__name__)


class ViccError(RuntimeError):
    """The vpcd endpoint is not acceptable or not reachable."""


def parse_endpoint(text: str) -> tuple[str, int]:
    """``HOST:PORT`` with a loopback host (vpcd must never be reached over a network)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ViccError(f"expected HOST:PORT, got {text!r}")
    host = host.strip("[]")
    if host not in LOOPBACK:
        raise ViccError(f"refusing non-loopback vpcd host {host!r}; use 127.0.0.1")
    return ("127.0.0.1" if host == "localhost" else host), int(port)


def _recv_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _send(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(len(payload).to_bytes(2, "big") + payload)


def _connect(host: str, port: int, deadline: float, stop: threading.Event) -> socket.socket | None:
    while not stop.is_set():
        try:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.connect((host, port))
            return sock
        except OSError as exc:
            sock.close()
            if time.monotonic() > deadline:
                raise ViccError(f"vpcd not reachable at {host}:{port}: {exc}") from exc
            stop.wait(0.2)
    return None


def serve_session(
    card: VirtualCard,
    sock: socket.socket,
    on_change: Callable[[], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Answer vpcd until it closes the connection (or ``stop`` is set)."""
    sock.settimeout(0.5)
    while stop is None or not stop.is_set():
        try:
            header = _recv_exact(sock, 2)
        except TimeoutError:
            continue
        if header is None:
            return
        sock.settimeout(None)
        payload = _recv_exact(sock, int.from_bytes(header, "big"))
        sock.settimeout(0.5)
        if payload is None:
            return
        if len(payload) == 1:
            code = payload[0]
            if code in (POWER_ON, RESET, POWER_OFF):
                card.reset()
            elif code == GET_ATR:
                _send(sock, card.atr)
            continue
        _send(sock, card.transmit(payload))
        if on_change is not None:
            on_change()


def serve(
    card: VirtualCard,
    endpoint: str,
    image_path: Path | None = None,
    *,
    once: bool = False,
    connect_timeout: float = 30.0,
    stop: threading.Event | None = None,
) -> None:
    """Connect the card to vpcd at ``endpoint`` and serve it; reconnect after vpcd goes away unless ``once``.
    With ``image_path``, the image is saved after every APDU so a killed server loses nothing."""
    host, port = parse_endpoint(endpoint)
    stop = stop or threading.Event()

    def persist() -> None:
        if image_path is not None:
            save(card, image_path)

    while not stop.is_set():
        sock = _connect(host, port, time.monotonic() + connect_timeout, stop)
        if sock is None:
            return
        log.info("card connected to vpcd at %s:%d", host, port)
        try:
            serve_session(card, sock, persist, stop)
        except OSError as exc:
            log.warning("vpcd connection lost: %s", exc)
        finally:
            sock.close()
        if once:
            return
