"""Languages of the pages: Babel catalogues (zh_CN default, English), one Jinja2 environment per language.

Message ids are English; ``locale/zh_CN/LC_MESSAGES/messages.po`` translates them. English needs no catalogue.
The choice lives in the ``sscard_lang`` cookie, set by ``GET /lang/{code}``.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any

import cn2an
from babel.support import NullTranslations, Translations
from fastapi import Request
from jinja2 import Environment, FileSystemLoader, select_autoescape

from sscard import clock
from sscard.money import yuan

HERE = Path(__file__).parent
LOCALE_DIR = HERE / "locale"
TEMPLATE_DIR = HERE / "templates"
LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"
LANG_COOKIE = "sscard_lang"
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}


def N_(message: str) -> str:
    """Mark a string for extraction; it is translated later, where it is shown."""
    return message


def language_of(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE, "")
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> NullTranslations:
    if language == "en":
        return NullTranslations()
    loaded = Translations.load(str(LOCALE_DIR), [language], domain="messages")
    if not isinstance(loaded, Translations):  # a missing .mo would silently show English: fail loudly instead
        raise RuntimeError(f"no compiled catalogue for {language} under {LOCALE_DIR}")
    return loaded


@lru_cache(maxsize=len(LANGUAGES))
def environment(language: str) -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATE_DIR)), autoescape=select_autoescape(["html"]),
                      extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["yuan"] = yuan
    env.filters["local_time"] = local_time
    env.filters["yuan_in_words"] = yuan_in_words
    env.globals["html_lang"] = HTML_LANG[language]
    env.globals["language"] = language
    return env


def gettext(language: str, message: str, **params: Any) -> str:
    text = translations(language).gettext(message)
    return text % params if params else text


def local_time(at: dt.datetime | None, seconds: bool = False) -> str:
    """An instant as the bureau's local time (Asia/Shanghai); stored instants are UTC (naive ones too)."""
    if at is None:
        return "—"
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return at.astimezone(clock.local_zone()).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def yuan_in_words(fen: int) -> str:
    """The amount in capital Chinese numerals (大写金额) as receipts print it, e.g. 贰拾元整 (cn2an's RMB mode)."""
    if fen == 0:
        return "零元整"
    sign = "负" if fen < 0 else ""
    words: str = cn2an.an2cn(f"{abs(fen) // 100}.{abs(fen) % 100:02d}", "rmb")
    return sign + words
