"""Card numbers are not enumerable: the next person's card number is not the last one plus one, numbers of
new cards are random serials with the check character, and the sequential numbers already issued stay valid
(they still settle and log in to the portal)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from medical.world import Hospital, insured_person, register_chip, settle_body
from sscard.cards import service as cards
from sscard.cards.models import Card
from sscard.cards.numbers import check_char, format_card_no, is_valid_card_no, new_card_no, random_card_no
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.city import City

NewId = Callable[..., str]


def _applied(city: City, new_id: NewId) -> str:
    number = new_id()
    registry.register(city.db, city.counter, PersonIn(id_number=number, name="卡号测试", region_code="441802"))
    return cards.apply_new(city.db, city.counter, number).card.card_no


def test_the_next_card_number_cannot_be_guessed_from_the_last(city: City, new_id: NewId) -> None:
    issued = [_applied(city, new_id) for _ in range(6)]
    assert len(set(issued)) == 6 and all(is_valid_card_no(no) for no in issued)
    for earlier, later in itertools.pairwise(issued):
        if earlier[1:8].isdigit():
            assert later != format_card_no(int(earlier[1:8]) + 1)  # the attack: the last number plus one
    serials = [no[1:8] for no in issued]
    assert not all(s.isdigit() for s in serials)  # 6 random serials all-digit: (10/36)^42, never


def test_random_numbers_carry_the_check_character_and_are_drawn_again_when_taken() -> None:
    drawn = {random_card_no() for _ in range(2000)}
    assert len(drawn) == 2000
    assert all(is_valid_card_no(no) and no[8] == check_char(no[:8]) for no in drawn)
    taken = set(list(drawn)[:3])
    tries: list[str] = []

    def is_taken(no: str) -> bool:
        tries.append(no)
        return len(tries) <= 3
    free = new_card_no(is_taken)
    assert len(tries) == 4 and free == tries[-1] and is_valid_card_no(free) and taken
    forged = free[:8] + ("0" if free[8] != "0" else "1")
    assert not is_valid_card_no(forged)


def test_a_sequential_number_issued_before_still_settles(city: City, hospital: Hospital, new_id: NewId) -> None:
    who = insured_person(city, new_id, balance_fen=10_000)
    assert who.card_no is not None
    old_style = format_card_no(9_000_000 + int(new_id()[-7:-1]))
    with city.db.unit_of_work() as s:  # a card issued under the sequential numbering keeps its number
        card = s.query(Card).filter(Card.card_no == who.card_no).one()
        card.card_no = old_style
    who.card_no = old_style
    register_chip(city.db, old_style)  # its chip carries the old number
    assert is_valid_card_no(old_style)
    answer = hospital.settle(settle_body(who))
    assert answer["card_no"] == old_style
