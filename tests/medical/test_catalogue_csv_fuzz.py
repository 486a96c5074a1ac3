"""The catalogue CSV import never fails with a 500: a carriage return inside an unquoted cell (what schemathesis
found), extra cells, control characters, odd digits, random text — each refuses the whole file with
CATALOGUE_INVALID and imports nothing."""

from __future__ import annotations

import string

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sscard.medical import config
from sscard.medical.catalogue import Catalogue
from sscard.medical.errors import CatalogueInvalid
from sscard.medical.loading import CATALOGUE_COLUMNS, parse_catalogue_csv
from support.city import PASSWORD, City

HEADER = ",".join(CATALOGUE_COLUMNS)


def _admin(client: TestClient) -> dict[str, str]:
    token = client.post("/api/v1/auth/token", json={"username": "t-admin", "password": PASSWORD}).json()
    return {"Authorization": "Bearer " + token["access_token"]}


@pytest.mark.parametrize("body", [
    f"{HEADER}\nZZ-CR-1,阿莫\r西林,drug,甲,,,,\n",  # the schemathesis case: \r in an unquoted cell
    f"{HEADER}\nZZ-CR-1,ok,drug,甲,,,,\rZZ-CR-2,ok,drug,甲,,,,\n",  # \r as if it ended a row
    f"{HEADER}\nZZ-CR-1,ok,drug,甲,,,,,,\n",  # more cells than columns
    f"{HEADER}\nZZ-CR-1,\"a\tb\",drug,甲,,,,\n",  # a control character inside a quoted cell
    f"{HEADER}\nZZ-CR-1,ok,drug,甲,²,,,\n",  # a digit that int() does not take
    f"{HEADER}\nZZ-CR-1,ok,drug,甲,{'9' * 5000},,,\n",  # beyond any BIGINT (and int()'s digit limit)
    f"{HEADER}\nZZ-CR-1,{'名' * 201},drug,甲,,,,\n",  # name too long
    f"{HEADER}\nZZ-CR-1,\"{'x' * 200_000}\",drug,甲,,,,\n",  # beyond the csv module's field limit
])
def test_a_malformed_catalogue_file_is_refused_whole_with_its_code(city: City, client: TestClient,
                                                                   body: str) -> None:
    good = "ZZ-CR-OK,正常行,drug,甲,,,,\n"
    r = client.post("/api/v1/medical/admin/catalogue/import", json={"csv": body + good, "source": "cr.csv"},
                    headers=_admin(client))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "CATALOGUE_INVALID"
    assert config.list_catalogue(city.db, city.admin, "ZZ-CR") == []  # nothing imported, not even the good row


_cells = st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(list(",\"\r\n\t\x00;")),
                 max_size=30)
_row = st.lists(_cells, min_size=0, max_size=10).map(",".join)
_plausible = st.builds(lambda code, name, kind, klass, cap, rate, start, end: ",".join(
    [code, name, kind, klass, cap, rate, start, end]),
    st.text(string.ascii_uppercase + string.digits + "-\r", max_size=8), _cells,
    st.sampled_from(["drug", "service", "material", "x", ""]), st.sampled_from(["甲", "乙", "丙", "A", "B", "Q", ""]),
    st.sampled_from(["", "100", "-1", "1e3", "99999999999999999999", "٣"]), st.sampled_from(["", "1000", "20000"]),
    st.sampled_from(["", "2013-01-01", "2026-02-30", "x"]), st.sampled_from(["", "2012-01-01", "2099-12-31"]))


@settings(max_examples=400, deadline=None)
@given(comments=st.lists(st.text(max_size=20).map(lambda t: "#" + t), max_size=2),
       header=st.sampled_from([HEADER, HEADER + ",extra", "code,name", ""]) | _row,
       rows=st.lists(_plausible | _row, max_size=6), end=st.sampled_from(["\n", "\r\n", "\r", ""]))
def test_the_catalogue_parser_answers_a_catalogue_or_a_coded_error(comments: list[str], header: str,
                                                                    rows: list[str], end: str) -> None:
    text = end.join([*comments, header, *rows]) + end
    try:
        catalogue = parse_catalogue_csv(text, "fuzz.csv")
    except CatalogueInvalid as exc:
        assert exc.code == "CATALOGUE_INVALID" and exc.detail
    else:
        assert isinstance(catalogue, Catalogue)
        for item in catalogue.items():
            assert len(item.name) <= 200 and not any(ch in item.name for ch in "\r\n\x00")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(list(",\"\r\n")), max_size=300))
def test_any_text_posted_as_a_catalogue_gets_a_4xx_at_most(city: City, client: TestClient, text: str) -> None:
    r = client.post("/api/v1/medical/admin/catalogue/import", json={"csv": f"{HEADER}\n{text}", "source": "f"},
                    headers=_admin(client))
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:
        assert r.json()["error"]["code"] in ("CATALOGUE_INVALID", "VALIDATION_ERROR")
