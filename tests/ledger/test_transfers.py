"""Posted transfers: balanced, limited, idempotent, linked all-or-nothing; accounts; history; invariants."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from ledger.books import Books
from sscard.errors import DomainError
from sscard.ledger import service as ledger
from sscard.ledger.schemas import TransferIn


def _code_of(exc: pytest.ExceptionInfo[DomainError]) -> str:
    return exc.value.code


def _fund(books: Books, person_balance: int = 0) -> None:
    """pool (the fund, unlimited) → person (never negative) → hospital (payable)."""
    books.open("pool", "liability")
    books.open("person", "medical_personal", never_negative=True)
    books.open("hospital", "payable")
    if person_balance:
        books.move("fund", "pool", "person", person_balance)


def test_a_transfer_debits_one_account_and_credits_the_other_by_the_same_amount(books: Books) -> None:
    _fund(books)
    out = books.move("t1", "pool", "person", 12_345, code="contribution", reference="C-1")
    assert (out.amount, out.state, out.replayed, out.reference) == (12_345, "posted", False, "C-1")
    assert books.totals("pool") == (12_345, 0, 0, 0)
    assert books.totals("person") == (0, 12_345, 0, 0)
    assert books.balance("person").credit_balance == 12_345
    assert books.balance("pool").debit_balance == 12_345


def test_a_never_negative_account_refuses_to_overdraw_and_nothing_is_written(books: Books) -> None:
    _fund(books, person_balance=1_000)
    before = books.balance("person")
    with pytest.raises(DomainError) as exc:
        books.move("over", "person", "hospital", 1_001)
    assert _code_of(exc) == "LEDGER_EXCEEDS_CREDITS"
    assert books.balance("person") == before
    assert books.totals("hospital") == (0, 0, 0, 0)
    assert books.run(lambda s: ledger.lookup_transfer(s, books.id("over"))) is None
    books.move("exact", "person", "hospital", 1_000)  # spending down to zero is allowed
    assert books.balance("person").credit_balance == 0


def test_credits_must_not_exceed_debits_limits_the_credit_side(books: Books) -> None:
    books.open("cash", "asset", credits_limited=True)
    books.open("bank", "liability")
    books.move("in", "cash", "bank", 500)
    with pytest.raises(DomainError) as exc:
        books.move("out", "bank", "cash", 501)
    assert _code_of(exc) == "LEDGER_EXCEEDS_DEBITS"
    books.move("out-ok", "bank", "cash", 500)
    assert books.totals("cash") == (500, 500, 0, 0)


def test_a_retry_with_the_same_id_and_body_returns_the_original_and_moves_nothing(books: Books) -> None:
    _fund(books, person_balance=1_000)
    first = books.move("pay", "person", "hospital", 600)
    again = books.move("pay", "person", "hospital", 600)
    assert again.replayed and not first.replayed
    assert again.model_dump(exclude={"replayed"}) == first.model_dump(exclude={"replayed"})
    assert books.totals("person") == (600, 1_000, 0, 0)
    assert books.totals("hospital") == (0, 600, 0, 0)


def test_a_retry_is_replayed_even_when_the_balance_would_now_refuse_it(books: Books) -> None:
    _fund(books, person_balance=1_000)
    first = books.move("pay", "person", "hospital", 700)
    again = books.move("pay", "person", "hospital", 700)  # only 300 left, but this is the same transfer
    assert again.replayed and again.seq == first.seq
    assert books.balance("person").credit_balance == 300


@pytest.mark.parametrize("change", [{"amount": 601}, {"credit": "pool"}, {"code": "other"},
                                    {"reference": "R-2"}, {"pending": True}])
def test_the_same_id_with_a_different_body_is_refused(books: Books, change: dict[str, object]) -> None:
    _fund(books, person_balance=1_000)
    books.move("pay", "person", "hospital", 600, reference="R-1")
    args: dict[str, object] = {"amount": 600, "credit": "hospital", "code": "test", "reference": "R-1",
                               "pending": False} | change
    with pytest.raises(DomainError) as exc:
        books.move("pay", "person", str(args["credit"]), int(str(args["amount"])), code=str(args["code"]),
                   reference=str(args["reference"]), pending=bool(args["pending"]))
    assert _code_of(exc) == "LEDGER_ID_EXISTS_DIFFERENT"
    assert books.totals("person") == (600, 1_000, 0, 0)


@pytest.mark.parametrize(("amount", "error"), [(0, "LEDGER_AMOUNT_INVALID"), (-5, "LEDGER_AMOUNT_INVALID"),
                                               (2**63, "LEDGER_AMOUNT_INVALID")])
def test_amounts_must_be_positive_fen(books: Books, amount: int, error: str) -> None:
    _fund(books)
    with pytest.raises(DomainError) as exc:
        books.move("bad", "pool", "person", amount)
    assert _code_of(exc) == error


def test_amounts_in_yuan_as_floats_are_refused_before_the_ledger() -> None:
    with pytest.raises(ValidationError):
        TransferIn(id="x", debit_account="a", credit_account="b", amount=12.5)  # type: ignore[arg-type]  # the point


def test_a_transfer_needs_two_different_existing_accounts(books: Books) -> None:
    _fund(books)
    with pytest.raises(DomainError) as same:
        books.move("self", "pool", "pool", 1)
    assert _code_of(same) == "LEDGER_SAME_ACCOUNT"
    with pytest.raises(DomainError) as missing:
        books.move("ghost", "pool", "nobody", 1)
    assert _code_of(missing) == "LEDGER_ACCOUNT_NOT_FOUND"
    with pytest.raises(DomainError) as bad_id:
        books.run(lambda s: ledger.transfer(s, TransferIn(id="has space", debit_account=books.code("pool"),
                                                          credit_account=books.code("person"), amount=1)))
    assert _code_of(bad_id) == "LEDGER_ID_INVALID"


def test_accounts_in_different_currencies_cannot_trade(books: Books) -> None:
    books.open("cny", "asset")
    books.run(lambda s: ledger.create_account(s, books.code("hkd"), "asset", currency="HKD"))
    with pytest.raises(DomainError) as exc:
        books.move("fx", "cny", "hkd", 100)
    assert _code_of(exc) == "LEDGER_CURRENCY_MISMATCH"


def test_linked_transfers_apply_all_or_nothing(books: Books) -> None:
    """A settlement pays the hospital from the fund and the person's account at once, or not at all."""
    _fund(books, person_balance=300)
    legs = [books.transfer_in("s1:fund", "pool", "hospital", 700),
            books.transfer_in("s1:person", "person", "hospital", 301)]  # one fen more than the person has
    with pytest.raises(DomainError) as exc:
        books.run(lambda s: ledger.transfers(s, legs))
    assert _code_of(exc) == "LEDGER_EXCEEDS_CREDITS"
    assert books.totals("hospital") == (0, 0, 0, 0)
    assert books.run(lambda s: ledger.lookup_transfer(s, books.id("s1:fund"))) is None

    legs = [books.transfer_in("s2:fund", "pool", "hospital", 700),
            books.transfer_in("s2:person", "person", "hospital", 300)]
    outs = books.run(lambda s: ledger.transfers(s, legs))
    assert [o.amount for o in outs] == [700, 300]
    assert books.totals("hospital") == (0, 1_000, 0, 0)
    replay = books.run(lambda s: ledger.transfers(s, legs))
    assert all(o.replayed for o in replay) and books.totals("hospital") == (0, 1_000, 0, 0)


