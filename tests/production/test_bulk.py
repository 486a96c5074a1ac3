"""The set-based writes behind the batch steps (``sscard.bulksql`` and ``cards.bulk.ProductionMoves``), on both
databases: rows round-trip exactly (quotes, backslashes, rare characters, all-NULL columns), pages beyond one
statement's size, the version check of optimistic locking, and a card changed meanwhile fails the whole step with
nothing written."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from sscard import bulksql
from sscard.audit.models import AuditHead
from sscard.cards import service as cards
from sscard.cards.bulk import ProductionMoves
from sscard.cards.errors import ProductionTransitionInvalid
from sscard.cards.models import Card
from sscard.cards.states import ProductionStatus
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from support.city import City

N = bulksql.PAGE * 2 + 500  # three pages on SQLite
ODD = ['a"b', "c\\d", "it's", "李𠀀", "tab\there", "", None]


def _scratch() -> sa.Table:
    return sa.Table("bulk_scratch", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("version", sa.Integer, nullable=False), sa.Column("label", sa.String(20)),
                    sa.Column("note", sa.String(20)), sa.Column("amount", sa.Integer), prefixes=["TEMPORARY"])


def test_insert_and_update_rows_round_trip_every_value(city: City) -> None:
    table = _scratch()
    with city.db.unit_of_work() as s:
        table.create(s.connection())
        try:
            bulksql.insert_rows(s, table, [{"id": i, "version": 1, "label": ODD[i % len(ODD)], "note": "keep",
                                         "amount": i} for i in range(N)])
            assert s.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == N
            stale = {3, 2_500, N - 1}  # their version moved on: the check must skip them
            rows = [{"id": i, "version": 2 if i in stale else 1, "label": ODD[(i + 1) % len(ODD)],
                     "note": None, "amount": None} for i in range(N)]
            changed = bulksql.update_rows(s, table, rows, check="version", keep_if_null=("note",),
                                       also={"version": table.c.version + 1})
            assert changed == N - len(stale)
            got = {r.id: r for r in s.execute(sa.select(table))}
            for i in (0, 1, 5, 6, bulksql.PAGE, N - 2):
                assert (got[i].version, got[i].label, got[i].note, got[i].amount) == \
                    (2, ODD[(i + 1) % len(ODD)], "keep", None)
            for i in stale:
                assert (got[i].version, got[i].label, got[i].amount) == (1, ODD[i % len(ODD)], i)
        finally:
            table.drop(s.connection())


def test_a_card_changed_meanwhile_fails_the_step_and_nothing_is_written(city: City,
                                                                         new_id: Callable[..., str]) -> None:
    card_nos = []
    for _ in range(3):
        id_no = new_id()
        registry.register(city.db, city.counter, PersonIn(id_number=id_no, name="批量测试", region_code="441802"))
        card_nos.append(cards.apply_new(city.db, city.counter, id_no).card.card_no)
    with city.db.unit_of_work() as s:
        head_before = s.get_one(AuditHead, 1).last_seq
    with pytest.raises(StaleDataError), city.db.unit_of_work() as s:
        loaded = list(s.execute(sa.select(Card).where(Card.card_no.in_(card_nos)).order_by(Card.id)).scalars())
        # Someone else's change lands between our read and our write (its version moves on).
        s.connection().execute(sa.update(Card).where(Card.card_no == card_nos[1])
                               .values(version=Card.version + 1).execution_options(synchronize_session=False))
        moves = ProductionMoves(s, city.admin)
        for card in loaded:
            moves.add(card, ProductionStatus.IN_BATCH, bank_code="ICBC")
        moves.apply()
    with city.db.unit_of_work() as s:
        assert s.get_one(AuditHead, 1).last_seq == head_before  # the audit records went with the step
        assert set(s.execute(sa.select(Card.production_status, Card.bank_code)
                             .where(Card.card_no.in_(card_nos))).all()) == {("00", None)}


def test_a_move_off_the_state_machine_is_refused(city: City, new_id: Callable[..., str]) -> None:
    id_no = new_id()
    registry.register(city.db, city.counter, PersonIn(id_number=id_no, name="批量测试", region_code="441802"))
    card_no = cards.apply_new(city.db, city.counter, id_no).card.card_no
    with pytest.raises(ProductionTransitionInvalid), city.db.unit_of_work() as s:
        card = s.execute(sa.select(Card).where(Card.card_no == card_no)).scalar_one()
        ProductionMoves(s, city.admin).add(card, ProductionStatus.AT_OUTLET)  # 00 → 60 skips the whole pipeline
