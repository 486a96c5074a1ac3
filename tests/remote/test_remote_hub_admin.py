"""Who may use the hub's administration routes (docs/cross-region.md "The hub"): the configured admin token,
compared in constant time; with none configured the public demo token outside production only; in production
with none configured, nobody (the routes themselves are exercised over HTTP in test_remote_clearing.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sscard.remote.config import DEMO_ADMIN_TOKEN
from sscard.remote.hub import admin_allowed


def test_the_configured_token_and_only_it_opens_the_admin_routes() -> None:
    for mode in ("dev", "demo", "production"):
        assert admin_allowed("s3cret-token", mode, "Bearer s3cret-token")
        assert admin_allowed("s3cret-token", mode, "bearer s3cret-token")
        for header in (None, "", "Bearer", "Bearer ", "Basic s3cret-token", "Bearer s3cret-tokeN",
                       "Bearer s3cret", f"Bearer {DEMO_ADMIN_TOKEN}"):
            assert not admin_allowed("s3cret-token", mode, header), (mode, header)


def test_without_a_configured_token_the_demo_token_works_outside_production_only() -> None:
    assert admin_allowed("", "dev", f"Bearer {DEMO_ADMIN_TOKEN}")
    assert admin_allowed("", "demo", f"Bearer {DEMO_ADMIN_TOKEN}")
    assert not admin_allowed("", "production", f"Bearer {DEMO_ADMIN_TOKEN}")
    assert not admin_allowed("", "production", "Bearer ")
    assert not admin_allowed("", "dev", "Bearer something-else")


@given(st.text(max_size=80))
def test_no_header_opens_them_in_production_without_a_token(header: str) -> None:
    assert not admin_allowed("", "production", header)
