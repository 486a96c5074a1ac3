"""transition

Revision ID: 0012_transition
Revises: 0011_ecard
Create Date: 2026-12-02

The move from the old medical cards: each legacy card file imported (transition_imports) and every old card
with its balance, matched person or exception (transition_cards); and the transition window's policy
parameters (hospitals may identify a patient by the old card number from 2026-01-01 to 2027-06-30, examples
that the city sets for itself).
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sscard.db

revision: str = '0012_transition'
down_revision: str | None = '0011_ecard'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARAMETERS = (
    ("transition.legacy_window_from", "20260101", "旧医保卡过渡期自 2026-01-01 起"),
    ("transition.legacy_window_until", "20270630", "旧医保卡过渡期至 2027-06-30 止（含）"),
)


def upgrade() -> None:
    op.create_table('transition_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=18), nullable=False),
    sa.Column('file_id', sa.String(length=40), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('encoding', sa.String(length=8), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('carried_count', sa.Integer(), nullable=False),
    sa.Column('carried_fen', sa.BigInteger(), nullable=False),
    sa.Column('exception_count', sa.Integer(), nullable=False),
    sa.Column('exception_fen', sa.BigInteger(), nullable=False),
    sa.Column('imported_by', sa.String(length=64), nullable=False),
    sa.Column('imported_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('carried_count + exception_count = line_count AND carried_fen + exception_fen = total_fen',
                       name=op.f('ck_transition_imports_totals_split')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transition_imports')),
    sa.UniqueConstraint('checksum', name=op.f('uq_transition_imports_checksum')),
    sa.UniqueConstraint('file_id', name=op.f('uq_transition_imports_file_id'))
    )
    op.create_table('transition_cards',
    sa.Column('legacy_card_no', sa.String(length=20), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('balance_fen', sa.BigInteger(), nullable=False),
    sa.Column('legacy_status', sa.String(length=1), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=True),
    sa.CheckConstraint("state IN ('carried', 'exception')", name=op.f('ck_transition_cards_state')),
    sa.CheckConstraint("state = 'exception' OR person_id IS NOT NULL",
                       name=op.f('ck_transition_cards_carried_has_person')),
    sa.CheckConstraint('balance_fen >= 0', name=op.f('ck_transition_cards_balance_not_negative')),
    sa.ForeignKeyConstraint(['import_id'], ['transition_imports.id'],
                            name=op.f('fk_transition_cards_import_id_transition_imports')),
    sa.PrimaryKeyConstraint('legacy_card_no', name=op.f('pk_transition_cards'))
    )
    with op.batch_alter_table('transition_cards', schema=None) as batch_op:
        batch_op.create_index('ix_transition_cards_import_state', ['import_id', 'state'], unique=False)
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
        op.execute("DELETE FROM policy_parameters WHERE name LIKE 'transition.%'")
        op.execute("CREATE TRIGGER policy_parameters_no_change BEFORE UPDATE OR DELETE ON policy_parameters "
                   "FOR EACH ROW EXECUTE FUNCTION dated_history_append_only()")
    else:
        op.execute("DROP TRIGGER policy_parameters_no_delete")
        op.execute("DELETE FROM policy_parameters WHERE name LIKE 'transition.%'")
        op.execute("CREATE TRIGGER policy_parameters_no_delete BEFORE DELETE ON policy_parameters "
                   "BEGIN SELECT RAISE(ABORT, 'policy_parameters is append-only'); END")
    with op.batch_alter_table('transition_cards', schema=None) as batch_op:
        batch_op.drop_index('ix_transition_cards_import_state')
    op.drop_table('transition_cards')
    op.drop_table('transition_imports')
