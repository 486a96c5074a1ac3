"""Fixtures for bank tests: a bank code of each test's own (the shared city database holds many banks)."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def bank_code() -> str:
    return "T" + uuid.uuid4().hex[:8].upper()
