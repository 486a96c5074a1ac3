"""The e-card for verifiers: online verification of a scanned code (an institution's ``X-Institution-Key`` or an
operator's bearer token), and — public, for offline verifiers — the signed revocation list and the public keys
at a well-known URL (docs/ecard.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from sscard.access import Actor
from sscard.api.deps import DB, current_actor, get_db
from sscard.ecard import service as ecard
from sscard.ecard.schemas import VerifyIn, VerifyOut
from sscard.medical import institutions

router = APIRouter(prefix="/ecard", tags=["ecard"])
well_known = APIRouter(tags=["ecard"])
_bearer = HTTPBearer(auto_error=False, description="an operator's token (POST /api/v1/auth/token)")


def verifier(request: Request,
             credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Actor:
    """An institution (X-Institution-Key) or an operator (bearer token)."""
    key = request.headers.get("X-Institution-Key")
    if key:
        actor = institutions.authenticate(get_db(request), key).actor
        request.state.actor = actor
        return actor
    return current_actor(request, credentials)


@router.post("/verify", response_model=VerifyOut)
def verify(body: VerifyIn, actor: Annotated[Actor, Depends(verifier)], db: DB) -> VerifyOut:
    """valid / expired / revoked / forged / malformed / used, with the stable code; only the audit is written."""
    return ecard.verify(db, actor, body.code)


@router.get("/revocations", response_class=Response,
            responses={200: {"content": {"text/plain": {}}, "description": "ESSC-CRL/1, signed (docs/ecard.md)"}})
def revocations(db: DB) -> Response:
    return Response(ecard.revocation_list(db), media_type="text/plain; charset=us-ascii",
                    headers={"Cache-Control": "max-age=60"})


@well_known.get(ecard.PUBLIC_KEYS_PATH)
def public_keys() -> dict[str, Any]:
    """The bureau's SM2 public keys that verify e-card codes and revocation lists now."""
    return ecard.public_keys_document()
