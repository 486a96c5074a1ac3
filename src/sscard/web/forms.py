"""Turning domain errors into messages next to the form field they concern (by stable error code)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from sscard.errors import DomainError
from sscard.web.i18n import N_, gettext

FIELD_OF_CODE = {
    "ID_FORMAT_INVALID": "id_number",
    "ID_CHECK_DIGIT_INVALID": "id_number",
    "ID_BIRTH_DATE_INVALID": "id_number",
    "ID_REGION_UNKNOWN": "id_number",
    "PERSON_EXISTS": "id_number",
    "PERSON_NOT_FOUND": "id_number",
    "ID_SEX_MISMATCH": "id_number",
    "ID_BIRTH_DATE_MISMATCH": "id_number",
    "NAME_INVALID": "name",
    "REGION_INVALID": "region_code",
    "PHONE_INVALID": "phone",
    "EMPLOYER_CODE_INVALID": "employer_uscc",
    "PIN_FORMAT_INVALID": "pin",
    "PIN_TOO_WEAK": "pin",
    "CANCEL_REASON_INVALID": "reason",
    "PRODUCTION_TRANSITION_INVALID": "to_status",
    "OUTLET_NOT_FOUND": "outlet_code",
}
GENERAL = "_form"


@dataclass
class FormErrors:
    """Messages by field name; ``_form`` holds what belongs to no single field."""

    language: str
    messages: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.messages)

    def add(self, name: str, message: str) -> None:
        self.messages.setdefault(name, message)

    def add_domain(self, error: DomainError, field_override: dict[str, str] | None = None) -> None:
        name = (field_override or {}).get(error.code) or FIELD_OF_CODE.get(error.code, GENERAL)
        self.add(name, error.message_en if self.language == "en" else error.message_zh)

    def add_validation(self, error: ValidationError) -> None:
        for item in error.errors():
            loc = item.get("loc", ())
            name = str(loc[0]) if loc else GENERAL
            self.add(name, gettext(self.language, N_("This value is not accepted.")))

    def required(self, values: dict[str, str], *names: str) -> None:
        for name in names:
            if not values.get(name):
                self.add(name, gettext(self.language, N_("Please fill in this field.")))

    def choice(self, values: dict[str, str], name: str, allowed: tuple[str, ...] | list[str]) -> None:
        if values.get(name) not in allowed:
            self.add(name, gettext(self.language, N_("Please choose one of the options.")))

    def get(self, name: str) -> str | None:
        return self.messages.get(name)
