"""/persons: register, look up, update contact data and living status."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from sscard.api.deps import DB, CurrentActor
from sscard.cards import service as cards
from sscard.cards.schemas import CardOut
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn, PersonOut, PersonUpdate

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


@router.get("/{id_number}", response_model=PersonOut)
def get(id_number: str, actor: CurrentActor, db: DB) -> PersonOut:
    return PersonOut.model_validate(registry.get(db, actor, id_number))


@router.patch("/{id_number}", response_model=PersonOut)
def update(id_number: str, body: PersonUpdate, actor: CurrentActor, db: DB) -> PersonOut:
    return PersonOut.model_validate(registry.update(db, actor, id_number, body))


@router.get("/{id_number}/cards", response_model=list[CardOut])
def cards_of(id_number: str, actor: CurrentActor, db: DB) -> list[CardOut]:
    return [CardOut.model_validate(c) for c in cards.cards_of_person(db, actor, id_number)]
