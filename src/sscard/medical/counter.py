"""The designated institution's counter: with the card number read from the chip (``sscard.terminal``, with
the PSAM's mutual authentication on a 3rd-generation card; the CLI reads it), the centre is asked over its
HTTP API — 2206 for the split the holder is shown, 2207 to settle.

A 2207 whose answer does not arrive (a dropped connection, a timeout) is sent again with the same message id:
the centre answers a repeated message id with its first answer (``replayed: true``), so the bill is paid once
however often the counter retries. Nothing here keeps state; the message id is the counter's receipt.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from sscard.medical.errors import CentreRefused, CentreUnreachable
from sscard.medical.presence import HEADER

PRE_SETTLEMENTS = "/api/v1/medical/pre-settlements"
SETTLEMENTS = "/api/v1/medical/settlements"


@dataclass(frozen=True)
class CounterResult:
    msg_id: str
    card_no: str
    answer: dict[str, Any]
    attempts: int


def settle_card(client: httpx.Client, api_key: str, card_no: str, bill: dict[str, Any], *,
                trial: bool = False, terminal_no: str | None = None, msg_id: str | None = None,
                attempts: int = 3, backoff_seconds: float = 0.5,
                prove: Callable[[bytes], str] | None = None) -> CounterResult:
    """Pre-settle (``trial``) or settle ``bill`` (the 2207 ``bill`` object) for the card ``card_no`` at the
    centre ``client`` talks to. A settlement carries the proof of card presence ``prove`` makes from the exact
    body bytes (the chip's ARQC: ``ImageCardReader.prove_settlement``; the ``X-Card-Presence`` header), made
    once: a settlement whose answer is lost is re-sent, same bytes, same proof, same message id, up to
    ``attempts`` times; the centre's refusal (its error code and message) is ``CentreRefused``."""
    msg_id = msg_id or f"CTR{uuid.uuid4().hex[:24].upper()}"
    body: dict[str, Any] = {"msg_id": msg_id, "card_no": card_no, "bill": bill}
    if terminal_no is not None:
        body["terminal_no"] = terminal_no
    path = PRE_SETTLEMENTS if trial else SETTLEMENTS
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = {"X-Institution-Key": api_key, "Content-Type": "application/json"}
    if prove is not None:  # 2206 too: its split tells what the personal account would pay
        headers[HEADER] = prove(raw)
    for attempt in range(1, max(1, attempts) + 1):
        try:
            response = client.post(path, content=raw, headers=headers)
        except httpx.TransportError as exc:
            if attempt >= attempts:
                raise CentreUnreachable(f"{type(exc).__name__}: {exc}", msg_id=msg_id) from None
            time.sleep(backoff_seconds * attempt)
            continue
        if response.status_code == 200:
            return CounterResult(msg_id, card_no, response.json(), attempt)
        raise CentreRefused(_describe(response), msg_id=msg_id, status=response.status_code,
                            centre_code=_code(response))
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _code(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return str(response.status_code)


def _describe(response: httpx.Response) -> str:
    try:
        error = response.json()["error"]
        return f"{error['code']}: {error.get('message_en') or error.get('message')}"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}: {response.text[:200]}"