def test_each_linked_leg_sees_the_balance_the_earlier_legs_leave(books: Books) -> None:
    _fund(books)
    legs = [books.transfer_in("in", "pool", "person", 500), books.transfer_in("out", "person", "hospital", 500)]
    books.run(lambda s: ledger.transfers(s, legs))
    assert books.balance("person").credit_balance == 0
    assert books.totals("hospital") == (0, 500, 0, 0)


def test_replaying_only_part_of_a_linked_batch_is_a_different_request(books: Books) -> None:
    _fund(books, person_balance=1_000)
    books.move("a", "person", "hospital", 100)
    legs = [books.transfer_in("a", "person", "hospital", 100), books.transfer_in("b", "person", "hospital", 100)]
    with pytest.raises(DomainError) as exc:
        books.run(lambda s: ledger.transfers(s, legs))
    assert _code_of(exc) == "LEDGER_ID_EXISTS_DIFFERENT"
    assert books.totals("hospital") == (0, 100, 0, 0)


def test_a_batch_may_not_name_the_same_id_twice(books: Books) -> None:
    _fund(books)
    leg = books.transfer_in("twice", "pool", "person", 1)
    with pytest.raises(DomainError) as exc:
        books.run(lambda s: ledger.transfers(s, [leg, leg]))
    assert _code_of(exc) == "LEDGER_ID_INVALID"


def test_a_ledger_error_inside_a_larger_use_case_rolls_the_whole_use_case_back(books: Books) -> None:
    """The settlement's own transaction: its first transfer disappears with the failing second one."""
    _fund(books, person_balance=100)

    def use_case(session: sa.orm.Session) -> None:
        ledger.transfer(session, books.transfer_in("uc:1", "pool", "hospital", 50))
        ledger.transfer(session, books.transfer_in("uc:2", "person", "hospital", 101))

    with pytest.raises(DomainError):
        books.run(use_case)
    assert books.totals("hospital") == (0, 0, 0, 0)
    assert books.totals("pool") == (100, 0, 0, 0)


