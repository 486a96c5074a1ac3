"""/persons: register, look up, update contact data and living status.

Paths address a person by internal id; an ID number travels only in a body (``POST /persons/lookup``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from sscard.api.deps import DB, CurrentActor
from sscard.cards import service as cards
from sscard.cards.schemas import CardOut
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn, PersonLookup, PersonOut, PersonUpdate

router = APIRouter(prefix="/persons", tags=["persons"])


@router.post("", response_model=PersonOut, status_code=201)
def register(body: PersonIn, actor: CurrentActor, db: DB) -> PersonOut:
    return PersonOut.model_validate(registry.register(db, actor, body))


@router.get("", response_model=list[PersonOut])
def search(actor: CurrentActor, db: DB, name: Annotated[str | None, Query(max_length=50)] = None,
           region_code: Annotated[str | None, Query(max_length=6)] = None,
           limit: Annotated[int, Query(ge=1, le=500)] = 50,
           offset: Annotated[int, Query(ge=0)] = 0) -> list[PersonOut]:
    return [PersonOut.model_validate(p) for p in registry.search(db, actor, name, region_code, limit, offset)]


PersonId = Annotated[int, Path(ge=1, le=2_147_483_647, description="the internal person id (`id` of PersonOut); "
                                                                    "an ID number never goes in a URL")]


@router.post("/lookup", response_model=PersonOut)
def lookup(body: PersonLookup, actor: CurrentActor, db: DB) -> PersonOut:
    """Find a person by ID number, sent in the body (a URL ends up in logs, proxies and browser history)."""
    return PersonOut.model_validate(registry.get(db, actor, body.id_number))


@router.get("/{person_id}", response_model=PersonOut)
def get(person_id: PersonId, actor: CurrentActor, db: DB) -> PersonOut:
    return PersonOut.model_validate(registry.get_by_person_id(db, actor, person_id))


@router.patch("/{person_id}", response_model=PersonOut)
def update(person_id: PersonId, body: PersonUpdate, actor: CurrentActor, db: DB) -> PersonOut:
    return PersonOut.model_validate(registry.update_by_person_id(db, actor, person_id, body))


@router.get("/{person_id}/cards", response_model=list[CardOut])
def cards_of(person_id: PersonId, actor: CurrentActor, db: DB) -> list[CardOut]:
    return [CardOut.model_validate(c) for c in cards.cards_of_person(db, actor, person_id=person_id)]
