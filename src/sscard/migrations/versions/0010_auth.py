"""auth

Revision ID: 0010_auth
Revises: 0010_presence
Create Date: 2026-12-02

Logins that an attacker cannot turn into a denial of service, and second factors at rest:

- ``login_throttles``: failed logins and temporary locks per account and per client address, for operators
  (``auth:``) and cardholders (``portal:``), with exponential back-off (``auth.throttle``). The old counters
  (``operators.failed_logins``, ``portal_accounts.failed_logins`` / ``locked``, ``operator_totp.failed``)
  go. Operators the old code had locked for good (inactive with failures counted) become active again under
  a one-hour temporary lock; locked portal accounts likewise.
- ``operator_totp.secret`` holds the secret sealed under the KMS KEK (``kms.sealed``, AES-256-GCM bound to
  the operator); clear secrets are sealed here.
- policy parameters (effective 2013-01-01): lock durations and back-off cap, per-address limits, operators'
  minimum password length 12.
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sscard.db

revision: str = '0010_auth'
down_revision: str | None = '0010_presence'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARAMETERS = (
    ("auth.address_max_failed_logins", "20", "同一地址操作员登录失败 20 次临时锁定该地址"),
    ("auth.lock_seconds", "60", "操作员首次临时锁定 60 秒，之后每次加倍"),
    ("auth.lock_max_seconds", "3600", "操作员临时锁定最长 1 小时"),
    ("auth.min_password_length", "12", "操作员密码至少 12 位"),
    ("portal.address_max_failed_logins", "20", "同一地址查询密码错误 20 次临时锁定该地址"),
    ("portal.lock_seconds", "60", "持卡人首次临时锁定 60 秒，之后每次加倍"),
    ("portal.lock_max_seconds", "3600", "持卡人临时锁定最长 1 小时"),
)
PURPOSE = "operator-totp"  # as sscard.auth.totp.PURPOSE
CARRIED_LOCK = dt.timedelta(hours=1)


def _aad(operator_id: int) -> str:
    return f"operator_totp:{operator_id}"


def upgrade() -> None:
    from sscard.kms import sealed

    op.create_table('login_throttles',
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('lock_count', sa.Integer(), nullable=False),
    sa.Column('locked_until', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_failure_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttles'))
    )
    bind = op.get_bind()
    now = sscard.db.utcnow()
    throttles = sa.table("login_throttles", sa.column("key", sa.String), sa.column("failures", sa.Integer),
                         sa.column("lock_count", sa.Integer), sa.column("locked_until", sscard.db.UtcDateTime),
                         sa.column("last_failure_at", sscard.db.UtcDateTime))
    carried = [{"key": f"auth:account:{name}"[:120], "failures": 0, "lock_count": 1,
                "locked_until": now + CARRIED_LOCK, "last_failure_at": now}
               for (name,) in bind.execute(sa.text(
                   "SELECT username FROM operators WHERE active = :no AND failed_logins > 0"), {"no": False})]
    carried += [{"key": f"portal:account:{pid}", "failures": 0, "lock_count": 1,
                 "locked_until": now + CARRIED_LOCK, "last_failure_at": now}
                for (pid,) in bind.execute(sa.text("SELECT person_id FROM portal_accounts WHERE locked = :yes"),
                                           {"yes": True})]
    if carried:
        op.bulk_insert(throttles, carried)
    bind.execute(sa.text("UPDATE operators SET active = :yes WHERE active = :no AND failed_logins > 0"),
                 {"yes": True, "no": False})
    with op.batch_alter_table('operators', schema=None) as batch_op:
        batch_op.drop_column('failed_logins')
    with op.batch_alter_table('portal_accounts', schema=None) as batch_op:
        batch_op.drop_column('failed_logins')
        batch_op.drop_column('locked')
    with op.batch_alter_table('operator_totp', schema=None) as batch_op:
        batch_op.drop_column('failed')
        batch_op.alter_column('secret', existing_type=sa.String(length=64), type_=sa.String(length=200),
                              existing_nullable=False)
    for operator_id, secret in bind.execute(sa.text("SELECT operator_id, secret FROM operator_totp")).all():
        if not sealed.is_sealed(secret):
            bind.execute(sa.text("UPDATE operator_totp SET secret = :s WHERE operator_id = :o"),
                         {"s": sealed.seal(secret.encode("ascii"), PURPOSE, _aad(operator_id)), "o": operator_id})
    params = sa.table(
        "policy_parameters",
        sa.column("name", sa.String), sa.column("value", sa.String), sa.column("effective_from", sa.Date),
        sa.column("note", sa.String), sa.column("created_at", sscard.db.UtcDateTime),
        sa.column("created_by", sa.String),
    )
    op.bulk_insert(params, [{"name": n, "value": v, "effective_from": dt.date(2013, 1, 1), "note": note,
                             "created_at": now, "created_by": "migration"} for n, v, note in PARAMETERS])


def downgrade() -> None:
    from sscard.kms import sealed

    bind = op.get_bind()
    names = ", ".join(f"'{n}'" for n, _, _ in PARAMETERS)
    op.execute(f"DELETE FROM policy_parameters WHERE name IN ({names})")
    for operator_id, secret in bind.execute(sa.text("SELECT operator_id, secret FROM operator_totp")).all():
        if sealed.is_sealed(secret):
            clear = sealed.open_sealed(secret, PURPOSE, _aad(operator_id)).decode("ascii")
            bind.execute(sa.text("UPDATE operator_totp SET secret = :s WHERE operator_id = :o"),
                         {"s": clear, "o": operator_id})
    with op.batch_alter_table('operator_totp', schema=None) as batch_op:
        batch_op.alter_column('secret', existing_type=sa.String(length=200), type_=sa.String(length=64),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('failed', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('portal_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('operators', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
    op.drop_table('login_throttles')
