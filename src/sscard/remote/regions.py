"""The province's 统筹区 that a registration can name as the treating city (就医地), for the pages: the 21
prefecture-level cities of Guangdong with their GB/T 2260 administrative division codes (the codes the hub's
registry and the 2207 ``insuplc_admdvs`` field use). A fixed reference list rather than the hub's registry, so
the form works while the hub is unreachable; the API accepts any six-digit code, and a city the hub does not
know is refused when the registration is distributed, as before."""

from __future__ import annotations

from typing import NamedTuple


class City(NamedTuple):
    code: str
    name_zh: str
    name_en: str


PROVINCE_CITIES: tuple[City, ...] = (
    City("440100", "广州市", "Guangzhou"), City("440200", "韶关市", "Shaoguan"), City("440300", "深圳市", "Shenzhen"),
    City("440400", "珠海市", "Zhuhai"), City("440500", "汕头市", "Shantou"), City("440600", "佛山市", "Foshan"),
    City("440700", "江门市", "Jiangmen"), City("440800", "湛江市", "Zhanjiang"), City("440900", "茂名市", "Maoming"),
    City("441200", "肇庆市", "Zhaoqing"), City("441300", "惠州市", "Huizhou"), City("441400", "梅州市", "Meizhou"),
    City("441500", "汕尾市", "Shanwei"), City("441600", "河源市", "Heyuan"), City("441700", "阳江市", "Yangjiang"),
    City("441800", "清远市", "Qingyuan"), City("441900", "东莞市", "Dongguan"), City("442000", "中山市", "Zhongshan"),
    City("445100", "潮州市", "Chaozhou"), City("445200", "揭阳市", "Jieyang"), City("445300", "云浮市", "Yunfu"),
)
_BY_CODE = {c.code: c for c in PROVINCE_CITIES}


def city_name(code: str, language: str = "zh_CN") -> str:
    """The city's name in the page's language, or the code itself for a region outside the list."""
    found = _BY_CODE.get(code)
    if found is None:
        return code
    return found.name_en if language == "en" else found.name_zh


def treating_city_choices(own_region: str, language: str = "zh_CN") -> list[tuple[str, str]]:
    """(code, name) for a select of treating cities: every city of the province but this centre's own."""
    return [(c.code, f"{city_name(c.code, language)} ({c.code})") for c in PROVINCE_CITIES if c.code != own_region]
