"""The comparison engine (比对): every check of a collection against the population register, vectorised in
DuckDB over Arrow tables or Parquet files — no Python loop over rows. Python only classifies the few distinct
region codes and name characters, which the SQL then joins back.

DuckDB was chosen over polars by measurement (bench/compare.py runs both bare joins in the same process).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from sscard.registry.regions import DIVISION_BY_CODE, is_known_region

PHOTO_SIZE = (358, 441)  # GA 461-2004 ID photo: 358 × 441 px
Source = pa.Table | Path

# Reason codes (stable; docs/production.md). FIXABLE ones can be resolved by taking the register's value;
# FLAGS can be accepted by an operator; the rest only rejected or sent back for recollection.
REASONS: dict[str, str] = {
    "ID_FORMAT": "身份证号码格式错误 / ID number malformed",
    "ID_CHECK_DIGIT": "身份证号码校验位错误 / check digit wrong",
    "ID_BIRTH_INVALID": "身份证号码出生日期无效 / birth date in the ID number invalid",
    "ID_REGION_UNKNOWN": "身份证号码区划代码不存在 / the ID number's region code never existed",
    "ID_SEX_MISMATCH": "性别与身份证号码不符 / sex does not match the ID number",
    "ID_BIRTH_MISMATCH": "出生日期与身份证号码不符 / birth date does not match the ID number",
    "REGION_NOT_DIVISION": "居住区划不是清远市县级区划 / residence is not a Qingyuan division",
    "NOT_IN_REGISTER": "公安人口库中无此人 / not in the population register",
    "NAME_MISMATCH": "姓名与公安数据不符 / name differs from the register",
    "SEX_MISMATCH_REGISTER": "性别与公安数据不符 / sex differs from the register",
    "BIRTH_MISMATCH_REGISTER": "出生日期与公安数据不符 / birth date differs from the register",
    "REGION_MISMATCH_REGISTER": "区划与公安数据不符 / division differs from the register",
    "PERSON_DECEASED": "公安数据为死亡 / deceased in the register",
    "PERSON_MISSING": "公安数据为失踪 / missing in the register",
    "LIVING_STATUS_UNCLEAR": "公安数据生存状态待定 / living status imprisoned or undetermined",
    "DUPLICATE_IN_COLLECTION": "采集库重复 / appears more than once in the collection",
    "HOLDS_CARD": "卡管库重复：已持有有效卡 / already holds a valid card",
    "APPLICATION_OPEN": "已有在办申领 / an application is already in progress",
    "PHOTO_MISSING": "无相片 / no photo",
    "PHOTO_SIZE": "相片尺寸不符合 GA 461 (358×441) / photo size is not 358×441",
    "NAME_INVALID": "姓名为空、超长或含控制字符 / name empty, too long or with control characters",
    "NAME_NOT_GB18030": "姓名含 GB18030 以外字符 / name has characters outside GB18030",
    "NAME_OUTSIDE_BANK_CHARSET": "姓名含银行字符集以外的生僻字 / rare character outside the bank's character set",
    "PHONE_INVALID": "联系电话格式错误 / phone number malformed",
}
FIXABLE: dict[str, str] = {"NAME_MISMATCH": "name", "SEX_MISMATCH_REGISTER": "sex",
                           "BIRTH_MISMATCH_REGISTER": "birth_date", "REGION_MISMATCH_REGISTER": "region_code"}
# DUPLICATE_IN_COLLECTION is accepted for the one record kept; the cards service still refuses a second card.
FLAGS = frozenset({"NAME_OUTSIDE_BANK_CHARSET", "REGION_MISMATCH_REGISTER", "PHOTO_SIZE", "DUPLICATE_IN_COLLECTION"})

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_SUM = " + ".join(f"{w} * CAST(substr(c.id_number, {i + 1}, 1) AS INTEGER)" for i, w in enumerate(_WEIGHTS))
_STRING: pa.DataType = pa.string()
EXCEPTION_SCHEMA = pa.schema([("record_id", pa.int64()), ("reason_code", _STRING), ("detail", _STRING),
                              ("field", _STRING), ("register_value", _STRING)])


@dataclass(frozen=True)
class CharClass:
    gb18030: bool
    gbk: bool
    gb2312: bool


def classify_char(ch: str) -> CharClass:
    def fits(codec: str) -> bool:
        try:
            ch.encode(codec)
        except UnicodeEncodeError:
            return False
        return True

    printable = unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co", "Cn"}
    return CharClass(printable and fits("gb18030"), printable and fits("gbk"), printable and fits("gb2312"))


def _relation(con: duckdb.DuckDBPyConnection, name: str, source: Source) -> None:
    if isinstance(source, Path):
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{source.as_posix()}')")
    else:
        con.register(name, source)


# One pass: the collection joined once with the register, the duplicate set, the holders and the region
# classification; per-record booleans; only rows with a finding are expanded into (record, reason) rows.
_CHECKS: tuple[tuple[str, str, str, str | None, str | None], ...] = (
    # (reason code, condition, detail expression, field, register value expression)
    ("ID_FORMAT", "NOT well_formed", "id_number", None, None),
    ("ID_CHECK_DIGIT", "well_formed AND substr(id_number, 18, 1) <> expected_check", "'expected ' || expected_check",
     None, None),
    ("ID_BIRTH_INVALID", "well_formed AND id_birth IS NULL", "substr(id_number, 7, 8)", None, None),
    ("ID_REGION_UNKNOWN", "well_formed AND NOT coalesce(id_region_known, FALSE)", "substr(id_number, 1, 6)", None,
     None),
    ("ID_SEX_MISMATCH", "well_formed AND sex <> id_sex", "'the ID number says ' || id_sex", None, None),
    ("ID_BIRTH_MISMATCH", "id_birth IS NOT NULL AND birth_date <> id_birth",
     "'the ID number says ' || CAST(id_birth AS VARCHAR)", None, None),
    ("REGION_NOT_DIVISION", "NOT coalesce(is_division, FALSE)", "region_code", None, None),
    ("NOT_IN_REGISTER", "NOT in_register", "''", None, None),
    ("NAME_MISMATCH", "in_register AND name <> p_name", "'register: ' || p_name", "name", "p_name"),
    ("SEX_MISMATCH_REGISTER", "in_register AND sex <> p_sex", "'register: ' || p_sex", "sex", "p_sex"),
    ("BIRTH_MISMATCH_REGISTER", "in_register AND birth_date <> p_birth",
     "'register: ' || CAST(p_birth AS VARCHAR)", "birth_date", "CAST(p_birth AS VARCHAR)"),
    ("REGION_MISMATCH_REGISTER", "in_register AND region_code <> p_region", "'register: ' || p_region",
     "region_code", "p_region"),
    ("PERSON_DECEASED", "living_status = '2'", "'AAC060=2'", None, None),
    ("PERSON_MISSING", "living_status = '4'", "'AAC060=4'", None, None),
    ("LIVING_STATUS_UNCLEAR", "living_status IN ('3', '5')", "'AAC060=' || living_status", None, None),
    ("DUPLICATE_IN_COLLECTION", "is_dup OR coalesce(has_collected, FALSE)", "''", None, None),
    ("HOLDS_CARD", "coalesce(has_card, FALSE)", "'card'", None, None),
    ("APPLICATION_OPEN", "coalesce(has_app, FALSE)", "'application'", None, None),
    ("PHOTO_MISSING", "photo_ref IS NULL OR photo_width IS NULL", "coalesce(photo_ref, '')", None, None),
    ("PHOTO_SIZE", f"photo_width IS NOT NULL AND (photo_width <> {PHOTO_SIZE[0]} OR photo_height <> {PHOTO_SIZE[1]})",
     "photo_width || 'x' || photo_height", None, None),
    ("NAME_INVALID", "length(trim(name)) = 0 OR length(name) > 50", "CAST(length(name) AS VARCHAR)", None, None),
    ("NAME_NOT_GB18030", "bad_18030", "''", None, None),
    ("NAME_OUTSIDE_BANK_CHARSET",
     "NOT bad_18030 AND ((charset = 'gb2312' AND bad_2312) OR (charset = 'gbk' AND bad_gbk))",
     "'pinyin fallback in bank files'", None, None),
    ("PHONE_INVALID",
     "phone IS NOT NULL AND NOT regexp_full_match(phone, '1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8}')", "phone", None,
     None),
)


def _char_class(chars: list[str]) -> str:
    """A regex matching any of ``chars`` (FALSE when there are none)."""
    if not chars:
        return "FALSE"
    body = "".join("\\" + ch if ch in "]\\^-[" else ch for ch in chars).replace("'", "''")
    return f"regexp_matches(c.name, '[{body}]')"


def _sql(bad: dict[str, list[str]]) -> str:
    flags = ",\n".join(f"({cond}) AS f{i}" for i, (_, cond, _, _, _) in enumerate(_CHECKS))
    any_hit = " OR ".join(f"f{i}" for i in range(len(_CHECKS)))
    structs = ", ".join(
        f"CASE WHEN f{i} THEN {{'code': '{code}', 'detail': CAST({detail} AS VARCHAR), "
        f"'field': CAST({repr(field) if field else 'NULL'} AS VARCHAR), "
        f"'value': CAST({value or 'NULL'} AS VARCHAR)}} END"
        for i, (code, _, detail, field, value) in enumerate(_CHECKS))
    return f"""
