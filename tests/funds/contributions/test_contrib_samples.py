"""The sample files in docs/examples are what the code writes and reads (docs/contributions.md)."""

from __future__ import annotations

from pathlib import Path

from sscard.banks import files
from sscard.funds.contributions import employer_file
from sscard.funds.contributions.employer import import_employer_file
from sscard.registry import service as registry
from sscard.registry.errors import PersonNotFound
from sscard.registry.schemas import PersonIn
from support.city import City

EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"


def test_the_debit_and_return_samples_parse_and_add_up() -> None:
    sent = files.parse_batch((EXAMPLES / "contrib-debit-2014-06.txt").read_bytes())
    answer = files.parse_return((EXAMPLES / "contrib-debit-2014-06-return.txt").read_bytes(), sent)
    assert sent.header.kind is files.Kind.DEBIT and sent.header.count == len(answer.lines) == 8
    assert sent.header.total == answer.ok_amount + answer.failed_amount
    assert {line.reason for line in answer.failures()} == {"INSUFFICIENT_BALANCE", "ACCOUNT_FROZEN"}


def test_the_employer_sample_imports_at_the_seeded_rates(city: City) -> None:
    data = (EXAMPLES / "contrib-employer-2014-06.txt").read_bytes()
    parsed = employer_file.parse(data)
    for number, name in {(ln.id_number, ln.name) for ln in parsed.lines}:
        try:
            registry.get(city.db, city.admin, number)
        except PersonNotFound:
            registry.register(city.db, city.admin, PersonIn(id_number=number, name=name, region_code="441802"))
    result = import_employer_file(city.db, city.admin, data)
    assert (result.lines, result.total_fen) == (parsed.header.count, parsed.header.total)
