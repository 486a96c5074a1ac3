"""ledger

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

The ledger (settlement issue, part 1): accounts with four running totals and limit flags, and the transfer
journal. The limits are CHECK constraints as well as service rules, and the journal refuses UPDATE and DELETE
by trigger: a transfer is never changed, a pending one is resolved by a new transfer that points at it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sscard.db

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ledger_accounts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('debits_must_not_exceed_credits', sa.Boolean(), nullable=False),
    sa.Column('credits_must_not_exceed_debits', sa.Boolean(), nullable=False),
    sa.Column('debits_posted', sa.BigInteger(), nullable=False),
    sa.Column('credits_posted', sa.BigInteger(), nullable=False),
    sa.Column('debits_pending', sa.BigInteger(), nullable=False),
    sa.Column('credits_pending', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('NOT (debits_must_not_exceed_credits AND credits_must_not_exceed_debits)', name=op.f('ck_ledger_accounts_one_limit_flag')),
    sa.CheckConstraint('NOT credits_must_not_exceed_debits OR credits_posted + credits_pending <= debits_posted', name=op.f('ck_ledger_accounts_credits_within_debits')),
    sa.CheckConstraint('NOT debits_must_not_exceed_credits OR debits_posted + debits_pending <= credits_posted', name=op.f('ck_ledger_accounts_debits_within_credits')),
    sa.CheckConstraint('debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 AND credits_pending >= 0', name=op.f('ck_ledger_accounts_totals_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_accounts')),
    sa.UniqueConstraint('code', name=op.f('uq_ledger_accounts_code'))
    )
    op.create_table('ledger_transfers',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('debit_account_id', sa.BigInteger(), nullable=False),
    sa.Column('credit_account_id', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('pending_id', sa.String(length=64), nullable=True),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=True),
    sa.Column('timestamp', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(state IN ('post_pending', 'void_pending') AND pending_id IS NOT NULL) OR (state IN ('posted', 'pending') AND pending_id IS NULL)", name=op.f('ck_ledger_transfers_pending_id_iff_resolving')),
    sa.CheckConstraint("state IN ('posted', 'pending', 'post_pending', 'void_pending')", name=op.f('ck_ledger_transfers_state_known')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_ledger_transfers_amount_positive')),
    sa.CheckConstraint('debit_account_id <> credit_account_id', name=op.f('ck_ledger_transfers_two_accounts')),
    sa.ForeignKeyConstraint(['credit_account_id'], ['ledger_accounts.id'], name=op.f('fk_ledger_transfers_credit_account_id_ledger_accounts')),
    sa.ForeignKeyConstraint(['debit_account_id'], ['ledger_accounts.id'], name=op.f('fk_ledger_transfers_debit_account_id_ledger_accounts')),
    sa.ForeignKeyConstraint(['pending_id'], ['ledger_transfers.id'], name=op.f('fk_ledger_transfers_pending_id_ledger_transfers')),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_ledger_transfers')),
    sa.UniqueConstraint('id', name=op.f('uq_ledger_transfers_id')),
    sa.UniqueConstraint('pending_id', name=op.f('uq_ledger_transfers_pending_id'))
    )
    with op.batch_alter_table('ledger_transfers', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_transfers_credit_seq', ['credit_account_id', 'seq'], unique=False)
        batch_op.create_index('ix_ledger_transfers_debit_seq', ['debit_account_id', 'seq'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_transfers_reference'), ['reference'], unique=False)

    _append_only_journal(op.get_bind().dialect.name)


def _append_only_journal(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION ledger_transfers_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'ledger_transfers is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER ledger_transfers_no_change BEFORE UPDATE OR DELETE ON ledger_transfers "
            "FOR EACH ROW EXECUTE FUNCTION ledger_transfers_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER ledger_transfers_no_{event.lower()} BEFORE {event} ON ledger_transfers "
                "BEGIN SELECT RAISE(ABORT, 'ledger_transfers is append-only'); END"
            )


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_transfers_no_change ON ledger_transfers")
        op.execute("DROP FUNCTION IF EXISTS ledger_transfers_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS ledger_transfers_no_update")
        op.execute("DROP TRIGGER IF EXISTS ledger_transfers_no_delete")
    with op.batch_alter_table('ledger_transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_transfers_reference'))
        batch_op.drop_index('ix_ledger_transfers_debit_seq')
        batch_op.drop_index('ix_ledger_transfers_credit_seq')

    op.drop_table('ledger_transfers')
    op.drop_table('ledger_accounts')
