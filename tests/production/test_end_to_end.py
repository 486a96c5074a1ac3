"""Card production end to end: import → compare → resolve → batch → bank return with failures → maker return with
failures → outlet → pickup → the card image reads back through the terminal; the failed cards are re-batched and
finished; the batch totals reconcile at every step."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from sscard.audit import service as audit
from sscard.cards import service as cards
from sscard.cards.models import Card
from sscard.chip import load
from sscard.kms import KeyManager
from sscard.production import batches, formats
from sscard.production import service as production
from sscard.production.errors import BatchTotalsMismatch, FileRejected
from sscard.production.models import ComparisonException, ProductionBatch
from sscard.production.schemas import BatchOut, Resolution
from sscard.production.simulators import AccountOpeningBank, SimulatedMaker
from sscard.registry.regions import CITY_CODE
from sscard.terminal import Terminal, VirtualReader
from support.city import City
from support.filemac import remac

from .builders import Person, collection_csv, people, population_csv, write_photos


def _exceptions(city: City, code: str) -> list[int]:
    return [e.id for e in production.list_exceptions(city.db, city.supervisor, reason_code=code)]


def _status_counts(city: City) -> dict[str, int]:
    with city.db.unit_of_work() as s:
        return dict(s.execute(select(Card.production_status, func.count()).group_by(Card.production_status)).all())


def _run_batch(city: City, batch: BatchOut, bank: AccountOpeningBank, maker: SimulatedMaker, psam: object) -> BatchOut:
    admin = city.admin
    if batch.stage in ("created", "bank_sent"):
        out = batches.import_bank_return(city.db, admin, bank.answer(batches.export_bank_file(city.db, admin,
                                                                                              batch.batch_no)))
        assert out.bank_ok + out.bank_failed == out.record_count
    out = batches.import_maker_return(city.db, admin, maker.answer(
        batches.export_maker_file(city.db, admin, batch.batch_no, psam)))  # type: ignore[arg-type]
    assert out.maker_ok + out.maker_failed == out.maker_sent == out.bank_ok
    out = batches.hand_over(city.db, admin, batch.batch_no, "T01")
    assert out.delivered == out.maker_ok
    assert batches.get_batch(city.db, admin, batch.batch_no) == out  # header = Σ records, checked again
    return out


def test_collected_data_becomes_cards_that_read_back_through_the_terminal(
        fresh_city: City, new_id: Callable[..., str], km: KeyManager, tmp_path: Path) -> None:
    city = fresh_city
    crowd = people(new_id, 8)
    rare = Person(new_id(region="441802"), "李𠀀", "441802")  # CJK Ext. B: GB18030 yes, the bank's GB2312 no
    renamed = Person(new_id(region="441802"), "陈大文", "441802", collected={"name": "陈大闻"})
    deceased = Person(new_id(region="441802"), "黄老", "441802", living_status="2")
    no_photo = Person(new_id(region="441802"), "周无相", "441802", photo=None)
    twice = Person(new_id(region="441802"), "吴两次", "441802")
    everyone = [*crowd, rare, renamed, deceased, no_photo, twice]
    write_photos(everyone, tmp_path / "photos")

    pop = production.import_population(city.db, city.admin, population_csv(everyone), "gongan.csv")
    assert (pop.rows_ok, pop.rows_bad) == (len(everyone), 0)
    twice_again = twice.collection_row() | {"phone": "13900000000"}  # same person collected twice
    body = collection_csv(everyone) + ",".join(twice_again.values()).encode() + b"\n"
    imported = production.import_collection(city.db, city.admin, body, "outlets.csv", photo_root=tmp_path / "photos")
    assert (imported.rows_total, imported.rows_ok, imported.rows_bad) == (len(everyone) + 1, len(everyone) + 1, 0)

    result = production.run_comparison(city.db, city.admin, imported.import_id)
    assert result.compared == len(everyone) + 1
    assert result.approved == len(crowd)
    assert result.by_reason == {"NAME_OUTSIDE_BANK_CHARSET": 1, "NAME_MISMATCH": 1, "PERSON_DECEASED": 1,
                                "PHOTO_MISSING": 1, "DUPLICATE_IN_COLLECTION": 2}

    # The operator decides each exception; every decision is audited.
    production.resolve_exception(city.db, city.supervisor, _exceptions(city, "NAME_OUTSIDE_BANK_CHARSET")[0],
                                 Resolution.ACCEPT)
    fixed = production.resolve_exception(city.db, city.supervisor, _exceptions(city, "NAME_MISMATCH")[0],
                                         Resolution.TAKE_REGISTER)
    assert fixed.record_status == "approved" and fixed.card_no
    production.resolve_exception(city.db, city.supervisor, _exceptions(city, "PERSON_DECEASED")[0], Resolution.REJECT)
    sent_back = production.resolve_exception(city.db, city.supervisor, _exceptions(city, "PHOTO_MISSING")[0],
                                             Resolution.SEND_BACK)
    assert sent_back.record_status == "returned"
    dup_first, dup_second = _exceptions(city, "DUPLICATE_IN_COLLECTION")
    production.resolve_exception(city.db, city.supervisor, dup_second, Resolution.REJECT)
    kept = production.resolve_exception(city.db, city.supervisor, dup_first, Resolution.ACCEPT)
    assert kept.record_status == "approved"
    assert production.list_exceptions(city.db, city.supervisor) == []
    approved = len(crowd) + 3  # rare, renamed, one of the duplicates
    assert _status_counts(city) == {"00": approved}

    # Batches by bank: division 441802's bank with most quota left takes them all.
    made = batches.create_batches(city.db, city.admin)
    assert [(b.bank_code, b.kind, b.record_count) for b in made] == [("QYRCB", "bank", approved)]
    batch_no = made[0].batch_no
    bank_file = batches.export_bank_file(city.db, city.admin, batch_no)
    assert f"|{rare.id_number}|李HE|1|" in bank_file.decode("gb18030")  # fallback, flagged as substituted
    with city.db.unit_of_work() as s:
        card_nos = list(s.execute(select(Card.card_no).order_by(Card.id)).scalars())
    bank = AccountOpeningBank(fail_cards={card_nos[0]})
    maker = SimulatedMaker(km, tmp_path / "images", fail_cards={card_nos[1]})
    psam = km.issue_psam(CITY_CODE)
    answer = bank.answer(bank_file)
    parsed = formats.parse(answer, "KR")
    rows = [list(r.values()) for r in parsed.records]
    short = formats.write("KR", batch_no, "QYRCB", dt.datetime(2013, 6, 1), rows[1:])  # well-formed, one missing
    other_id = formats.write("KR", batch_no, "QYRCB", dt.datetime(2013, 6, 1),
                             [[rows[0][0], renamed.id_number, *rows[0][2:]], *rows[1:]])
    icbc = formats.write("KR", batch_no, "ICBC", dt.datetime(2013, 6, 1), rows)  # ICBC answering QYRCB's batch
    for wrong, message in ((short, "answers"), (other_id, "ID number differs"),
                           (answer.replace(b"|00|", b"|0O|", 1), "MAC does not match"),
                           (icbc, "keyed for bank:ICBC, it was expected from bank:QYRCB"),
                           (remac(answer, "bank:ICBC"), "keyed for bank:ICBC"),
                           (remac(answer, formats.MAKER_PARTNER), "keyed for maker:CARDMAKER")):
        with pytest.raises(FileRejected, match=message):
            batches.import_bank_return(city.db, city.admin, wrong)
        assert _status_counts(city) == {"10": approved}  # nothing half-imported
    first = batches.import_bank_return(city.db, city.admin, answer)
    assert (first.bank_ok, first.bank_failed) == (approved - 1, 1)
    first = _run_batch(city, first, bank, maker, psam)
    assert (first.maker_ok, first.maker_failed, first.delivered) == (approved - 2, 1, approved - 2)
    assert _status_counts(city) == {"22": 1, "32": 1, "60": approved - 2}

    # Failed records are re-batched (the bank failure to the bank again, the maker failure to the maker only).
    bank.fail_cards, maker.fail_cards = set(), set()
    again = batches.create_batches(city.db, city.admin)
    assert sorted((b.kind, b.record_count) for b in again) == [("bank", 1), ("maker", 1)]
    for b in again:
        _run_batch(city, b, bank, maker, psam)
    assert _status_counts(city) == {"60": approved}

    # Pickup at the counter, then the chip image reads back the holder's data through the terminal.
    card_no = fixed.card_no
    assert card_no is not None
    picked = cards.pick_up(city.db, city.counter, card_no)
    assert picked.production_status == "70" and picked.app_status == "0"
    chip = load(tmp_path / "images" / f"{card_no}.json")
    terminal = Terminal(VirtualReader(chip), VirtualReader(km.issue_psam(CITY_CODE), name="PSAM"))
    info = terminal.read_holder()
    terminal.require_genuine()
    assert (info.id_number, info.card_no, info.name) == (renamed.id_number, card_no, "陈大文")  # register's name
    with city.db.unit_of_work() as s:
        assert s.execute(select(func.count()).select_from(ComparisonException)
                         .where(ComparisonException.status == "open")).scalar_one() == 0
        s.execute(update(ProductionBatch).where(ProductionBatch.batch_no == batch_no).values(delivered=0))
    with pytest.raises(BatchTotalsMismatch):  # a header that no longer equals its records is caught
        batches.get_batch(city.db, city.admin, batch_no)

    # One audit record per card state change, written by the batch steps in bulk, and the chain is intact.
    def moves(card: str) -> list[str]:
        return [r.action.removeprefix("production.") for r in reversed(audit.history(city.db, city.supervisor,
                                                                                     "card", card))
                if r.action.startswith("production.")]

    assert moves(card_nos[0]) == ["in_batch", "bank_failed", "in_batch", "bank_opened", "card_made", "at_outlet"]
    assert moves(card_nos[1]) == ["in_batch", "bank_opened", "maker_failed", "bank_opened", "card_made",
                                  "at_outlet"]
    assert moves(card_nos[2]) == ["in_batch", "bank_opened", "card_made", "at_outlet"]
    first_move = audit.history(city.db, city.supervisor, "card", card_nos[2])[-1]
    assert first_move.operator == "t-admin" and '"production_status":"00"' in (first_move.before or "")
    assert '"production_status":"10"' in (first_move.after or "")
    assert audit.verify(city.db, city.supervisor).ok
