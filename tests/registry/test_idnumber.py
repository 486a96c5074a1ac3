"""Citizen ID numbers (GB 11643-1999): known vectors, properties of parsing, and what registration accepts.

The check character is recomputed here from the standard (ISO 7064 MOD 11-2), independently of the code under
test, so a wrong weight table in the product would show up as a failing property.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from sscard.audit.models import AuditRecord
from sscard.errors import DomainError
from sscard.registry import idnumber
from sscard.registry import service as registry
from sscard.registry.models import Person
from sscard.registry.schemas import PersonIn
from support.city import City

QINGYUAN = ["441802", "441803", "441881", "441882", "441821", "441823", "441825", "441826"]
# 441827 (清新县, abolished 2012) and 110105 (北京朝阳) are valid in ID numbers though not Qingyuan divisions.
ID_REGIONS = [*QINGYUAN, "441827", "110105"]
REFUSAL_CODES = {"ID_CHECK_DIGIT_INVALID", "ID_BIRTH_DATE_INVALID", "ID_REGION_UNKNOWN", "ID_FORMAT_INVALID"}

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def mod11_2(first17: str) -> str:
    """ISO 7064 MOD 11-2 as GB 11643 states it: weights 2^(17-i) mod 11, check = (12 - S mod 11) mod 11."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def build(region: str, birth: dt.date, sequence: int) -> str:
    body = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return body + mod11_2(body)


def code_of(call: Callable[[], object]) -> str:
    with pytest.raises(DomainError) as caught:
        call()
    return caught.value.code


regions = st.sampled_from(ID_REGIONS)
births = st.dates(dt.date(1900, 1, 1), dt.date(2020, 12, 31))
sequences = st.integers(0, 999)


# ------------------------------------------------------------------------------------------ known vectors


@pytest.mark.parametrize(("number", "birth", "sex"), [
    ("11010519491231002X", dt.date(1949, 12, 31), "2"),
    ("440524188001010014", dt.date(1880, 1, 1), "1"),
    ("34052419800101001X", dt.date(1980, 1, 1), "1"),
    ("370101190102039973", dt.date(1901, 2, 3), "1"),
    ("513101198201130014", dt.date(1982, 1, 13), "1"),
])
def test_known_valid_numbers_parse(number: str, birth: dt.date, sex: str) -> None:
    parsed = idnumber.parse(number)
    assert parsed.value == number
    assert parsed.region_code == number[:6]
    assert parsed.birth_date == birth
    assert parsed.sex == sex
    assert parsed.upgraded_from is None
    assert mod11_2(number[:17]) == number[17]  # the vectors agree with the standard's formula


def test_lowercase_check_character_x_is_read_as_upper_case() -> None:
    assert idnumber.parse("11010519491231002x").value == "11010519491231002X"


def test_surrounding_and_inner_spaces_are_ignored() -> None:
    assert idnumber.parse(" 110105 19491231 002X ").value == "11010519491231002X"


@pytest.mark.parametrize(("number", "code"), [
    ("", "ID_FORMAT_INVALID"),
    ("11010519491231002", "ID_FORMAT_INVALID"),  # 17 characters
    ("1101051949123100200", "ID_FORMAT_INVALID"),  # 19 characters
    ("1101051949123100AX", "ID_FORMAT_INVALID"),
    ("110105194912310021", "ID_CHECK_DIGIT_INVALID"),
    ("441802199002300019", "ID_BIRTH_DATE_INVALID"),  # 30 February (check digit correct)
    ("441802300001010017", "ID_BIRTH_DATE_INVALID"),  # year 3000: in the future
    ("999999199001010015", "ID_REGION_UNKNOWN"),
])
def test_malformed_numbers_are_refused_with_their_code(number: str, code: str) -> None:
    if code != "ID_FORMAT_INVALID" and code != "ID_CHECK_DIGIT_INVALID":
        number = number[:17] + mod11_2(number[:17])  # isolate the rule under test from the check digit
    assert code_of(lambda: idnumber.parse(number)) == code


# ------------------------------------------------------------------------------------------------ properties


@PROPERTY
@given(regions, births, sequences)
def test_a_number_with_the_standard_check_digit_parses_to_its_parts(region: str, birth: dt.date,
                                                                    sequence: int) -> None:
    number = build(region, birth, sequence)
    parsed = idnumber.parse(number)
    assert parsed.value == number
    assert parsed.region_code == region
    assert parsed.birth_date == birth
    assert parsed.sex == ("1" if sequence % 2 == 1 else "2")
    assert idnumber.check_digit(number[:17]) == number[17]


