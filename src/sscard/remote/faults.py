"""Loss injection for the tests and the demo (docs/cross-region.md "Failure"): a process-wide count of answers
to drop at one hop, and a delay before the home centre handles a message. Set through
``POST /partner/remote/v1/test/faults`` (a centre) or ``POST /hub/v1/test/faults`` (the hub), which answer 404 in
production mode (``SSCARD_MODE=production``): nothing here can be switched on there.

Hops: ``home_answer`` — the home centre committed and its answer to the hub is lost; ``hub_answer`` — the hub
journalled the home centre's answer and its answer to the treating centre is lost; ``centre_answer`` — the
treating centre paid its hospital and the answer to the hospital is lost. ``home_delay_ms``: the home centre
waits before handling (to kill the hub while a request is inside it)."""

from __future__ import annotations

import threading

from sscard.config import get_settings

HOPS = ("home_answer", "hub_answer", "centre_answer")
_lock = threading.Lock()
_drops: dict[str, int] = {}
_delay_ms = 0


def enabled() -> bool:
    return get_settings().mode != "production"


def set_faults(drops: dict[str, int], delay_ms: int = 0) -> dict[str, int]:
    global _delay_ms
    with _lock:
        _drops.clear()
        _drops.update({hop: max(0, int(n)) for hop, n in drops.items() if hop in HOPS})
        _delay_ms = max(0, min(int(delay_ms), 60_000))
        return {**_drops, "home_delay_ms": _delay_ms}


def drop(hop: str) -> bool:
    """True (and one fewer left) if the answer at ``hop`` is to be lost now."""
    if not _drops:
        return False
    with _lock:
        left = _drops.get(hop, 0)
        if left <= 0:
            return False
        _drops[hop] = left - 1
        return True


def delay_seconds() -> float:
    return _delay_ms / 1000
