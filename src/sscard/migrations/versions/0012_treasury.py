"""treasury

Revision ID: 0012_treasury
Revises: 0011_ecard
Create Date: 2026-12-02

The funds' bank accounts and their reconciliation (docs/treasury.md): fund accounts at the banks and term
deposits, maker-checker instructions, imported statements and their lines, daily balance checks; and its policy
parameters: statement lines match a ledger transfer up to 3 days apart, deposit interest on 360 days a year.
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sscard.db

revision: str = '0012_treasury'
down_revision: str | None = '0012_employment'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARAMETERS = (
    ("treasury.match_window_days", "3", "对账自动匹配：账务日期与银行记账日期相差不超过 3 天"),
    ("treasury.interest_day_basis", "360", "定期存款按一年 360 天计息（人民币存款计息惯例）"),
)


def upgrade() -> None:
    op.create_table('treasury_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('fund', sa.String(length=20), nullable=False),
    sa.Column('bank_code', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('account_no', sa.String(length=34), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('ledger_code', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('collection', 'payment', 'special', 'deposit')", name=op.f('ck_treasury_accounts_kind')),
    sa.CheckConstraint("status IN ('proposed', 'open', 'closed', 'rejected')", name=op.f('ck_treasury_accounts_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_treasury_accounts')),
    sa.UniqueConstraint('bank_code', 'account_no', name=op.f('uq_treasury_accounts_bank_code')),
    sa.UniqueConstraint('code', name=op.f('uq_treasury_accounts_code')),
    sa.UniqueConstraint('ledger_code', name=op.f('uq_treasury_accounts_ledger_code'))
    )
    op.create_table('treasury_deposits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('source_account_id', sa.Integer(), nullable=False),
    sa.Column('tender_ref', sa.String(length=40), nullable=False),
    sa.Column('principal', sa.BigInteger(), nullable=False),
    sa.Column('rate_bp', sa.Integer(), nullable=False),
    sa.Column('term_months', sa.Integer(), nullable=False),
    sa.Column('placed_on', sa.Date(), nullable=False),
    sa.Column('maturity_on', sa.Date(), nullable=False),
    sa.CheckConstraint('maturity_on > placed_on', name=op.f('ck_treasury_deposits_matures_after_placement')),
    sa.CheckConstraint('principal > 0', name=op.f('ck_treasury_deposits_principal_positive')),
    sa.CheckConstraint('rate_bp >= 0 AND rate_bp <= 10000', name=op.f('ck_treasury_deposits_rate_bounds')),
    sa.CheckConstraint('term_months > 0', name=op.f('ck_treasury_deposits_term_positive')),
    sa.ForeignKeyConstraint(['account_id'], ['treasury_accounts.id'], name=op.f('fk_treasury_deposits_account_id_treasury_accounts')),
    sa.ForeignKeyConstraint(['source_account_id'], ['treasury_accounts.id'], name=op.f('fk_treasury_deposits_source_account_id_treasury_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_treasury_deposits')),
    sa.UniqueConstraint('account_id', name=op.f('uq_treasury_deposits_account_id'))
    )
    op.create_table('treasury_instructions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=False),
    sa.Column('request_key', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('from_account_id', sa.Integer(), nullable=False),
    sa.Column('to_account_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('interest', sa.BigInteger(), nullable=False),
    sa.Column('plan_no', sa.String(length=40), nullable=True),
    sa.Column('memo', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=False),
    sa.Column('proposed_by', sa.String(length=64), nullable=False),
    sa.Column('proposed_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('decided_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('reject_reason', sa.String(length=200), nullable=True),
    sa.CheckConstraint("kind IN ('sweep', 'plan', 'placement', 'maturity')", name=op.f('ck_treasury_instructions_kind')),
    sa.CheckConstraint("status IN ('proposed', 'approved', 'rejected')", name=op.f('ck_treasury_instructions_status')),
    sa.CheckConstraint('amount > 0 AND interest >= 0', name=op.f('ck_treasury_instructions_amounts')),
    sa.CheckConstraint('decided_by_id IS NULL OR decided_by_id <> proposed_by_id', name=op.f('ck_treasury_instructions_maker_checker')),
    sa.CheckConstraint('from_account_id <> to_account_id', name=op.f('ck_treasury_instructions_two_accounts')),
    sa.ForeignKeyConstraint(['from_account_id'], ['treasury_accounts.id'], name=op.f('fk_treasury_instructions_from_account_id_treasury_accounts')),
    sa.ForeignKeyConstraint(['to_account_id'], ['treasury_accounts.id'], name=op.f('fk_treasury_instructions_to_account_id_treasury_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_treasury_instructions')),
    sa.UniqueConstraint('reference', name=op.f('uq_treasury_instructions_reference')),
    sa.UniqueConstraint('request_key', name=op.f('uq_treasury_instructions_request_key'))
    )
    with op.batch_alter_table('treasury_instructions', schema=None) as batch_op:
        batch_op.create_index('ix_treasury_instructions_status', ['status', 'id'], unique=False)

    op.create_table('treasury_statements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('statement_id', sa.String(length=35), nullable=False),
    sa.Column('message_id', sa.String(length=35), nullable=False),
    sa.Column('from_date', sa.Date(), nullable=False),
    sa.Column('to_date', sa.Date(), nullable=False),
    sa.Column('opening_balance', sa.BigInteger(), nullable=False),
    sa.Column('closing_balance', sa.BigInteger(), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('matched_count', sa.Integer(), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.Column('key_ref', sa.String(length=40), nullable=False),
    sa.Column('imported_by', sa.String(length=64), nullable=False),
    sa.Column('imported_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("format IN ('camt053', 'csv')", name=op.f('ck_treasury_statements_format')),
    sa.CheckConstraint('to_date >= from_date', name=op.f('ck_treasury_statements_period')),
    sa.ForeignKeyConstraint(['account_id'], ['treasury_accounts.id'], name=op.f('fk_treasury_statements_account_id_treasury_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_treasury_statements')),
    sa.UniqueConstraint('account_id', 'statement_id', name=op.f('uq_treasury_statements_account_id')),
    sa.UniqueConstraint('checksum', name=op.f('uq_treasury_statements_checksum'))
    )
    with op.batch_alter_table('treasury_statements', schema=None) as batch_op:
        batch_op.create_index('ix_treasury_statements_account_period', ['account_id', 'from_date'], unique=False)

    op.create_table('treasury_balance_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('statement_balance', sa.BigInteger(), nullable=False),
    sa.Column('ledger_balance', sa.BigInteger(), nullable=False),
    sa.Column('difference', sa.BigInteger(), nullable=False),
    sa.Column('open_items', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('checked_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('ok', 'explained', 'unexplained')", name=op.f('ck_treasury_balance_checks_status')),
    sa.ForeignKeyConstraint(['account_id'], ['treasury_accounts.id'], name=op.f('fk_treasury_balance_checks_account_id_treasury_accounts')),
    sa.ForeignKeyConstraint(['statement_id'], ['treasury_statements.id'], name=op.f('fk_treasury_balance_checks_statement_id_treasury_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_treasury_balance_checks')),
    sa.UniqueConstraint('account_id', 'day', name=op.f('uq_treasury_balance_checks_account_id'))
    )
    op.create_table('treasury_statement_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('statement_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('booking_date', sa.Date(), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=False),
    sa.Column('direction', sa.String(length=1), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('bank_ref', sa.String(length=35), nullable=False),
    sa.Column('description', sa.String(length=140), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('transfer_id', sa.String(length=64), nullable=True),
    sa.Column('resolution', sa.String(length=10), nullable=True),
    sa.Column('suggestions', sa.String(length=200), nullable=False),
    sa.Column('resolved_by', sa.String(length=64), nullable=True),
    sa.Column('resolved_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.CheckConstraint("direction IN ('C', 'D')", name=op.f('ck_treasury_statement_lines_direction')),
    sa.CheckConstraint("resolution IS NULL OR resolution IN ('auto', 'match', 'charge', 'interest', 'explained')", name=op.f('ck_treasury_statement_lines_resolution')),
    sa.CheckConstraint("status IN ('matched', 'queued', 'resolved')", name=op.f('ck_treasury_statement_lines_status')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_treasury_statement_lines_amount_positive')),
    sa.ForeignKeyConstraint(['account_id'], ['treasury_accounts.id'], name=op.f('fk_treasury_statement_lines_account_id_treasury_accounts')),
    sa.ForeignKeyConstraint(['statement_id'], ['treasury_statements.id'], name=op.f('fk_treasury_statement_lines_statement_id_treasury_statements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_treasury_statement_lines')),
    sa.UniqueConstraint('statement_id', 'line_no', name=op.f('uq_treasury_statement_lines_statement_id'))
    )
    with op.batch_alter_table('treasury_statement_lines', schema=None) as batch_op:
        batch_op.create_index('ix_treasury_statement_lines_queue', ['account_id', 'status'], unique=False)
        batch_op.create_index('ux_treasury_statement_lines_transfer', ['account_id', 'transfer_id'], unique=True, sqlite_where=sa.text('transfer_id IS NOT NULL'), postgresql_where=sa.text('transfer_id IS NOT NULL'))

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
        op.execute("DELETE FROM policy_parameters WHERE name LIKE 'treasury.%'")
        op.execute("CREATE TRIGGER policy_parameters_no_change BEFORE UPDATE OR DELETE ON policy_parameters "
                   "FOR EACH ROW EXECUTE FUNCTION dated_history_append_only()")
    else:
        op.execute("DROP TRIGGER policy_parameters_no_delete")
        op.execute("DELETE FROM policy_parameters WHERE name LIKE 'treasury.%'")
        op.execute("CREATE TRIGGER policy_parameters_no_delete BEFORE DELETE ON policy_parameters "
                   "BEGIN SELECT RAISE(ABORT, 'policy_parameters is append-only'); END")
    with op.batch_alter_table('treasury_statement_lines', schema=None) as batch_op:
        batch_op.drop_index('ux_treasury_statement_lines_transfer', sqlite_where=sa.text('transfer_id IS NOT NULL'), postgresql_where=sa.text('transfer_id IS NOT NULL'))
        batch_op.drop_index('ix_treasury_statement_lines_queue')

    op.drop_table('treasury_statement_lines')
    op.drop_table('treasury_balance_checks')
    with op.batch_alter_table('treasury_statements', schema=None) as batch_op:
        batch_op.drop_index('ix_treasury_statements_account_period')

    op.drop_table('treasury_statements')
    with op.batch_alter_table('treasury_instructions', schema=None) as batch_op:
        batch_op.drop_index('ix_treasury_instructions_status')

    op.drop_table('treasury_instructions')
    op.drop_table('treasury_deposits')
    op.drop_table('treasury_accounts')
