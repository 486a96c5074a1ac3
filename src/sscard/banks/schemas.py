"""What the banks package hands out: where a person is paid or withheld (``PaymentAccount``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PaymentAccount:
    """The bank account the agency pays benefits into and withholds contributions from."""

    person_id: int
    bank_code: str
    account_no: str
    holder_name: str
    source: str  # card: the valid card's bank account | registered: an account registered at the agency
