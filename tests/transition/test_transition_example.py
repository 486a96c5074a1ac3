"""docs/examples/transition/: the legacy card file a vendor can copy, imported as it stands (GB18030, MAC'd with
the demo key of ``legacy:GFMED``): four cards carried, two queued, the report reconciled to the fen.
``SSCARD_WRITE_EXAMPLES=1`` rewrites the file from the lines below."""

from __future__ import annotations

import os

from transition_world import EXAMPLES, make_file

from sscard.ledger import service as ledger
from sscard.ledger.chart import LegacyTransition, PersonalMedical
from sscard.registry import service as registry
from sscard.registry.schemas import PersonIn
from sscard.transition import legacy_file
from sscard.transition import service as transition
from sscard.transition.legacy_file import Line
from support.city import City

SAMPLE = EXAMPLES / "legacy-cards-gb18030.lmc"
# The holders the sample's first four lines name (registered before the import); line 5's person is not
# registered and line 6's number has a wrong check digit: both land in the exceptions queue.
HOLDERS = (("44180219300101001X", "张三"), ("441802193102020022", "李四"), ("441802193203030035", "王五"),
           ("441802193304040048", "陈䶮"))
LINES = [
    Line(1, "GF00000001", HOLDERS[0][0], "张三", 123456, "1"),
    Line(2, "GF00000002", HOLDERS[1][0], "李四", 0, "1"),
    Line(3, "GF00000003", HOLDERS[2][0], "王五", 250000, "2"),
    Line(4, "GF00000004", "441802330404004", "陈䶮", 88888, "1"),  # a 15-digit number of the old register
    Line(5, "GF00000005", "441802193505050058", "钱七", 5000, "1"),
    Line(6, "GF00000006", "441802193606060065", "孙八", 700, "9"),
]


def _sample() -> bytes:
    return make_file(LINES, file_id="GFMED-20261130-01", source="GFMED", encoding="GB18030", as_of="20261130",
                     created="20261201083000")


def test_the_sample_is_the_documented_file_as_shipped() -> None:
    if os.environ.get("SSCARD_WRITE_EXAMPLES"):
        SAMPLE.write_bytes(_sample())
    assert SAMPLE.read_bytes() == _sample()
    parsed = legacy_file.parse_file(SAMPLE.read_bytes())
    assert parsed.header.encoding == "GB18030" and parsed.names[3] == "陈䶮"
    assert parsed.id_numbers[3] == HOLDERS[3][0]  # upgraded from 15 digits
    assert (len(parsed), parsed.header.total) == (6, 123456 + 250000 + 88888 + 5000 + 700)


def test_the_sample_imports_as_it_stands(fresh_city: City) -> None:
    city = fresh_city
    ids = {}
    for number, name in HOLDERS:
        ids[number] = registry.register(city.db, city.counter, PersonIn(id_number=number, name=name,
                                                                        region_code="441802")).id
    result = transition.import_file(city.db, city.admin, SAMPLE.read_bytes())
    assert (result.line_count, result.carried_count, result.exception_count) == (6, 4, 2)
    assert (result.carried_fen, result.exception_fen) == (123456 + 250000 + 88888, 5700)
    assert result.transfers_posted == 3  # the zero balance needs no transfer
    with city.db.unit_of_work() as s:
        assert ledger.balance(s, PersonalMedical(ids[HOLDERS[0][0]]).code).credit_balance == 123456
        assert ledger.balance(s, PersonalMedical(ids[HOLDERS[3][0]]).code).credit_balance == 88888
        assert ledger.balance(s, PersonalMedical(ids[HOLDERS[1][0]]).code).credit_balance == 0
        assert ledger.balance(s, LegacyTransition("GFMED").code).debits_posted == 462344
        assert ledger.check_zero_sum(s).ok
    report = transition.report(city.db, city.supervisor, result.import_id)
    assert report.reconciled and report.difference_fen == 0
    assert report.by_reason == {"NO_PERSON": (1, 5000), "ID_INVALID": (1, 700)}
    queue = transition.exceptions(city.db, city.supervisor, result.import_id)
    assert [(e.line_no, e.reason, e.legacy_card_no_masked, e.id_number_masked) for e in queue] == [
        (5, "NO_PERSON", "GF******05", "4418**********0058"), (6, "ID_INVALID", "GF******06", "4418**********0065")]
