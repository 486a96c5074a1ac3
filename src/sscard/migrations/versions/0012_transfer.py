"""transfer

Revision ID: 0012_transfer
Revises: 0011_ecard
Create Date: 2026-12-02

The transfer of the insurance relationship between cities (社会保险关系转移接续): transfer cases and the signed
messages sent and received (the idempotency record), the months of a record carried in or out
(``contrib_carried``, owned by funds.contributions); and its policy parameters: the pooled fund transfers 12 % of
each month's contribution base (国办发〔2009〕66号, from 2010-01-01), the personal account is credited 2.5 % a
year (an example; each province sets its own).
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sscard.db

revision: str = '0012_transfer'
down_revision: str | None = '0012_treasury'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARAMETERS = (
    ("transfer.pension.pool_share_bp", "1200", "统筹基金按各年度实际缴费工资的 12% 转移（国办发〔2009〕66号）"),
    ("transfer.pension.interest_bp", "250", "个人账户记账利率 2.5%（示例，按省公布）"),
)
OPEN = "status IN ('issued', 'applying', 'applied', 'paying', 'paid')"


def upgrade() -> None:
    op.create_table('transfer_cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('voucher_no', sa.String(length=40), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('partner_city', sa.String(length=6), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('voucher', sa.Text(), nullable=False),
    sa.Column('voucher_digest', sa.String(length=64), nullable=False),
    sa.Column('pension_months', sa.Integer(), nullable=False),
    sa.Column('pension_personal_fen', sa.BigInteger(), nullable=False),
    sa.Column('pension_interest_fen', sa.BigInteger(), nullable=False),
    sa.Column('pension_pool_fen', sa.BigInteger(), nullable=False),
    sa.Column('medical_months', sa.Integer(), nullable=False),
    sa.Column('medical_personal_fen', sa.BigInteger(), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('pay_to_bank', sa.String(length=10), nullable=True),
    sa.Column('pay_to_account', sa.String(length=32), nullable=True),
    sa.Column('pay_to_name', sa.String(length=50), nullable=True),
    sa.Column('bank_ref', sa.String(length=40), nullable=True),
    sa.Column('counterpart_fen', sa.BigInteger(), nullable=True),
    sa.Column('last_reason', sa.String(length=40), nullable=True),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=50), nullable=False),
    sa.CheckConstraint("direction IN ('out', 'in')", name=op.f('ck_transfer_cases_direction_known')),
    sa.CheckConstraint("status IN ('issued', 'applying', 'applied', 'paying', 'paid', 'completed', 'credited', "
                       "'refused')", name=op.f('ck_transfer_cases_status_known')),
    sa.CheckConstraint("total_fen = pension_personal_fen + pension_interest_fen + pension_pool_fen "
                       "+ medical_personal_fen", name=op.f('ck_transfer_cases_total_adds_up')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_transfer_cases_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_cases')),
    sa.UniqueConstraint('direction', 'voucher_no', name='uq_transfer_cases_direction_voucher')
    )
    with op.batch_alter_table('transfer_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfer_cases_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ux_transfer_cases_person_open', ['person_id', 'direction'], unique=True,
                              sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    op.create_table('transfer_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('partner_city', sa.String(length=6), nullable=False),
    sa.Column('msg_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('voucher_no', sa.String(length=40), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('request', sa.Text(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("direction IN ('out', 'in')", name=op.f('ck_transfer_messages_direction_known')),
    sa.CheckConstraint("status IN ('pending', 'answered', 'refused')", name=op.f('ck_transfer_messages_status_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_messages')),
    sa.UniqueConstraint('direction', 'partner_city', 'msg_id', name='uq_transfer_messages_direction_city_msg')
    )
    with op.batch_alter_table('transfer_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfer_messages_voucher_no'), ['voucher_no'], unique=False)
    op.create_table('contrib_carried',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('insurance_type', sa.String(length=15), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('base_fen', sa.BigInteger(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('personal_fen', sa.BigInteger(), nullable=False),
    sa.Column('city', sa.String(length=6), nullable=False),
    sa.Column('case_ref', sa.String(length=40), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=50), nullable=False),
    sa.CheckConstraint("direction IN ('in', 'out')", name=op.f('ck_contrib_carried_direction_known')),
    sa.CheckConstraint("amount_fen >= 0 AND personal_fen >= 0 AND base_fen >= 0",
                       name=op.f('ck_contrib_carried_amounts_sane')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_contrib_carried_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contrib_carried')),
    sa.UniqueConstraint('case_ref', 'direction', 'insurance_type', 'period',
                        name='uq_contrib_carried_case_direction_type_period')
    )
    with op.batch_alter_table('contrib_carried', schema=None) as batch_op:
        batch_op.create_index('ix_contrib_carried_person_type', ['person_id', 'insurance_type'], unique=False)
    params = sa.table(
        "policy_parameters",
        sa.column("name", sa.String), sa.column("value", sa.String), sa.column("effective_from", sa.Date),
        sa.column("note", sa.String), sa.column("created_at", sscard.db.UtcDateTime),
        sa.column("created_by", sa.String),
    )
    op.bulk_insert(params, [{"name": n, "value": v, "effective_from": dt.date(2010, 1, 1), "note": note,
                             "created_at": sscard.db.utcnow(), "created_by": "migration"}
                            for n, v, note in PARAMETERS])


def downgrade() -> None:
    # policy_parameters is append-only (0010_history): its DELETE trigger is lifted for this one statement.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER policy_parameters_no_change ON policy_parameters")
        op.execute("DELETE FROM policy_parameters WHERE name LIKE 'transfer.%'")
        op.execute("CREATE TRIGGER policy_parameters_no_change BEFORE UPDATE OR DELETE ON policy_parameters "
                   "FOR EACH ROW EXECUTE FUNCTION dated_history_append_only()")
    else:
        op.execute("DROP TRIGGER policy_parameters_no_delete")
        op.execute("DELETE FROM policy_parameters WHERE name LIKE 'transfer.%'")
        op.execute("CREATE TRIGGER policy_parameters_no_delete BEFORE DELETE ON policy_parameters "
                   "BEGIN SELECT RAISE(ABORT, 'policy_parameters is append-only'); END")
    with op.batch_alter_table('contrib_carried', schema=None) as batch_op:
        batch_op.drop_index('ix_contrib_carried_person_type')
    op.drop_table('contrib_carried')
    with op.batch_alter_table('transfer_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfer_messages_voucher_no'))
    op.drop_table('transfer_messages')
    with op.batch_alter_table('transfer_cases', schema=None) as batch_op:
        batch_op.drop_index('ux_transfer_cases_person_open', sqlite_where=sa.text(OPEN),
                            postgresql_where=sa.text(OPEN))
        batch_op.drop_index(batch_op.f('ix_transfer_cases_person_id'))
    op.drop_table('transfer_cases')
