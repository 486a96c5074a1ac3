"""The portal's use cases on SQLite and PostgreSQL: query passwords, login and lockout, sessions that
expire (and all end when the password changes or is reset), kiosk rules, cardholders confined to their own
data, contact updates, and the dashboard's settlement figures. Operators' TOTP: tests/auth."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from sscard.access import SYSTEM_ACTOR, PermissionDenied, Role
from sscard.audit.models import AuditRecord
from sscard.cards import service as cards
from sscard.errors import DomainError
from sscard.portal import dashboard, reads
from sscard.portal import service as portal
from sscard.portal.errors import (
    CardNotForKiosk,
    PortalLoginFailed,
    PortalSessionInvalid,
    QueryPasswordInvalid,
)
from sscard.registry import service as registry
from sscard.registry.errors import PhoneInvalid
from support.city import City
from web.helpers import person_with_card
from web.portal_helpers import QUERY_PASSWORD, holder, insured_holder, unique


def _is_run_or_repeat(text: str) -> bool:
    return text == text[0] * len(text) or text in "0123456789" or text in "9876543210"


@given(st.text(alphabet="0123456789", min_size=6, max_size=12))
def test_query_passwords_are_digits_that_are_neither_one_digit_nor_a_run(password: str) -> None:
    if _is_run_or_repeat(password):
        with pytest.raises(QueryPasswordInvalid):
            portal.check_query_password(password)
    else:
        assert portal.check_query_password(password) == password


@pytest.mark.parametrize("bad", ["", "12345", "1234567890123", "12a456", "０１２３４５", "654321", "000000"])
def test_malformed_query_passwords_are_refused(bad: str) -> None:
    with pytest.raises(QueryPasswordInvalid):
        portal.check_query_password(bad)


def test_login_by_card_or_id_number_gives_a_cardholder_confined_to_their_person(city: City) -> None:
    h = holder(city)
    by_card = portal.login(city.db, h.card_no.lower(), QUERY_PASSWORD)
    by_id = portal.login(city.db, h.id_number, QUERY_PASSWORD)
    assert by_card.actor == by_id.actor and by_card.actor.role is Role.CARDHOLDER
    actor, kiosk = portal.authenticate(city.db, by_card.token)
    assert actor.person_id == by_card.actor.person_id and not kiosk
    with pytest.raises(PermissionDenied):  # a cardholder is not an operator
        registry.get(city.db, actor, h.id_number)
    other = holder(city)
    with pytest.raises(PermissionDenied):
        portal.report_temporary_loss(city.db, actor, other.card_no)
    assert cards.get_card(city.db, SYSTEM_ACTOR, other.card_no).app_status == "1"


def test_unknown_identifiers_and_wrong_passwords_get_the_same_answer(city: City) -> None:
    h = holder(city)
    for identifier in ("A0000000X", "441802199901011234", "nonsense", h.card_no):
        with pytest.raises(PortalLoginFailed):
            portal.login(city.db, identifier, "582046")


def test_the_account_locks_for_a_while_with_the_same_answer_and_a_counter_reset_unlocks_it(city: City) -> None:
    h = holder(city)
    for _ in range(5):  # policy portal.max_failed_logins = 5
        with pytest.raises(PortalLoginFailed):
            portal.login(city.db, h.card_no, "582046")
    with pytest.raises(PortalLoginFailed):  # locked: the right password gets the very same answer
        portal.login(city.db, h.card_no, QUERY_PASSWORD)
    with pytest.raises(PermissionDenied):  # only roles that activate cards reset it
        portal.set_query_password(city.db, portal.cardholder_actor(1), h.card_no, "470215")
    portal.set_query_password(city.db, city.counter, h.card_no, "470215")
    assert portal.login(city.db, h.card_no, "470215").actor.person_id is not None


def test_a_portal_lock_ends_by_itself_and_the_next_one_lasts_twice_as_long(city: City) -> None:
    h = holder(city)
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            with pytest.raises(PortalLoginFailed):
                portal.login(city.db, h.card_no, "582046")
    with time_machine.travel(start + dt.timedelta(seconds=59), tick=False), pytest.raises(PortalLoginFailed):
        portal.login(city.db, h.card_no, QUERY_PASSWORD)  # portal.lock_seconds = 60
    later = start + dt.timedelta(seconds=61)
    with time_machine.travel(later, tick=False):
        for _ in range(5):  # locked again: now for 120 s
            with pytest.raises(PortalLoginFailed):
                portal.login(city.db, h.card_no, "582046")
    with time_machine.travel(later + dt.timedelta(seconds=119), tick=False), pytest.raises(PortalLoginFailed):
        portal.login(city.db, h.card_no, QUERY_PASSWORD)
    with time_machine.travel(later + dt.timedelta(seconds=121), tick=False):
        assert portal.login(city.db, h.card_no, QUERY_PASSWORD).actor.person_id is not None


def test_anyone_guessing_against_many_holders_from_one_address_locks_only_that_address(city: City) -> None:
    """The attack of the lower row: anyone locks any cardholder. Now a lock is temporary, and guesses from
    one address stop at portal.address_max_failed_logins (20) whatever holders they name."""
    address = f"198.51.100.{int(unique(), 16) % 250}"
    victims = [holder(city) for _ in range(5)]
    for victim in victims:
        for _ in range(4):  # under the per-holder limit each
            with pytest.raises(PortalLoginFailed):
                portal.login(city.db, victim.card_no, "582046", address=address)
    with pytest.raises(PortalLoginFailed):  # the address is locked: even a right password from it is refused
        portal.login(city.db, victims[0].card_no, QUERY_PASSWORD, address=address)
    for victim in victims:  # the holders themselves, from their own address, are not locked out
        assert portal.login(city.db, victim.card_no, QUERY_PASSWORD, address="203.0.113.7").actor.person_id


def test_a_password_change_ends_every_other_session_of_the_holder(city: City) -> None:
    h = holder(city)
    first = portal.login(city.db, h.card_no, QUERY_PASSWORD)
    second = portal.login(city.db, h.id_number, QUERY_PASSWORD)
    issued = portal.change_password(city.db, second.actor, QUERY_PASSWORD, "470215", "470215")
    for old in (first, second):
        with pytest.raises(PortalSessionInvalid):
            portal.authenticate(city.db, old.token)
    assert portal.authenticate(city.db, issued.token)[0].person_id == second.actor.person_id


def test_a_counter_reset_ends_every_session_of_the_holder(city: City) -> None:
    h = holder(city)
    stolen = portal.login(city.db, h.card_no, QUERY_PASSWORD)
    portal.set_query_password(city.db, city.counter, h.card_no, "470215")
    with pytest.raises(PortalSessionInvalid):
        portal.authenticate(city.db, stolen.token)


def test_sessions_expire_and_kiosk_sessions_also_when_idle(city: City) -> None:
    h = holder(city)
    online = portal.login(city.db, h.card_no, QUERY_PASSWORD)
    kiosk = portal.login(city.db, h.card_no, QUERY_PASSWORD, kiosk=True)
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start + dt.timedelta(seconds=60), tick=False):
        assert portal.authenticate(city.db, kiosk.token)[1] is True  # a touch within 90 s keeps it
    with time_machine.travel(start + dt.timedelta(seconds=140), tick=False):
        assert portal.authenticate(city.db, online.token)[0].person_id == online.actor.person_id
        assert portal.authenticate(city.db, kiosk.token)[1] is True
    with time_machine.travel(start + dt.timedelta(seconds=240), tick=False), pytest.raises(PortalSessionInvalid):
        portal.authenticate(city.db, kiosk.token)
    with time_machine.travel(start + dt.timedelta(minutes=31), tick=False), pytest.raises(PortalSessionInvalid):
        portal.authenticate(city.db, online.token)
    fresh = portal.login(city.db, h.card_no, QUERY_PASSWORD)
    portal.logout(city.db, fresh.token)
    with pytest.raises(PortalSessionInvalid):
        portal.authenticate(city.db, fresh.token)


def test_a_lost_card_cannot_open_a_kiosk_but_its_holder_can_log_in_online(city: City) -> None:
    h = holder(city)
    session = portal.login(city.db, h.card_no, QUERY_PASSWORD)
    portal.report_temporary_loss(city.db, session.actor, h.card_no)
    with pytest.raises(CardNotForKiosk):
        portal.login(city.db, h.card_no, QUERY_PASSWORD, kiosk=True)
    with pytest.raises(PortalLoginFailed):  # a kiosk reads card numbers only
        portal.login(city.db, h.id_number, QUERY_PASSWORD, kiosk=True)
    assert portal.login(city.db, h.id_number, QUERY_PASSWORD).actor == session.actor
    with city.db.unit_of_work() as s:
        row = s.execute(select(AuditRecord).where(AuditRecord.action == "card.temporary_loss",
                                                  AuditRecord.entity_id == h.card_no)).scalar_one()
        assert row.role == "cardholder" and row.operator == session.actor.username


def test_a_card_not_yet_activated_cannot_open_a_kiosk(city: City) -> None:
    id_no, card_no = person_with_card(city, "at_outlet")
    assert card_no is not None
    cards.pick_up(city.db, city.counter, card_no)  # handed over, sealed until the holder activates it
    portal.set_query_password(city.db, city.counter, card_no, QUERY_PASSWORD)
    with pytest.raises(CardNotForKiosk):
        portal.login(city.db, card_no, QUERY_PASSWORD, kiosk=True)
    assert portal.login(city.db, id_no, QUERY_PASSWORD).actor.person_id is not None


def test_contact_update_is_validated_and_audited(city: City) -> None:
    h = holder(city)
    actor = portal.login(city.db, h.card_no, QUERY_PASSWORD).actor
    with pytest.raises(PhoneInvalid):
        portal.update_contact(city.db, actor, "12ab", "清城区")
    with pytest.raises(DomainError, match="ADDRESS_INVALID"):
        portal.update_contact(city.db, actor, "13800138000", "清城区\u0000")
    assert reads.profile(city.db, actor).address is None  # nothing half-written
    portal.update_contact(city.db, actor, "138 0013 8000", "  清城区   松岗大道 8 号 ")
    seen = reads.profile(city.db, actor)
    assert seen.phone_masked == "138****8000" and seen.address == "清城区 松岗大道 8 号"
    assert registry.get(city.db, SYSTEM_ACTOR, h.id_number).phone == "13800138000"


def test_the_medical_read_shows_the_balance_and_the_settlement(city: City) -> None:
    h = insured_holder(city, balance_fen=50_000)
    actor = portal.login(city.db, h.card_no, QUERY_PASSWORD).actor
    seen = reads.medical(city.db, actor)
    assert seen.insured and len(seen.settlements) == 1
    s = seen.settlements[0]
    assert s.fund_paid_fen + s.account_paid_fen + s.cash_fen == s.total_fen == 4000
    assert seen.balance_fen == 50_000 - s.account_paid_fen
    days = dashboard.settlements_by_day(city.db, city.admin)
    assert any(d.settlements >= 1 and d.total_fen >= 4000 for d in days)
    with pytest.raises(PermissionDenied):
        dashboard.settlements_by_day(city.db, city.counter)
