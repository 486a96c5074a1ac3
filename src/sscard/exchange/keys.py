"""Department secrets at rest (sealed under the KMS KEK, bound to their key id) and who a department acts as."""

from __future__ import annotations

import threading

from sscard.access import Actor, Role
from sscard.kms.sealed import open_sealed

SECRET_PURPOSE = "exchange_department_key"


def key_aad(key_id: str) -> str:
    return f"exchange_key:{key_id}"


def department_actor(code: str) -> Actor:
    """The actor of a department's request in every audit record (``dept:<code>``, role department)."""
    return Actor(operator_id=None, username=f"dept:{code}", role=Role.DEPARTMENT)


class SecretCache:
    """Opened secrets by (key id, sealed value): the sealed value is read from the database on every request
    (a revoked key is refused at once), only the AES-GCM opening is saved."""

    def __init__(self) -> None:
        self._opened: dict[tuple[str, str], bytes] = {}
        self._lock = threading.Lock()

    def secret(self, key_id: str, sealed: str) -> bytes:
        found = self._opened.get((key_id, sealed))
        if found is None:
            found = open_sealed(sealed, SECRET_PURPOSE, key_aad(key_id))
            with self._lock:
                if len(self._opened) > 10_000:
                    self._opened.clear()
                self._opened[(key_id, sealed)] = found
        return found


SECRETS = SecretCache()
