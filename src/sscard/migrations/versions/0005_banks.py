"""banks

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

Bank gateway: the bureau's registered payment accounts, and the simulated bank's own tables
(``simbank_accounts``, ``simbank_batches``, ``simbank_calls``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sscard.db

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('payment_accounts',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=5), nullable=False),
    sa.Column('bank_code', sa.String(length=10), nullable=True),
    sa.Column('account_no', sa.String(length=32), nullable=True),
    sa.Column('holder_name', sa.String(length=50), nullable=True),
    sa.Column('registered_by', sa.String(length=50), nullable=False),
    sa.Column('updated_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("method IN ('card', 'other')", name=op.f('ck_payment_accounts_method_known')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_payment_accounts_person_id_persons')),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_payment_accounts'))
    )
    op.create_table('simbank_accounts',
    sa.Column('bank_code', sa.String(length=10), nullable=False),
    sa.Column('account_no', sa.String(length=32), nullable=False),
    sa.Column('holder_name', sa.String(length=50), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('state', sa.String(length=6), nullable=False),
    sa.Column('financial_activated', sa.Boolean(), nullable=False),
    sa.Column('balance', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("state IN ('normal', 'frozen', 'closed', 'lost')",
                       name=op.f('ck_simbank_accounts_state_known')),
    sa.PrimaryKeyConstraint('bank_code', 'account_no', name=op.f('pk_simbank_accounts'))
    )
    if op.get_bind().dialect.name == "postgresql":
        # Every monthly file rewrites a million balances: free room on each page lets PostgreSQL update them in
        # place (HOT, no index entry per update).
        op.execute("ALTER TABLE simbank_accounts SET (fillfactor = 70)")
    op.create_table('simbank_batches',
    sa.Column('handle', sa.String(length=80), nullable=False),
    sa.Column('bank_code', sa.String(length=10), nullable=False),
    sa.Column('batch_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=6), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('ok_count', sa.Integer(), nullable=False),
    sa.Column('ok_amount', sa.BigInteger(), nullable=False),
    sa.Column('return_file', sa.LargeBinary(), nullable=False),
    sa.Column('received_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('handle', name=op.f('pk_simbank_batches'))
    )
    op.create_table('simbank_calls',
    sa.Column('bank_code', sa.String(length=10), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=6), nullable=False),
    sa.Column('account_no', sa.String(length=32), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=True),
    sa.Column('at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('bank_code', 'ref', name=op.f('pk_simbank_calls'))
    )


def downgrade() -> None:
    op.drop_table('simbank_calls')
    op.drop_table('simbank_batches')
    op.drop_table('simbank_accounts')
    op.drop_table('payment_accounts')
