"""The later unemployment benefit amount the employment tests' template city holds (tests/employment/conftest.py);
a module of its own, because ``conftest`` is a name every test folder has."""

from __future__ import annotations

import datetime as dt

LATER_MONTHLY_FEN = 200_000  # employment.ui.monthly_fen from 2026-07-01 (the migration seeds 180 000 from 2013)
LATER_FROM = dt.date(2026, 7, 1)
