"""Administrative divisions (GB/T 2260): Qingyuan's eight county-level divisions, and whether any code ever existed.

An ID number keeps the region code it was issued under for life, so a code abolished since (清新县 441827,
潮阳县 440524) is still a valid part of an ID number. The national code history comes from python-stdnum's
database (compiled from the Wikipedia lists of GB/T 2260 codes); we only add codes it lacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from stdnum import numdb

CITY_CODE = "441800"  # 清远市


@dataclass(frozen=True)
class Division:
    code: str
    name_zh: str
    name_en: str


# The eight county-level divisions of Qingyuan as in the 2013 plan (清新县 became 清新区 in 2012: 441827 → 441803).
DIVISIONS: tuple[Division, ...] = (
    Division("441802", "清城区", "Qingcheng District"),
    Division("441803", "清新区", "Qingxin District"),
    Division("441881", "英德市", "Yingde City"),
    Division("441882", "连州市", "Lianzhou City"),
    Division("441821", "佛冈县", "Fogang County"),
    Division("441823", "阳山县", "Yangshan County"),
    Division("441825", "连山壮族瑶族自治县", "Lianshan Zhuang and Yao Autonomous County"),
    Division("441826", "连南瑶族自治县", "Liannan Yao Autonomous County"),
)
DIVISION_BY_CODE = {d.code: d for d in DIVISIONS}

# Historical codes missing from the stdnum database but attested (e.g. in GB 11643 test vectors).
_SUPPLEMENT = {"340524": "安徽省 巢湖地区 含山县"}


@lru_cache(maxsize=65536)
def region_name(code: str) -> str | None:
    """The name of a code that exists or existed at any time, or None if it never did."""
    if len(code) != 6 or not code.isdigit():
        return None
    if code in _SUPPLEMENT:
        return _SUPPLEMENT[code]
    info: dict[str, str] = {}
    for _part, props in numdb.get("cn/loc").info(code):
        info.update(props)
    county = info.get("county")
    if not county:
        return None
    # entries look like "[1983-1993]潮阳县" or several joined by commas; keep the last name.
    last = county.split(",")[-1]
    name = last.split("]", 1)[-1]
    return f"{info.get('province', '')} {name}".strip()


def is_known_region(code: str) -> bool:
    return region_name(code) is not None
