"""ecard

Revision ID: 0011_ecard
Revises: 0011_health
Create Date: 2026-12-02

The electronic social security card: e-cards (one per physical card, opaque token, status mirrored from the
card), the codes spent once (settlement), family members with their consent; and its policy parameters: codes
valid 60 seconds, 5 seconds of clock skew allowed, at most 3 family members per holder.
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sscard.db

revision: str = '0011_ecard'
down_revision: str | None = '0011_health'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARAMETERS = (
    ("ecard.code_validity_seconds", "60", "电子社保卡二维码有效 60 秒"),
    ("ecard.clock_skew_seconds", "5", "验码允许的时钟偏差 5 秒"),
    ("ecard.family_max", "3", "每人最多添加 3 名亲情账户"),
)


def upgrade() -> None:
    op.create_table('ecards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('activated_via', sa.String(length=10), nullable=False),
    sa.Column('activated_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('status_changed_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('active', 'suspended', 'ended')", name=op.f('ck_ecards_status')),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_ecards_card_id_cards')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_ecards_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ecards')),
    sa.UniqueConstraint('card_id', name=op.f('uq_ecards_card_id')),
    sa.UniqueConstraint('token', name=op.f('uq_ecards_token'))
    )
    with op.batch_alter_table('ecards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ecards_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ux_ecards_person_live', ['person_id'], unique=True,
                              sqlite_where=sa.text("status <> 'ended'"), postgresql_where=sa.text("status <> 'ended'"))
    op.create_table('ecard_code_uses',
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('nonce', sa.String(length=16), nullable=False),
    sa.Column('issued_at', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('used_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('token', 'nonce', name=op.f('pk_ecard_code_uses'))
    )
    op.create_table('ecard_family_members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('holder_person_id', sa.Integer(), nullable=False),
    sa.Column('member_ecard_id', sa.Integer(), nullable=False),
    sa.Column('relation', sa.String(length=20), nullable=False),
    sa.Column('consent', sa.String(length=40), nullable=False),
    sa.Column('consented_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['holder_person_id'], ['persons.id'], name=op.f('fk_ecard_family_members_holder_person_id_persons')),
    sa.ForeignKeyConstraint(['member_ecard_id'], ['ecards.id'], name=op.f('fk_ecard_family_members_member_ecard_id_ecards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ecard_family_members')),
    sa.UniqueConstraint('holder_person_id', 'member_ecard_id', name=op.f('uq_ecard_family_members_holder_person_id'))
    )
    with op.batch_alter_table('ecard_family_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ecard_family_members_holder_person_id'), ['holder_person_id'], unique=False)
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
    # policy_parameters is append-only (0010_history): its DELETE trigger is lifted for this one statement.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER policy_parameters_no_change ON policy_parameters")
        op.execute("DELETE FROM policy_parameters WHERE name LIKE 'ecard.%'")
        op.execute("CREATE TRIGGER policy_parameters_no_change BEFORE UPDATE OR DELETE ON policy_parameters "
                   "FOR EACH ROW EXECUTE FUNCTION dated_history_append_only()")
    else:
        op.execute("DROP TRIGGER policy_parameters_no_delete")
        op.execute("DELETE FROM policy_parameters WHERE name LIKE 'ecard.%'")
        op.execute("CREATE TRIGGER policy_parameters_no_delete BEFORE DELETE ON policy_parameters "
                   "BEGIN SELECT RAISE(ABORT, 'policy_parameters is append-only'); END")
    with op.batch_alter_table('ecard_family_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ecard_family_members_holder_person_id'))
    op.drop_table('ecard_family_members')
    op.drop_table('ecard_code_uses')
    with op.batch_alter_table('ecards', schema=None) as batch_op:
        batch_op.drop_index('ux_ecards_person_live', sqlite_where=sa.text("status <> 'ended'"),
                            postgresql_where=sa.text("status <> 'ended'"))
        batch_op.drop_index(batch_op.f('ix_ecards_person_id'))
    op.drop_table('ecards')