@PROPERTY
@given(regions, births, sequences, st.integers(0, 16), st.sampled_from(string.digits))
def test_changing_any_one_of_the_first_17_digits_is_refused(region: str, birth: dt.date, sequence: int,
                                                            position: int, digit: str) -> None:
    number = build(region, birth, sequence)
    if number[position] == digit:
        digit = str((int(digit) + 1) % 10)
    changed = number[:position] + digit + number[position + 1:]
    assert code_of(lambda: idnumber.parse(changed)) in REFUSAL_CODES


@PROPERTY
@given(regions, births, sequences, st.sampled_from([*string.digits, "X"]))
def test_changing_only_the_check_character_is_refused_as_a_wrong_check_digit(region: str, birth: dt.date,
                                                                             sequence: int, char: str) -> None:
    number = build(region, birth, sequence)
    if char == number[17]:
        char = "0" if char == "X" else "X"
    assert code_of(lambda: idnumber.parse(number[:17] + char)) == "ID_CHECK_DIGIT_INVALID"


@PROPERTY
@given(regions, births, sequences, st.integers(0, 16), st.sampled_from(list("ABxyz-/.")))
def test_a_non_digit_among_the_first_17_is_a_format_error(region: str, birth: dt.date, sequence: int,
                                                         position: int, char: str) -> None:
    number = build(region, birth, sequence)
    changed = number[:position] + char + number[position + 1:]
    assert code_of(lambda: idnumber.parse(changed)) == "ID_FORMAT_INVALID"


@PROPERTY
@given(regions, st.dates(dt.date(1900, 1, 1), dt.date(1999, 12, 31)), sequences)
def test_a_15_digit_legacy_number_upgrades_with_century_19_and_a_check_digit(region: str, birth: dt.date,
                                                                            sequence: int) -> None:
    eighteen = build(region, birth, sequence)
    fifteen = f"{region}{birth:%y%m%d}{sequence:03d}"
    assert idnumber.upgrade_15(fifteen) == eighteen
    parsed = idnumber.parse(fifteen)
    assert (parsed.value, parsed.upgraded_from, parsed.birth_date) == (eighteen, fifteen, birth)
    # Parsing the upgraded number again is a fixed point: same parts, nothing left to upgrade.
    again = idnumber.parse(parsed.value)
    assert (again.value, again.region_code, again.birth_date, again.sex) == \
        (parsed.value, parsed.region_code, parsed.birth_date, parsed.sex)
    assert again.upgraded_from is None


@PROPERTY
@given(st.one_of(st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
                 st.text(alphabet="0123456789Xx ", min_size=13, max_size=20),
                 st.text(alphabet="0123456789Xx ０１２３４５６７８９٠١٢٣²¹", min_size=14, max_size=19)))
def test_arbitrary_text_never_raises_anything_but_a_domain_error(text: str) -> None:
    try:
        parsed = idnumber.parse(text)
    except DomainError as err:
        assert err.code in REFUSAL_CODES
        return
    assert len(parsed.value) == 18 and parsed.value[17] in "0123456789X"


@pytest.mark.parametrize("text", ["²" * 18, "²" * 15, "44¹802¹9900¹0¹00¹7"])
def test_superscript_digits_are_a_format_error(text: str) -> None:
    assert code_of(lambda: idnumber.parse(text)) == "ID_FORMAT_INVALID"


def test_a_parsed_number_is_always_18_ascii_characters() -> None:
    fullwidth = "441802" + "１９９００１０１００１" + "7"  # 441802199001010017 with full-width digits
    try:
        value = idnumber.parse(fullwidth).value
    except DomainError:
        return  # refusing such input is fine too
    assert value == "441802199001010017"


def test_masking_never_shows_the_whole_number() -> None:
    assert idnumber.mask("11010519491231002X") == "1101**********002X"
    assert idnumber.mask("1234567") == "*******"


# -------------------------------------------------------------------------------------------- registration


def _counts(city: City) -> tuple[int, int]:
    with city.db.unit_of_work() as session:
        persons = session.execute(select(func.count(Person.id))).scalar_one()
        audits = session.execute(select(func.count(AuditRecord.seq))).scalar_one()
    return persons, audits


def _refused(city: City, data: PersonIn) -> str:
    before = _counts(city)
    code = code_of(lambda: registry.register(city.db, city.counter, data))
    assert _counts(city) == before, "a refused registration must leave no person and no audit record"
    return code


