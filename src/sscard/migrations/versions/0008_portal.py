"""portal

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27

Cardholder portal (query passwords, sessions) and operators' TOTP, with the portal's policy
parameters: lockout after 5 wrong query passwords, 30-minute sessions, kiosks idle out after 90 seconds.
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sscard.db

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARAMETERS = (
    ("portal.max_failed_logins", "5", "持卡人查询密码连续错误 5 次锁定，柜面重置"),
    ("portal.session_minutes", "30", "网上服务登录有效 30 分钟"),
    ("portal.kiosk_idle_seconds", "90", "自助终端无操作 90 秒自动退出"),
)


def upgrade() -> None:
    op.create_table('portal_accounts',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('password_set_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_portal_accounts_person_id_persons')),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_portal_accounts'))
    )
    op.create_table('portal_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('kiosk', sa.Boolean(), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_portal_sessions_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_sessions')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_portal_sessions_token_sha256'))
    )
    with op.batch_alter_table('portal_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_sessions_person_id'), ['person_id'], unique=False)
    op.create_table('operator_totp',
    sa.Column('operator_id', sa.Integer(), nullable=False),
    sa.Column('secret', sa.String(length=64), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('last_step', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_operator_totp_operator_id_operators')),
    sa.PrimaryKeyConstraint('operator_id', name=op.f('pk_operator_totp'))
    )
    params = sa.table(
        "policy_parameters",
        sa.column("name", sa.String), sa.column("value", sa.String), sa.column("effective_from", sa.Date),
        sa.column("note", sa.String), sa.column("created_at", sscard.db.UtcDateTime),
        sa.column("created_by", sa.String),
    )
    op.bulk_insert(params, [{"name": n, "value": v, "effective_from": dt.date(2013, 1, 1), "note": note,
                             "created_at": sscard.db.utcnow(), "created_by": "migration"}
                            for n, v, note in PARAMETERS])


def downgrade() -> None:
    op.execute("DELETE FROM policy_parameters WHERE name LIKE 'portal.%'")
    op.drop_table('operator_totp')
    with op.batch_alter_table('portal_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_sessions_person_id'))
    op.drop_table('portal_sessions')
    op.drop_table('portal_accounts')
