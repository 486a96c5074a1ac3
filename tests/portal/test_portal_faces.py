"""The cardholder services of issue 14 on SQLite and PostgreSQL: certificates with a verification code and the
public check, 参保状态 with 缴费年限 and the 单位/个人 split, 网上解挂, 网上补换卡 (fee quoted first, delivery,
progress, no second card on a retry), the kiosk's card check before the password, its wrong-password wording,
资格认证 at the kiosk, the card PIN changed at the kiosk, and the holder of a formally lost card logging in."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid

import pytest
import time_machine
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from stdnum.cn import uscc as stdnum_uscc

from sscard import clock
from sscard.access import SYSTEM_ACTOR, PermissionDenied
from sscard.audit.models import AuditRecord
from sscard.cards import service as cards
from sscard.cards.errors import CardStateInvalid, FormalLossRequired
from sscard.cards.models import Card
from sscard.cards.states import ProductionStatus
from sscard.fees.models import FeeCharge
from sscard.funds.benefits import entitlements
from sscard.funds.benefits.errors import CertificationNotNeeded
from sscard.funds.benefits.models import Certification
from sscard.funds.benefits.schemas import EntitlementIn
from sscard.funds.contributions import employer_file
from sscard.funds.contributions.employer import import_employer_file
from sscard.portal import documents, orders, reads
from sscard.portal import service as portal
from sscard.portal.errors import (
    CardNotForKiosk,
    CardOrderInvalid,
    CertificateNotFound,
    KioskLoginFailed,
    OutletUnknown,
    PortalLoginFailed,
)
from support.city import City
from web.portal_helpers import QUERY_PASSWORD, holder, insured_holder


def _actor(city: City, identifier: str) -> portal.Actor:
    return portal.login(city.db, identifier, QUERY_PASSWORD).actor


# ------------------------------------------------------------------------------------------ certificates


@given(st.text(max_size=80))
def test_a_typed_code_is_canonical_or_refused_like_an_unknown_one(raw: str) -> None:
    try:
        code = documents.parse_code(raw)
    except CertificateNotFound:
        return
    assert len(code) == documents.CODE_LENGTH and set(code) <= set(documents.ALPHABET)


def test_codes_are_read_with_dashes_spaces_and_lower_case() -> None:
    code = documents.new_code()
    assert documents.parse_code(" " + documents.grouped(code).lower() + " ") == code
    with pytest.raises(CertificateNotFound):
        documents.parse_code(code[:-1] + "0")  # 0 is not in the alphabet


def test_a_certificate_is_verified_with_masked_data_and_lapses(city: City) -> None:
    h = insured_holder(city, settle=False)
    actor = _actor(city, h.card_no)
    cert = documents.issue(city.db, actor, "insured")
    assert cert.valid_until == clock.local_date() + dt.timedelta(days=90)
    assert "*" in cert.id_masked and len(cert.code) == 19
    assert {s.insurance_type for s in cert.standings} >= {"pension", "medical", "unemployment"}
    check = documents.verify(city.db, cert.code)
    assert check.valid and check.kind == "insured" and check.name_masked.endswith("*")
    assert check.id_masked == cert.id_masked and check.name_masked != cert.name
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=92), tick=False):
        assert not documents.verify(city.db, cert.code).valid
    with pytest.raises(CertificateNotFound):
        documents.verify(city.db, documents.grouped(documents.new_code()))
    with city.db.unit_of_work() as session:
        actions = set(session.execute(select(AuditRecord.action).where(AuditRecord.entity_id == str(h.person_id))
                                      ).scalars())
    assert {"portal.certificate_issue", "portal.certificate_verify"} <= actions


def test_a_certificate_is_only_of_a_known_kind(city: City) -> None:
    h = holder(city)
    with pytest.raises(DomainErrorKind):
        documents.issue(city.db, _actor(city, h.card_no), "payslip")


DomainErrorKind = documents.CertificateKindInvalid


def _uscc() -> str:
    body = "91441802" + "".join(secrets.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return body + stdnum_uscc.calc_check_digit(body)


def test_standing_and_the_employer_and_personal_split(city: City) -> None:
    h = holder(city)
    actor = _actor(city, h.card_no)
    person_id = actor.person_id or 0
    before = {s.insurance_type: s for s in documents.standings(city.db, actor, person_id)}
    assert before["pension"].status == "none" and before["pension"].months_paid == 0
    period = clock.local_date().strftime("%Y-%m")
    lines = [employer_file.EmployerLine(1, h.id_number, "测试人", "pension", 459_800, 64_372, 36_784)]
    header = employer_file.EmployerHeader(_uscc(), "清远市测试有限公司", "ICBC", period, 1, 64_372 + 36_784,
                                          "20140625093000")
    import_employer_file(city.db, city.admin, employer_file.write(header, lines))
    rows = documents.contribution_lines(city.db, actor)
    pension = next(r for r in rows if r.insurance_type == "pension")
    assert (pension.employer_fen, pension.employee_fen, pension.amount_fen) == (64_372, 36_784, 101_156)
    after = {s.insurance_type: s for s in documents.standings(city.db, actor, person_id)}
    assert after["pension"].status == "paying" and after["pension"].payer == "employer"
    assert after["pension"].months_paid == 1 and after["unemployment"].status == "none"


# ---------------------------------------------------------------------------------------- lift a loss


def test_the_holder_lifts_a_temporary_loss_online_but_not_a_formal_one(city: City) -> None:
    h = holder(city)
    actor = _actor(city, h.id_number)
    portal.report_temporary_loss(city.db, actor, h.card_no)
    assert portal.lift_temporary_loss(city.db, actor, h.card_no).app_status == "1"
    cards.report_formal_loss(city.db, city.counter, h.card_no)
    with pytest.raises(CardStateInvalid):
        portal.lift_temporary_loss(city.db, actor, h.card_no)
    other = holder(city)
    cards.report_temporary_loss(city.db, city.counter, other.card_no)
    with pytest.raises(PermissionDenied):
        portal.lift_temporary_loss(city.db, actor, other.card_no)
    assert cards.get_card(city.db, SYSTEM_ACTOR, other.card_no).app_status == "4"


# ---------------------------------------------------------------------------------------- card orders


def test_a_replacement_ordered_online_quotes_its_fee_first_and_is_followed(city: City) -> None:
    h = holder(city)
    actor = _actor(city, h.id_number)
    quote = orders.quote(city.db, actor, "replacement")
    with pytest.raises(FormalLossRequired):  # a replacement needs the formal loss first
        orders.order(city.db, actor, h.card_no, "replacement", None, "pickup", None, "T01", uuid.uuid4().hex)
    cards.report_formal_loss(city.db, city.counter, h.card_no)
    with pytest.raises(OutletUnknown):
        orders.order(city.db, actor, h.card_no, "replacement", None, "pickup", None, "NOPE", uuid.uuid4().hex)
    with pytest.raises(CardOrderInvalid):
        orders.order(city.db, actor, h.card_no, "replacement", None, "mail", "  ", None, uuid.uuid4().hex)
    key = uuid.uuid4().hex
    first = orders.order(city.db, actor, h.card_no, "replacement", None, "mail", "清远市清城区人民一路 1 号", None, key)
    again = orders.order(city.db, actor, h.card_no, "replacement", None, "mail", "清远市清城区人民一路 1 号", None, key)
    assert first.card_no == again.card_no and first.fee_fen == quote.fee_fen
    with city.db.unit_of_work() as session:
        assert session.execute(select(func.count()).select_from(FeeCharge).where(
            FeeCharge.person_id == actor.person_id, FeeCharge.business == "replacement")).scalar_one() == 1
    followed = orders.my_orders(city.db, actor)
    assert [o.card_no for o in followed] == [first.card_no]
    assert [s.done for s in followed[0].steps] == [True, False, False, False, False]
    for step in (ProductionStatus.IN_BATCH, ProductionStatus.BANK_OPENED, ProductionStatus.CARD_MADE):
        cards.advance_production(city.db, city.admin, first.card_no, step)
    assert [s.done for s in orders.my_orders(city.db, actor)[0].steps] == [True, True, True, False, False]
    # The holder of the formally lost card still logs in, by the old card's number and by the ID number.
    assert portal.login(city.db, h.card_no, QUERY_PASSWORD).actor.person_id == actor.person_id
    assert portal.login(city.db, first.card_no, QUERY_PASSWORD).actor.person_id == actor.person_id


def test_an_exchange_to_an_outlet_and_someone_elses_card(city: City) -> None:
    h, other = holder(city), holder(city)
    actor = _actor(city, h.card_no)
    with pytest.raises(CardOrderInvalid):
        orders.quote(city.db, actor, "new")
    with pytest.raises(PermissionDenied):
        orders.order(city.db, actor, other.card_no, "exchange", "damaged", "pickup", None, "T01", uuid.uuid4().hex)
    made = orders.order(city.db, actor, h.card_no, "exchange", "damaged", "pickup", None, "T01", uuid.uuid4().hex)
    assert made.outlet_code == "T01" and made.outlet_name and made.business == "exchange"
    assert cards.get_card(city.db, SYSTEM_ACTOR, h.card_no).app_status == "1"  # the old card works meanwhile


# ------------------------------------------------------------------------------------------------ kiosk


def test_the_kiosk_refuses_a_lost_card_before_the_password(city: City) -> None:
    h = holder(city)
    portal.check_kiosk_card(city.db, h.card_no)  # in use: the kiosk asks for the password
    cards.report_temporary_loss(city.db, city.counter, h.card_no)
    with pytest.raises(CardNotForKiosk):
        portal.check_kiosk_card(city.db, h.card_no)
    with pytest.raises(CardNotForKiosk):
        portal.check_kiosk_card(city.db, "A0000000X")


def test_a_wrong_kiosk_password_speaks_of_the_card_not_the_id_number(city: City) -> None:
    h = holder(city)
    with pytest.raises(KioskLoginFailed) as kiosk_err:
        portal.login(city.db, h.card_no, "135791", kiosk=True)
    with pytest.raises(PortalLoginFailed) as online_err:
        portal.login(city.db, h.card_no, "135791")
    assert kiosk_err.value.code == online_err.value.code == "PORTAL_LOGIN_FAILED"
    assert "身份证号" not in kiosk_err.value.message_zh and "身份证号" in online_err.value.message_zh


def test_certification_at_the_kiosk(city: City) -> None:
    h = insured_holder(city, settle=False)
    actor = portal.login(city.db, h.card_no, QUERY_PASSWORD, kiosk=True).actor
    with pytest.raises(CertificationNotNeeded):
        entitlements.certify_own_at_kiosk(city.db, actor)
    assert not entitlements.certification_standing(city.db, actor, h.person_id or 0).needed
    entitlements.grant_entitlement(city.db, city.admin, EntitlementIn(person_id=h.person_id, kind="pension",
                                                                        amount=180_000, start_period="2026-01",
                                                                        months=None))
    standing = entitlements.certification_standing(city.db, actor, h.person_id or 0)
    assert standing.needed and standing.last_certified_on == clock.local_date()  # the award saw the person
    entitlements.certify_own_at_kiosk(city.db, actor)
    with city.db.unit_of_work() as session:
        methods = list(session.execute(select(Certification.method).where(
            Certification.person_id == h.person_id).order_by(Certification.id)).scalars())
    assert methods == ["award", "kiosk"]
    assert entitlements.certification_standing(city.db, actor, h.person_id or 0).due_on is not None


def test_the_card_pin_is_changed_at_the_kiosk(city: City) -> None:
    h = holder(city)
    actor = portal.login(city.db, h.card_no, QUERY_PASSWORD, kiosk=True).actor
    assert not portal.change_card_pin(city.db, actor, h.card_no, "000000", "135790", "135790")
    assert portal.change_card_pin(city.db, actor, h.card_no, "246810", "135790", "135790")
    assert cards.verify_pin(city.db, city.counter, h.card_no, "135790").ok
    with city.db.unit_of_work() as session:
        assert session.execute(select(Card.pin_failures).where(Card.card_no == h.card_no)).scalar_one() == 0


def test_settlement_lines_and_account_credits(city: City) -> None:
    h = insured_holder(city, balance_fen=50_000)
    medical = reads.medical(city.db, _actor(city, h.card_no))
    assert medical.settlements and medical.settlements[0].lines
    line = medical.settlements[0].lines[0]
    assert line.amount_fen == 4000 and line.name
    assert [c.amount_fen for c in medical.credits] == [50_000]


def test_the_documented_verification_codes_read_as_shipped() -> None:
    import json
    from pathlib import Path

    doc = Path(__file__).resolve().parents[2] / "docs" / "examples" / "portal" / "verification-codes.json"
    for case in json.loads(doc.read_text(encoding="utf-8"))["cases"]:
        if case["looks_up"] is None:
            with pytest.raises(CertificateNotFound):
                documents.parse_code(case["typed"])
        else:
            assert documents.parse_code(case["typed"]) == case["looks_up"], case
