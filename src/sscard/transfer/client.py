"""Sending a signed message to a partner city's centre: ``POST <base>/partner/transfer/v1/messages`` with the
envelope as the body; the answer is the partner's signed envelope (200) or an error object (4xx) with a stable
code. A connection failure or a 5xx is ``TRANSFER_PARTNER_UNAVAILABLE`` (the message stays pending and is sent
again with the same id); a refusal is ``TRANSFER_PARTNER_REFUSED`` carrying the partner's code."""

from __future__ import annotations

from typing import Protocol

import httpx

from sscard.transfer.errors import TransferPartnerRefused, TransferPartnerUnavailable

PATH = "/partner/transfer/v1/messages"
CONTENT_TYPE = "application/json"


class Sender(Protocol):
    def __call__(self, city: str, url: str, raw: bytes) -> bytes: ...


def http_send(city: str, url: str, raw: bytes, timeout: float = 30.0) -> bytes:
    try:
        with httpx.Client(timeout=timeout, trust_env=False) as client:
            answer = client.post(url.rstrip("/") + PATH, content=raw, headers={"Content-Type": CONTENT_TYPE})
    except httpx.HTTPError as exc:
        raise TransferPartnerUnavailable(f"{city}: {type(exc).__name__}", city=city) from exc
    if answer.status_code == 200:
        return answer.content
    if answer.status_code >= 500:
        raise TransferPartnerUnavailable(f"{city}: HTTP {answer.status_code}", city=city)
    try:
        code = str(answer.json()["error"]["code"])[:40]
    except (ValueError, KeyError, TypeError):
        code = f"HTTP_{answer.status_code}"
    raise TransferPartnerRefused(f"{city} answered {code}", city=city, code=code)
