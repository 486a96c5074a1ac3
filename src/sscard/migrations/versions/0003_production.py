"""production

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27

Card production: collection and population imports, the comparison exceptions queue, the six
cooperating banks (seeded: divisions, quota, file character set), production batches and their records, overdue
seals, and the policy parameter ``card.seal_unactivated_months`` (6, 逾期封存).
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sscard.db

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('cooperating_banks',
    sa.Column('code', sa.String(length=10), nullable=False),
    sa.Column('name_zh', sa.String(length=50), nullable=False),
    sa.Column('divisions', sa.String(length=200), nullable=False),
    sa.Column('quota', sa.Integer(), nullable=False),
    sa.Column('charset', sa.String(length=10), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_cooperating_banks'))
    )
    op.create_table('data_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_ok', sa.Integer(), nullable=False),
    sa.Column('rows_bad', sa.Integer(), nullable=False),
    sa.Column('operator', sa.String(length=50), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_imports')),
    sa.UniqueConstraint('sha256', name=op.f('uq_data_imports_sha256'))
    )
    op.create_table('import_row_errors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('row_no', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['data_imports.id'], name=op.f('fk_import_row_errors_import_id_data_imports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_row_errors'))
    )
    with op.batch_alter_table('import_row_errors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_row_errors_import_id'), ['import_id'], unique=False)

    op.create_table('population_records',
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('living_status', sa.String(length=1), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['data_imports.id'], name=op.f('fk_population_records_import_id_data_imports')),
    sa.PrimaryKeyConstraint('id_number', name=op.f('pk_population_records'))
    )
    op.create_table('production_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_no', sa.String(length=30), nullable=False),
    sa.Column('bank_code', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=6), nullable=False),
    sa.Column('stage', sa.String(length=16), nullable=False),
    sa.Column('record_count', sa.Integer(), nullable=False),
    sa.Column('bank_ok', sa.Integer(), nullable=False),
    sa.Column('bank_failed', sa.Integer(), nullable=False),
    sa.Column('maker_sent', sa.Integer(), nullable=False),
    sa.Column('maker_ok', sa.Integer(), nullable=False),
    sa.Column('maker_failed', sa.Integer(), nullable=False),
    sa.Column('delivered', sa.Integer(), nullable=False),
    sa.Column('transport_salt', sa.String(length=64), nullable=True),
    sa.Column('created_by', sa.String(length=50), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['bank_code'], ['cooperating_banks.code'], name=op.f('fk_production_batches_bank_code_cooperating_banks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_production_batches')),
    sa.UniqueConstraint('batch_no', name=op.f('uq_production_batches_batch_no'))
    )
    op.create_table('collected_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('row_no', sa.Integer(), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('ethnicity', sa.String(length=2), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('employer_uscc', sa.String(length=18), nullable=True),
    sa.Column('photo_ref', sa.String(length=200), nullable=True),
    sa.Column('photo_width', sa.Integer(), nullable=True),
    sa.Column('photo_height', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('accepted_codes', sa.String(length=200), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.Column('card_no', sa.String(length=12), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_collected_records_application_id_applications')),
    sa.ForeignKeyConstraint(['import_id'], ['data_imports.id'], name=op.f('fk_collected_records_import_id_data_imports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collected_records'))
    )
    with op.batch_alter_table('collected_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collected_records_id_number'), ['id_number'], unique=False)
        batch_op.create_index('ix_collected_records_status_import', ['status', 'import_id'], unique=False)

    op.create_table('comparison_exceptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('reason_code', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.String(length=300), nullable=False),
    sa.Column('field', sa.String(length=20), nullable=True),
    sa.Column('register_value', sa.String(length=50), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('resolution', sa.String(length=20), nullable=True),
    sa.Column('resolved_by', sa.String(length=50), nullable=True),
    sa.Column('resolved_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['collected_records.id'], name=op.f('fk_comparison_exceptions_record_id_collected_records')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comparison_exceptions'))
    )
    with op.batch_alter_table('comparison_exceptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_comparison_exceptions_record_id'), ['record_id'], unique=False)
        batch_op.create_index('ix_comparison_exceptions_status_code', ['status', 'reason_code'], unique=False)

    op.create_table('overdue_seals',
    sa.Column('card_id', sa.Integer(), nullable=False),
    sa.Column('card_no', sa.String(length=12), nullable=False),
    sa.Column('issued_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('sealed_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_overdue_seals_card_id_cards')),
    sa.PrimaryKeyConstraint('card_id', name=op.f('pk_overdue_seals'))
    )
    op.create_table('production_batch_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('card_id', sa.Integer(), nullable=False),
    sa.Column('card_no', sa.String(length=12), nullable=False),
    sa.Column('state', sa.String(length=14), nullable=False),
    sa.Column('name_substituted', sa.Boolean(), nullable=False),
    sa.Column('account_no', sa.String(length=32), nullable=True),
    sa.Column('fail_code', sa.String(length=10), nullable=True),
    sa.Column('fail_reason', sa.String(length=100), nullable=True),
    sa.Column('chip_serial', sa.String(length=32), nullable=True),
    sa.Column('atr', sa.String(length=64), nullable=True),
    sa.Column('outlet_code', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['production_batches.id'], name=op.f('fk_production_batch_records_batch_id_production_batches')),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_production_batch_records_card_id_cards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_production_batch_records')),
    sa.UniqueConstraint('batch_id', 'card_id', name='uq_production_batch_records_card'),
    sa.UniqueConstraint('batch_id', 'seq', name='uq_production_batch_records_seq')
    )
    with op.batch_alter_table('production_batch_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_production_batch_records_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_production_batch_records_card_id'), ['card_id'], unique=False)

    _seed()


# Qingyuan's six issuing banks (清城区 official page, domain_rules.md §1.4). Division assignment and quotas are the
# project's configuration of the 2013 plan (3 M cards in the pilot year, 4 M a year later), not published figures.
BANKS = (
    ("ICBC", "中国工商银行", "441802,441803,441881", 700_000, "gbk"),
    ("ABC", "中国农业银行", "441881,441823,441825,441826,441882", 800_000, "gbk"),
    ("BOC", "中国银行", "441802,441882", 400_000, "gbk"),
    ("CCB", "中国建设银行", "441802,441803,441821", 600_000, "gbk"),
    ("CGB", "广发银行", "441802,441881", 300_000, "gbk"),
    ("QYRCB", "清远农村商业银行", "441802,441803,441881,441882,441821,441823,441825,441826", 1_200_000, "gb2312"),
)


def _seed() -> None:
    banks = sa.table("cooperating_banks", sa.column("code", sa.String), sa.column("name_zh", sa.String),
                     sa.column("divisions", sa.String), sa.column("quota", sa.Integer),
                     sa.column("charset", sa.String))
    op.bulk_insert(banks, [{"code": c, "name_zh": n, "divisions": d, "quota": q, "charset": cs}
                           for c, n, d, q, cs in BANKS])
    params = sa.table(
        "policy_parameters",
        sa.column("name", sa.String), sa.column("value", sa.String), sa.column("effective_from", sa.Date),
        sa.column("note", sa.String), sa.column("created_at", sscard.db.UtcDateTime),
        sa.column("created_by", sa.String),
    )
    op.bulk_insert(params, [{"name": "card.seal_unactivated_months", "value": "6",
                             "effective_from": dt.date(2013, 1, 1), "note": "清远: 制卡后半年未激活为逾期封存卡",
                             "created_at": sscard.db.utcnow(), "created_by": "migration"}])


def downgrade() -> None:
    op.execute("DELETE FROM policy_parameters WHERE name = 'card.seal_unactivated_months'")
    with op.batch_alter_table('production_batch_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_production_batch_records_card_id'))
        batch_op.drop_index(batch_op.f('ix_production_batch_records_batch_id'))

    op.drop_table('production_batch_records')
    op.drop_table('overdue_seals')
    with op.batch_alter_table('comparison_exceptions', schema=None) as batch_op:
        batch_op.drop_index('ix_comparison_exceptions_status_code')
        batch_op.drop_index(batch_op.f('ix_comparison_exceptions_record_id'))

    op.drop_table('comparison_exceptions')
    with op.batch_alter_table('collected_records', schema=None) as batch_op:
        batch_op.drop_index('ix_collected_records_status_import')
        batch_op.drop_index(batch_op.f('ix_collected_records_id_number'))

    op.drop_table('collected_records')
    op.drop_table('production_batches')
    op.drop_table('population_records')
    with op.batch_alter_table('import_row_errors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_row_errors_import_id'))

    op.drop_table('import_row_errors')
    op.drop_table('data_imports')
    op.drop_table('cooperating_banks')