WITH dup AS (SELECT id_number FROM collected GROUP BY id_number HAVING count(*) > 1),
h AS (SELECT id_number, bool_or(kind = 'card') AS has_card, bool_or(kind = 'application') AS has_app,
             bool_or(kind = 'collected') AS has_collected FROM holders GROUP BY id_number),
j AS (
    SELECT c.record_id, c.id_number, c.name, c.sex, c.birth_date, c.region_code, c.phone, c.photo_ref,
           c.photo_width, c.photo_height, coalesce(c.accepted_codes, '') AS accepted_codes,
           regexp_full_match(c.id_number, '[0-9]{{17}}[0-9X]') AS well_formed,
           CASE WHEN regexp_full_match(c.id_number, '[0-9]{{17}}[0-9X]')
                THEN substr('10X98765432', (({_CHECK_SUM}) % 11) + 1, 1) END AS expected_check,
           try_strptime(substr(c.id_number, 7, 8), '%Y%m%d')::DATE AS id_birth,
           CASE WHEN CAST(substr(c.id_number, 17, 1) AS INTEGER) % 2 = 1 THEN '1' ELSE '2' END AS id_sex,
           p.id_number IS NOT NULL AS in_register, p.name AS p_name, p.sex AS p_sex, p.birth_date AS p_birth,
           p.region_code AS p_region, p.living_status,
           d.id_number IS NOT NULL AS is_dup, h.has_card, h.has_app, h.has_collected,
           r1.known AS id_region_known, r2.division AS is_division, dc.charset,
           {_char_class(bad["gb18030"])} AS bad_18030, {_char_class(bad["gbk"])} AS bad_gbk,
           {_char_class(bad["gb2312"])} AS bad_2312
    FROM collected c
    LEFT JOIN population p ON p.id_number = c.id_number
    LEFT JOIN dup d ON d.id_number = c.id_number
    LEFT JOIN h ON h.id_number = c.id_number
    LEFT JOIN regions r1 ON r1.code = substr(c.id_number, 1, 6)
    LEFT JOIN regions r2 ON r2.code = c.region_code
    LEFT JOIN division_charsets dc ON dc.code = c.region_code
),
flagged AS (SELECT *, {flags} FROM j),
hits AS (
    SELECT record_id, accepted_codes, unnest(list_filter([{structs}], lambda x: x IS NOT NULL)) AS hit
    FROM flagged WHERE {any_hit}
)
SELECT DISTINCT record_id::BIGINT AS record_id, hit.code AS reason_code, coalesce(hit.detail, '') AS detail,
       hit.field AS field, hit.value AS register_value
