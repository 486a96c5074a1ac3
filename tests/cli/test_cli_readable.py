"""The table a person reads (``common.show``): identifiers masked, fen as yuan; ``--json`` the data unchanged."""

from __future__ import annotations

import json

import pytest

from sscard.cli.common import readable, show


def test_readable_masks_identifiers_and_shows_fen_as_yuan() -> None:
    data = {"person_id": 7, "account_no": "6222000000000077", "paid_fen": 123_456, "amount": -5, "owed_fen": None,
            "status": "active", "lines": [{"batch_no": "WH-1", "total_fen": 100}]}
    assert readable(data, money=("amount",)) == {
        "person_id": 7, "account_no": "6222********0077", "paid ¥": "1,234.56", "amount ¥": "-0.05", "owed ¥": "-",
        "status": "active", "lines": [{"batch_no": "WH-1", "total ¥": "1.00"}]}
    assert data["account_no"] == "6222000000000077"  # the caller's data is left alone


def test_show_prints_a_table_by_default_and_the_same_json_with_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = {"bank_code": "ICBC", "account_no": "6222000000000099", "balance": 12_345}
    show(data, False, "account", money=("balance",))
    table = capsys.readouterr().out
    assert "123.45" in table and "6222********0099" in table and "6222000000000099" not in table
    show(data, True, "account", money=("balance",))
    assert json.loads(capsys.readouterr().out) == data