def test_history_lists_an_accounts_transfers_newest_first_and_pages_backwards(books: Books) -> None:
    _fund(books)
    for i in range(5):
        books.move(f"in{i}", "pool", "person", 100 + i)
    books.move("spend", "person", "hospital", 50)
    page1 = books.history("person", limit=4)
    assert [e.id for e in page1] == [books.id(x) for x in ("spend", "in4", "in3", "in2")]
    assert page1[0].side == "debit" and page1[0].counterparty == books.code("hospital")
    assert page1[1].side == "credit" and page1[1].counterparty == books.code("pool") and page1[1].amount == 104
    page2 = books.history("person", limit=4, before=page1[-1].seq)
    assert [e.id for e in page2] == [books.id("in1"), books.id("in0")]
    assert [e.id for e in books.history("hospital")] == [books.id("spend")]


def test_get_or_create_account_returns_the_existing_account_but_refuses_different_flags(books: Books) -> None:
    code = books.code("p:medical")
    first = books.run(lambda s: ledger.get_or_create_account(s, code, "medical_personal",
                                                             debits_must_not_exceed_credits=True))
    again = books.run(lambda s: ledger.get_or_create_account(s, code, "medical_personal",
                                                             debits_must_not_exceed_credits=True))
    assert again.id == first.id
    with pytest.raises(DomainError) as exc:
        books.run(lambda s: ledger.get_or_create_account(s, code, "medical_personal"))
    assert _code_of(exc) == "LEDGER_ACCOUNT_EXISTS_DIFFERENT"
    with pytest.raises(DomainError) as dup:
        books.run(lambda s: ledger.create_account(s, code, "medical_personal"))
    assert _code_of(dup) == "LEDGER_ACCOUNT_EXISTS"


@pytest.mark.parametrize(("code", "kind", "flags"), [("has space", "asset", (False, False)),
                                                     ("ok", "Asset", (False, False)),
                                                     ("ok", "asset", (True, True))])
def test_account_codes_kinds_and_flags_are_validated(books: Books, code: str, kind: str,
                                                     flags: tuple[bool, bool]) -> None:
    with pytest.raises(DomainError) as exc:
        books.run(lambda s: ledger.create_account(s, f"{books.prefix}:{code}", kind,
                                                  debits_must_not_exceed_credits=flags[0],
                                                  credits_must_not_exceed_debits=flags[1]))
    assert _code_of(exc) == "LEDGER_ACCOUNT_INVALID"


def test_debits_equal_credits_over_the_whole_ledger_and_totals_match_the_journal(fresh_books: Books) -> None:
    books = fresh_books
    _fund(books, person_balance=900)
    books.move("hold", "person", "hospital", 400, pending=True)
    books.move("pay", "person", "hospital", 200)
    zero = books.run(ledger.check_zero_sum)
    assert zero.ok
    assert (zero.debits_posted, zero.debits_pending) == (1_100, 400)
    assert books.run(ledger.accounts_not_matching_journal) == []


def test_the_journal_is_append_only_and_limits_hold_even_for_raw_sql(fresh_books: Books) -> None:
    """Defence in depth: the database itself refuses to rewrite a transfer or overdraw a limited account."""
    books = fresh_books
    _fund(books, person_balance=100)
    with pytest.raises(sa.exc.DatabaseError):
        books.run(lambda s: s.execute(sa.text("UPDATE ledger_transfers SET amount = 1")))
    with pytest.raises(sa.exc.DatabaseError):
        books.run(lambda s: s.execute(sa.text("DELETE FROM ledger_transfers")))
    with pytest.raises(sa.exc.IntegrityError):
        books.run(lambda s: s.execute(sa.text("UPDATE ledger_accounts SET debits_posted = 101 WHERE code = :c"),
                                      {"c": books.code("person")}))
    assert books.run(ledger.accounts_not_matching_journal) == []


def test_zero_sum_check_notices_a_one_sided_change(fresh_books: Books) -> None:
    books = fresh_books
    _fund(books, person_balance=100)
    books.run(lambda s: s.execute(sa.text("UPDATE ledger_accounts SET credits_posted = credits_posted + 1 "
                                          "WHERE code = :c"), {"c": books.code("hospital")}))
    assert not books.run(ledger.check_zero_sum).ok
    assert books.run(ledger.accounts_not_matching_journal) == [books.code("hospital")]