def test_registration_with_a_sex_that_contradicts_the_number_is_refused(city: City,
                                                                        new_id: Callable[..., str]) -> None:
    number = new_id(male=True)
    data = PersonIn(id_number=number, name="张三", sex="2", region_code="441802")
    assert _refused(city, data) == "ID_SEX_MISMATCH"


def test_registration_with_a_birth_date_that_contradicts_the_number_is_refused(
        city: City, new_id: Callable[..., str]) -> None:
    number = new_id()
    wrong = idnumber.parse(number).birth_date + dt.timedelta(days=1)
    data = PersonIn(id_number=number, name="张三", birth_date=wrong, region_code="441802")
    assert _refused(city, data) == "ID_BIRTH_DATE_MISMATCH"


def test_registration_with_matching_sex_and_birth_date_is_accepted(city: City,
                                                                   new_id: Callable[..., str]) -> None:
    number = new_id(male=False)
    parsed = idnumber.parse(number)
    person = registry.register(city.db, city.counter, PersonIn(id_number=number, name="李四", sex="2",
                                                               birth_date=parsed.birth_date,
                                                               region_code="441881"))
    assert (person.sex, person.birth_date) == ("2", parsed.birth_date)


@pytest.mark.parametrize("name", [
    "欧阳" + "𬌗" * 24 + "𠇔" * 24,  # exactly 50 code points, 48 of them outside the BMP
    "𬌗",
    "阿依古丽·买买提",
    "x" * 50,
])
def test_names_up_to_50_code_points_including_rare_characters_are_stored_exactly(
        city: City, new_id: Callable[..., str], name: str) -> None:
    number = new_id()
    registry.register(city.db, city.counter, PersonIn(id_number=number, name=name, region_code="441802"))
    assert registry.get(city.db, city.counter, number).name == name


@pytest.mark.parametrize("name", ["𬌗" * 51, "x" * 51, "", "   ", "张\x00三", "张\u200b三"])
def test_empty_overlong_or_control_character_names_are_refused(city: City, new_id: Callable[..., str],
                                                               name: str) -> None:
    data = PersonIn(id_number=new_id(), name=name, region_code="441802")
    assert _refused(city, data) == "NAME_INVALID"


@pytest.mark.parametrize("region", ["441827", "110105", "441800", "000000"])
def test_a_residence_region_outside_the_eight_qingyuan_divisions_is_refused(city: City,
                                                                            new_id: Callable[..., str],
                                                                            region: str) -> None:
    data = PersonIn(id_number=new_id(), name="王五", region_code=region)
    assert _refused(city, data) == "REGION_INVALID"


def test_an_id_number_issued_in_an_abolished_region_registers_with_a_current_residence(
        city: City, new_id: Callable[..., str]) -> None:
    number = new_id(region="441827")  # 清新县 until 2012
    person = registry.register(city.db, city.counter, PersonIn(id_number=number, name="赵六",
                                                               region_code="441803"))
    assert (person.id_number, person.region_code) == (number, "441803")


def test_registering_the_same_number_twice_is_refused(city: City, new_id: Callable[..., str]) -> None:
    number = new_id()
    registry.register(city.db, city.counter, PersonIn(id_number=number, name="孙七", region_code="441802"))
    assert _refused(city, PersonIn(id_number=number, name="孙七", region_code="441802")) == "PERSON_EXISTS"


def test_registering_the_legacy_15_digit_form_of_a_registered_number_is_refused(
        city: City, new_id: Callable[..., str]) -> None:
    number = new_id()
    registry.register(city.db, city.counter, PersonIn(id_number=number, name="周八", region_code="441802"))
    legacy = number[:6] + number[8:17]
    assert _refused(city, PersonIn(id_number=legacy, name="周八", region_code="441802")) == "PERSON_EXISTS"


def test_registering_a_full_width_spelling_of_a_registered_number_is_refused(
        city: City, new_id: Callable[..., str]) -> None:
    number = new_id()
    registry.register(city.db, city.counter, PersonIn(id_number=number, name="吴九", region_code="441802"))
    fullwidth = number[:6] + "".join(chr(ord(c) + 0xFEE0) for c in number[6:17]) + number[17]
    assert _refused(city, PersonIn(id_number=fullwidth, name="吴九", region_code="441802")) in \
        {"PERSON_EXISTS", "ID_FORMAT_INVALID"}