FROM hits
WHERE position(',' || hit.code || ',' IN ',' || accepted_codes || ',') = 0
ORDER BY record_id, reason_code
"""


def run(collected: Source, population: Source, holders: Source, division_charsets: Mapping[str, str],
        con: duckdb.DuckDBPyConnection | None = None) -> pa.Table:
    """All checks at once → an Arrow table (record_id, reason_code, detail, field, register_value).

    ``collected`` has record_id, id_number, name, sex, birth_date, region_code, phone, photo_ref, photo_width,
    photo_height, accepted_codes; ``population`` the register columns; ``holders`` (id_number, kind) the persons
    who hold a valid card (kind 'card') or have an application or collected record in progress.
    """
    own = con is None
    con = con or duckdb.connect()
    try:
        _relation(con, "collected", collected)
        _relation(con, "population", population)
        _relation(con, "holders", holders)
        codes = [r[0] for r in con.execute(
            "SELECT DISTINCT substr(id_number, 1, 6) FROM collected UNION SELECT DISTINCT region_code FROM collected"
        ).fetchall()]
        con.register("regions", pa.table({
            "code": pa.array(codes, pa.string()),
            "known": pa.array([is_known_region(c) for c in codes], pa.bool_()),
            "division": pa.array([c in DIVISION_BY_CODE for c in codes], pa.bool_())}))
        chars = [r[0] for r in con.execute(
            "SELECT DISTINCT unnest(string_split(name, '')) FROM collected").fetchall()]
        classes = {ch: classify_char(ch) for ch in chars if ch}
        bad = {"gb18030": sorted(ch for ch, k in classes.items() if not k.gb18030),
               "gbk": sorted(ch for ch, k in classes.items() if not k.gbk),
               "gb2312": sorted(ch for ch, k in classes.items() if not k.gb2312)}
        con.register("division_charsets", pa.table({"code": pa.array(list(division_charsets), pa.string()),
                                                    "charset": pa.array(list(division_charsets.values()),
                                                                        pa.string())}))
        found: pa.Table = con.sql(_sql(bad)).to_arrow_table()
        return found.cast(EXCEPTION_SCHEMA)
    finally:
        if own:
            con.close()
