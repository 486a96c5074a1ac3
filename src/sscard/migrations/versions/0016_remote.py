"""remote

Revision ID: 0016_remote
Revises: 0013_debit
Create Date: 2026-12-04

Cross-region medical settlement through the provincial hub (docs/cross-region.md), the centre's side:
异地就医备案 (``remote_registrations``), every message sent or received (``remote_messages``, the idempotency
record), the remote settlements as treating or home city (``remote_settlements``) and the monthly clearing
positions booked (``remote_clearings``); and the dated policy of which remote-care rule each 备案 kind follows
(``remote.care.*``: 1 long_term, 2 referred, 3 unreferred; unregistered 3 — a lower ratio — from 2013-01-01).
The hub's own tables are not here: the hub keeps its own database (``sscard.remote.hub``).
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sscard.db

revision: str = '0016_remote'
down_revision: str | None = '0015_feeds'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARAMETERS = (
    ("remote.care.retired_relocated", "1", "异地安置退休：按异地长期居住待遇（示例）"),
    ("remote.care.long_term_resident", "1", "异地长期居住：按异地长期居住待遇（示例）"),
    ("remote.care.resident_work", "1", "常驻异地工作：按异地长期居住待遇（示例）"),
    ("remote.care.referral", "2", "异地转诊：按转诊待遇（示例）"),
    ("remote.care.temporary", "2", "临时外出就医（已备案）：按转诊待遇（示例）"),
    ("remote.care.unregistered", "3", "未备案：按未转诊降低比例结算（示例；0 为不予直接结算）"),
)


def upgrade() -> None:
    op.create_table('remote_clearings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('peer', sa.String(length=6), nullable=False),
    sa.Column('receivable_fen', sa.BigInteger(), nullable=False),
    sa.Column('payable_fen', sa.BigInteger(), nullable=False),
    sa.Column('net_fen', sa.BigInteger(), nullable=False),
    sa.Column('bank_ref', sa.String(length=40), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('net_fen = receivable_fen - payable_fen', name=op.f('ck_remote_clearings_net_adds_up')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remote_clearings')),
    sa.UniqueConstraint('month', 'peer', name='uq_remote_clearings_month_peer')
    )
    op.create_table('remote_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('peer', sa.String(length=6), nullable=False),
    sa.Column('msg_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('request', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('local_answer', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("direction IN ('out', 'in')", name=op.f('ck_remote_messages_direction_known')),
    sa.CheckConstraint("status IN ('pending', 'answered', 'refused', 'cancelled')", name=op.f('ck_remote_messages_status_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remote_messages')),
    sa.UniqueConstraint('direction', 'peer', 'msg_id', name='uq_remote_messages_direction_peer_msg')
    )
    with op.batch_alter_table('remote_messages', schema=None) as batch_op:
        batch_op.create_index('ix_remote_messages_status', ['status', 'direction'], unique=False)

    op.create_table('remote_registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reg_no', sa.String(length=32), nullable=False),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('card_no', sa.String(length=12), nullable=True),
    sa.Column('name_masked', sa.String(length=60), nullable=False),
    sa.Column('home_region', sa.String(length=6), nullable=False),
    sa.Column('treating_region', sa.String(length=6), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('documents', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('distributed', sa.Boolean(), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=50), nullable=False),
    sa.CheckConstraint("kind IN ('retired_relocated', 'long_term_resident', 'resident_work', 'referral', 'temporary')", name=op.f('ck_remote_registrations_kind_known')),
    sa.CheckConstraint("role IN ('home', 'treating')", name=op.f('ck_remote_registrations_role_known')),
    sa.CheckConstraint("status IN ('active', 'cancelled')", name=op.f('ck_remote_registrations_status_known')),
    sa.CheckConstraint('ends_on IS NULL OR ends_on >= starts_on', name=op.f('ck_remote_registrations_period_ordered')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_remote_registrations_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remote_registrations')),
    sa.UniqueConstraint('reg_no', name='uq_remote_registrations_reg_no')
    )
    with op.batch_alter_table('remote_registrations', schema=None) as batch_op:
        batch_op.create_index('ix_remote_registrations_card', ['card_no'], unique=False)
        batch_op.create_index('ix_remote_registrations_person', ['person_id', 'treating_region'], unique=False)

    op.create_table('remote_settlements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('setl_id', sa.String(length=32), nullable=False),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.Column('peer', sa.String(length=6), nullable=False),
    sa.Column('msg_id', sa.String(length=64), nullable=False),
    sa.Column('institution_code', sa.String(length=20), nullable=False),
    sa.Column('hospital_msg_id', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('card_no', sa.String(length=12), nullable=True),
    sa.Column('registration', sa.String(length=32), nullable=True),
    sa.Column('remote_care', sa.String(length=12), nullable=False),
    sa.Column('bill_no', sa.String(length=64), nullable=False),
    sa.Column('bill_date', sa.Date(), nullable=False),
    sa.Column('settled_on', sa.Date(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('fund_paid_fen', sa.BigInteger(), nullable=False),
    sa.Column('account_paid_fen', sa.BigInteger(), nullable=False),
    sa.Column('cash_fen', sa.BigInteger(), nullable=False),
    sa.Column('split', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reversal_msg_id', sa.String(length=64), nullable=True),
    sa.Column('reversed_on', sa.Date(), nullable=True),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('treating', 'home')", name=op.f('ck_remote_settlements_role_known')),
    sa.CheckConstraint("status IN ('settled', 'reversed')", name=op.f('ck_remote_settlements_status_known')),
    sa.CheckConstraint('total_fen = fund_paid_fen + account_paid_fen + cash_fen', name=op.f('ck_remote_settlements_parts_add_up')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_remote_settlements_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remote_settlements')),
    sa.UniqueConstraint('role', 'peer', 'msg_id', name='uq_remote_settlements_role_peer_msg'),
    sa.UniqueConstraint('setl_id', name='uq_remote_settlements_setl_id')
    )
    with op.batch_alter_table('remote_settlements', schema=None) as batch_op:
        batch_op.create_index('ix_remote_settlements_month', ['month', 'peer', 'role'], unique=False)

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
        op.execute("DELETE FROM policy_parameters WHERE name LIKE 'remote.%'")
        op.execute("CREATE TRIGGER policy_parameters_no_change BEFORE UPDATE OR DELETE ON policy_parameters "
                   "FOR EACH ROW EXECUTE FUNCTION dated_history_append_only()")
    else:
        op.execute("DROP TRIGGER policy_parameters_no_delete")
        op.execute("DELETE FROM policy_parameters WHERE name LIKE 'remote.%'")
        op.execute("CREATE TRIGGER policy_parameters_no_delete BEFORE DELETE ON policy_parameters "
                   "BEGIN SELECT RAISE(ABORT, 'policy_parameters is append-only'); END")
    with op.batch_alter_table('remote_settlements', schema=None) as batch_op:
        batch_op.drop_index('ix_remote_settlements_month')

    op.drop_table('remote_settlements')
    with op.batch_alter_table('remote_registrations', schema=None) as batch_op:
        batch_op.drop_index('ix_remote_registrations_person')
        batch_op.drop_index('ix_remote_registrations_card')

    op.drop_table('remote_registrations')
    with op.batch_alter_table('remote_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_remote_messages_status')

    op.drop_table('remote_messages')
    op.drop_table('remote_clearings')
