"""Migration 0010_auth on both databases: clear TOTP secrets get sealed (and come back clear on the way down),
operators the old code had locked for good become active under a temporary lock, the new policy is seeded."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from sscard import migrate
from sscard.auth import totp
from sscard.kms import sealed
from support.city import Backend, raw_engine

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def test_migration_0010_seals_totp_secrets_and_turns_permanent_locks_into_temporary_ones(backend: Backend) -> None:
    url = backend.new_url()
    migrate.upgrade(url, "0009")
    engine = raw_engine(url)
    now = dt.datetime.now(dt.UTC)
    try:
        with engine.begin() as conn:
            for username, active, failed in (("was-locked", False, 5), ("was-disabled", False, 0)):
                conn.execute(sa.text(
                    "INSERT INTO operators (username, display_name, role, password_hash, active, failed_logins, "
                    "created_at) VALUES (:u, :u, 'counter', 'x', :a, :f, :t)"),
                    {"u": username, "a": active, "f": failed, "t": now})
            op_id = conn.execute(sa.text("SELECT id FROM operators WHERE username = 'was-locked'")).scalar_one()
            conn.execute(sa.text("INSERT INTO operator_totp (operator_id, secret, enabled, last_step, failed, "
                                 "created_at) VALUES (:o, :s, :e, 0, 0, :t)"),
                         {"o": op_id, "s": SECRET, "e": True, "t": now})
        migrate.upgrade(url)
        with engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT secret FROM operator_totp")).scalar_one()
            active = dict(conn.execute(sa.text("SELECT username, active FROM operators")).all())
            lock = conn.execute(sa.text("SELECT locked_until FROM login_throttles WHERE key = "
                                        "'auth:account:was-locked'")).scalar_one()
            seeded = conn.execute(sa.text("SELECT value FROM policy_parameters WHERE name = "
                                          "'auth.min_password_length'")).scalar_one()
        assert SECRET not in stored
        assert sealed.open_sealed(stored, totp.PURPOSE, f"operator_totp:{op_id}").decode() == SECRET
        assert bool(active["was-locked"]) is True and bool(active["was-disabled"]) is False
        assert lock is not None and seeded == "12"
        migrate.downgrade(url, "0009")
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT secret FROM operator_totp")).scalar_one() == SECRET
            assert "login_throttles" not in sa.inspect(conn).get_table_names()
        migrate.upgrade(url)
    finally:
        engine.dispose()
