"""contributions

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27

Contributions: insured persons and scheme enrolments with a chosen base or level, withholding
authorisations, the month's run, assessments, debit batches and their lines, employer files; and the
contribution policy parameters (contrib.*), seeded with example values effective 2013-01-01.
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sscard.db

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Example values (fen / basis points), frozen here as they were seeded; administrators set the city's own
# through the policy service (effective-dated rows).
SEED: tuple[tuple[str, int, str], ...] = (
    ("contrib.avg_wage_fen", 459_800, "上年度在岗职工月平均工资 (示例值)"),
    ("contrib.base_ratio_min_bp", 6_000, "灵活就业缴费基数下限 60%"),
    ("contrib.base_ratio_max_bp", 30_000, "灵活就业缴费基数上限 300%"),
    ("contrib.base_floor_fen", 275_880, "缴费基数下限 (示例值)"),
    ("contrib.base_ceiling_fen", 1_379_400, "缴费基数上限 (示例值)"),
    ("contrib.flex_pension.rate_bp", 2_000, "灵活就业养老 20%"),
    ("contrib.flex_pension.personal_bp", 800, "其中 8% 记入个人账户, 12% 统筹"),
    ("contrib.employee_medical.rate_bp", 800, "灵活就业职工医保 (示例值)"),
    ("contrib.employee_medical.personal_bp", 200, "其中 2% 划入个人医疗账户"),
    ("contrib.unemployment.rate_bp", 100, "灵活就业失业保险 (示例值)"),
    ("contrib.resident_pension.levels", 5, "城乡居民养老档次数 (示例值)"),
    ("contrib.resident_pension.level_1", 1_000, "第 1 档 10 元/月"),
    ("contrib.resident_pension.level_2", 2_000, "第 2 档 20 元/月"),
    ("contrib.resident_pension.level_3", 3_000, "第 3 档 30 元/月"),
    ("contrib.resident_pension.level_4", 5_000, "第 4 档 50 元/月"),
    ("contrib.resident_pension.level_5", 10_000, "第 5 档 100 元/月"),
    ("contrib.resident_pension.pool_bp", 0, "居民个人缴费全部记入个人账户"),
    ("contrib.resident_medical.amount_fen", 1_500, "城乡居民医保 15 元/月 (示例值)"),
    ("contrib.employer.pension_bp", 1_400, "单位养老 14%"),
    ("contrib.employee.pension_bp", 800, "个人养老 8%"),
    ("contrib.employer.medical_bp", 650, "单位医疗 6.5%"),
    ("contrib.employee.medical_bp", 200, "个人医疗 2% (划入个人账户)"),
    ("contrib.employer.unemployment_bp", 150, "单位失业 1.5%"),
    ("contrib.employee.unemployment_bp", 50, "个人失业 0.5%"),
    ("contrib.arrears_suspend_months", 3, "欠费满 3 个月暂停扣缴 (深圳规则)"),
)


def upgrade() -> None:
    op.create_table('contrib_insured',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('arrears_months', sa.Integer(), nullable=False),
    sa.Column('suspended_from', sa.String(length=7), nullable=True),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('active', 'suspended')", name=op.f('ck_contrib_insured_status_known')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_contrib_insured_person_id_persons')),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_contrib_insured'))
    )
    with op.batch_alter_table('contrib_insured', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contrib_insured_status'), ['status'], unique=False)

    op.create_table('contrib_enrolments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('scheme', sa.String(length=20), nullable=False),
    sa.Column('insurance_type', sa.String(length=15), nullable=False),
    sa.Column('base_ratio_bp', sa.Integer(), nullable=True),
    sa.Column('level', sa.Integer(), nullable=True),
    sa.Column('start_period', sa.String(length=7), nullable=False),
    sa.Column('end_period', sa.String(length=7), nullable=True),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=50), nullable=False),
    sa.CheckConstraint('base_ratio_bp IS NULL OR (base_ratio_bp > 0 AND base_ratio_bp <= 100000)', name=op.f('ck_contrib_enrolments_ratio_sane')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_contrib_enrolments_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contrib_enrolments')),
    sa.UniqueConstraint('person_id', 'scheme', 'start_period', name='uq_contrib_enrolments_person_scheme_start')
    )
    with op.batch_alter_table('contrib_enrolments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contrib_enrolments_person_id'), ['person_id'], unique=False)

    op.create_table('contrib_authorisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('bank_code', sa.String(length=10), nullable=False),
    sa.Column('account_no', sa.String(length=40), nullable=False),
    sa.Column('holder_name', sa.String(length=50), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('signature_ref', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('lapsed_reason', sa.String(length=40), nullable=True),
    sa.Column('lapsed_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=50), nullable=False),
    sa.CheckConstraint("status IN ('active', 'lapsed', 'revoked')", name=op.f('ck_contrib_authorisations_status_known')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_contrib_authorisations_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contrib_authorisations'))
    )
    with op.batch_alter_table('contrib_authorisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contrib_authorisations_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ux_contrib_authorisations_person_active', ['person_id'], unique=True, sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))

    op.create_table('contrib_runs',
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('assessed', sa.Integer(), nullable=False),
    sa.Column('not_authorised', sa.Integer(), nullable=False),
    sa.Column('not_authorised_fen', sa.BigInteger(), nullable=False),
    sa.Column('started_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('started_by', sa.String(length=50), nullable=False),
    sa.PrimaryKeyConstraint('period', name=op.f('pk_contrib_runs'))
    )
    op.create_table('contrib_assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('scheme', sa.String(length=20), nullable=False),
    sa.Column('insurance_type', sa.String(length=15), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('base_fen', sa.BigInteger(), nullable=True),
    sa.Column('rate_bp', sa.Integer(), nullable=True),
    sa.Column('level', sa.Integer(), nullable=True),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('pool_fen', sa.BigInteger(), nullable=False),
    sa.Column('personal_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_reason', sa.String(length=40), nullable=True),
    sa.Column('paid_batch_line_id', sa.Integer(), nullable=True),
    sa.Column('paid_via', sa.String(length=12), nullable=True),
    sa.Column('paid_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_fen > 0 AND pool_fen >= 0 AND personal_fen >= 0 AND pool_fen + personal_fen = amount_fen', name=op.f('ck_contrib_assessments_parts_add_up')),
    sa.CheckConstraint("status IN ('due', 'sent', 'failed', 'paid')", name=op.f('ck_contrib_assessments_status_known')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['contrib_enrolments.id'], name=op.f('fk_contrib_assessments_enrolment_id_contrib_enrolments')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_contrib_assessments_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contrib_assessments')),
    sa.UniqueConstraint('enrolment_id', 'period', name='uq_contrib_assessments_enrolment_period')
    )
    with op.batch_alter_table('contrib_assessments', schema=None) as batch_op:
        batch_op.create_index('ix_contrib_assessments_person_period', ['person_id', 'period'], unique=False)
        batch_op.create_index('ix_contrib_assessments_status_period', ['status', 'period'], unique=False)

    op.create_table('contrib_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_no', sa.String(length=40), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('bank_code', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('handle', sa.String(length=100), nullable=True),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('file', sa.LargeBinary(), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('ok_count', sa.Integer(), nullable=False),
    sa.Column('ok_fen', sa.BigInteger(), nullable=False),
    sa.Column('failed_count', sa.Integer(), nullable=False),
    sa.Column('failed_fen', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('returned_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('built', 'submitted', 'returned')", name=op.f('ck_contrib_batches_status_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contrib_batches')),
    sa.UniqueConstraint('batch_no', name=op.f('uq_contrib_batches_batch_no'))
    )
    with op.batch_alter_table('contrib_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contrib_batches_period'), ['period'], unique=False)

    op.create_table('contrib_batch_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('account_no', sa.String(length=40), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=True),
    sa.CheckConstraint("status IN ('sent', 'ok', 'failed')", name=op.f('ck_contrib_batch_lines_status_known')),
    sa.ForeignKeyConstraint(['assessment_id'], ['contrib_assessments.id'], name=op.f('fk_contrib_batch_lines_assessment_id_contrib_assessments')),
    sa.ForeignKeyConstraint(['batch_id'], ['contrib_batches.id'], name=op.f('fk_contrib_batch_lines_batch_id_contrib_batches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contrib_batch_lines')),
    sa.UniqueConstraint('batch_id', 'line_no', name='uq_contrib_batch_lines_batch_line')
    )
    with op.batch_alter_table('contrib_batch_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contrib_batch_lines_assessment_id'), ['assessment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contrib_batch_lines_person_id'), ['person_id'], unique=False)

    op.create_table('contrib_employer_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('employer_name', sa.String(length=100), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('bank_code', sa.String(length=10), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('total_fen', sa.BigInteger(), nullable=False),
    sa.Column('imported_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sa.String(length=50), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contrib_employer_files')),
    sa.UniqueConstraint('file_sha256', name=op.f('uq_contrib_employer_files_file_sha256')),
    sa.UniqueConstraint('uscc', 'period', name='uq_contrib_employer_files_uscc_period')
    )
    op.create_table('contrib_employer_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('insurance_type', sa.String(length=15), nullable=False),
    sa.Column('base_fen', sa.BigInteger(), nullable=False),
    sa.Column('employer_fen', sa.BigInteger(), nullable=False),
    sa.Column('employee_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['contrib_employer_files.id'], name=op.f('fk_contrib_employer_lines_file_id_contrib_employer_files')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_contrib_employer_lines_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contrib_employer_lines')),
    sa.UniqueConstraint('file_id', 'line_no', name='uq_contrib_employer_lines_file_line')
    )
    with op.batch_alter_table('contrib_employer_lines', schema=None) as batch_op:
        batch_op.create_index('ix_contrib_employer_lines_person_id', ['person_id'], unique=False)

    params = sa.table(
        "policy_parameters",
        sa.column("name", sa.String), sa.column("value", sa.String), sa.column("effective_from", sa.Date),
        sa.column("note", sa.String), sa.column("created_at", sscard.db.UtcDateTime),
        sa.column("created_by", sa.String),
    )
    now = dt.datetime.now(dt.UTC)
    op.bulk_insert(params, [{"name": name, "value": str(value), "effective_from": dt.date(2013, 1, 1), "note": note,
                             "created_at": now, "created_by": "migration"} for name, value, note in SEED])


def downgrade() -> None:
    op.execute("DELETE FROM policy_parameters WHERE name LIKE 'contrib.%'")
    with op.batch_alter_table('contrib_employer_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_contrib_employer_lines_person_id')
    op.drop_table('contrib_employer_lines')
    op.drop_table('contrib_employer_files')
    with op.batch_alter_table('contrib_batch_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contrib_batch_lines_person_id'))
        batch_op.drop_index(batch_op.f('ix_contrib_batch_lines_assessment_id'))
    op.drop_table('contrib_batch_lines')
    with op.batch_alter_table('contrib_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contrib_batches_period'))
    op.drop_table('contrib_batches')
    with op.batch_alter_table('contrib_assessments', schema=None) as batch_op:
        batch_op.drop_index('ix_contrib_assessments_status_period')
        batch_op.drop_index('ix_contrib_assessments_person_period')
    op.drop_table('contrib_assessments')
    op.drop_table('contrib_runs')
    with op.batch_alter_table('contrib_authorisations', schema=None) as batch_op:
        batch_op.drop_index('ux_contrib_authorisations_person_active', sqlite_where=sa.text("status = 'active'"), postgresql_where=sa.text("status = 'active'"))
        batch_op.drop_index(batch_op.f('ix_contrib_authorisations_person_id'))
    op.drop_table('contrib_authorisations')
    with op.batch_alter_table('contrib_enrolments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contrib_enrolments_person_id'))
    op.drop_table('contrib_enrolments')
    with op.batch_alter_table('contrib_insured', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contrib_insured_status'))
    op.drop_table('contrib_insured')
