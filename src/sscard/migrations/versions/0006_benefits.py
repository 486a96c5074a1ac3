"""benefits

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

Benefits: entitlements with effective-dated amounts, survival certifications, months owed but not
paid (holds), month runs, disbursement batches with append-only lines (triggers refuse UPDATE and
DELETE of lines, and any change of a batch header), and the re-issue queue. Seeds the policy value
``benefits.certification_months`` = 12 (payments stop after 12 months without certification).
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sscard.db

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HEADER = ("batch_no", "kind", "period", "bank_code", "line_count", "total_amount")


def upgrade() -> None:
    op.create_table('benefit_month_runs',
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('payments', sa.Integer(), nullable=False),
    sa.Column('held', sa.Integer(), nullable=False),
    sa.Column('released', sa.Integer(), nullable=False),
    sa.Column('no_account', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.String(length=50), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('period', name=op.f('pk_benefit_month_runs'))
    )
    op.create_table('disbursement_batches',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('batch_no', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('bank_code', sa.String(length=10), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('total_amount', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('handle', sa.String(length=100), nullable=True),
    sa.Column('file_sha256', sa.String(length=64), nullable=True),
    sa.Column('return_sha256', sa.String(length=64), nullable=True),
    sa.Column('success_count', sa.Integer(), nullable=False),
    sa.Column('success_amount', sa.BigInteger(), nullable=False),
    sa.Column('failure_count', sa.Integer(), nullable=False),
    sa.Column('failure_amount', sa.BigInteger(), nullable=False),
    sa.Column('created_by', sa.String(length=50), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('exported_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('returned_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('posted_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('regular', 'reissue')", name=op.f('ck_disbursement_batches_kind_known')),
    sa.CheckConstraint("state <> 'posted' OR (success_count + failure_count = line_count AND success_amount + failure_amount = total_amount)", name=op.f('ck_disbursement_batches_header_balanced')),
    sa.CheckConstraint("state IN ('built', 'exported', 'returned', 'posted')", name=op.f('ck_disbursement_batches_state_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disbursement_batches')),
    sa.UniqueConstraint('batch_no', name=op.f('uq_disbursement_batches_batch_no'))
    )
    with op.batch_alter_table('disbursement_batches', schema=None) as batch_op:
        batch_op.create_index('ix_disbursement_batches_period', ['period', 'kind'], unique=False)

    op.create_table('disbursement_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('batch_id', sa.BigInteger(), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('entitlement_id', sa.BigInteger(), nullable=False),
    sa.Column('period_due', sa.String(length=7), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('fund', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('account_no', sa.String(length=40), nullable=False),
    sa.Column('holder_name', sa.String(length=50), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('reissue_of', sa.BigInteger(), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_disbursement_lines_amount_positive')),
    sa.ForeignKeyConstraint(['reissue_of'], ['disbursement_lines.id'], name=op.f('fk_disbursement_lines_reissue_of_disbursement_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disbursement_lines'))
    )
    with op.batch_alter_table('disbursement_lines', schema=None) as batch_op:
        batch_op.create_index('uq_disbursement_lines_batch_line', ['batch_id', 'line_no'], unique=True)
        batch_op.create_index('uq_disbursement_lines_original', ['entitlement_id', 'period_due'], unique=True, postgresql_where=sa.text('reissue_of IS NULL'), sqlite_where=sa.text('reissue_of IS NULL'))
        batch_op.create_index('uq_disbursement_lines_reissue_of', ['reissue_of'], unique=True, postgresql_where=sa.text('reissue_of IS NOT NULL'), sqlite_where=sa.text('reissue_of IS NOT NULL'))

    op.create_table('benefit_certifications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('certified_on', sa.Date(), nullable=False),
    sa.Column('method', sa.String(length=12), nullable=False),
    sa.Column('created_by', sa.String(length=50), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_benefit_certifications_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benefit_certifications'))
    )
    with op.batch_alter_table('benefit_certifications', schema=None) as batch_op:
        batch_op.create_index('ix_benefit_certifications_person_on', ['person_id', 'certified_on'], unique=False)

    op.create_table('benefit_entitlements',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('fund', sa.String(length=20), nullable=False),
    sa.Column('start_period', sa.String(length=7), nullable=False),
    sa.Column('end_period', sa.String(length=7), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=True),
    sa.Column('created_by', sa.String(length=50), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('active', 'ended')", name=op.f('ck_benefit_entitlements_status_known')),
    sa.CheckConstraint('end_period IS NULL OR end_period >= start_period', name=op.f('ck_benefit_entitlements_period_order')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_benefit_entitlements_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benefit_entitlements'))
    )
    with op.batch_alter_table('benefit_entitlements', schema=None) as batch_op:
        batch_op.create_index('ix_benefit_entitlements_active', ['status', 'start_period'], unique=False)
        batch_op.create_index(batch_op.f('ix_benefit_entitlements_person_id'), ['person_id'], unique=False)

    op.create_table('benefit_reissues',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('line_id', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('reason_code', sa.String(length=30), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('correction', sa.String(length=200), nullable=True),
    sa.Column('account_changed', sa.Boolean(), nullable=False),
    sa.Column('corrected_by', sa.String(length=50), nullable=True),
    sa.Column('corrected_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('reissue_line_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('open', 'corrected', 'reissued', 'paid', 'failed')", name=op.f('ck_benefit_reissues_state_known')),
    sa.ForeignKeyConstraint(['line_id'], ['disbursement_lines.id'], name=op.f('fk_benefit_reissues_line_id_disbursement_lines')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_benefit_reissues')),
    sa.UniqueConstraint('line_id', name=op.f('uq_benefit_reissues_line_id'))
    )
    with op.batch_alter_table('benefit_reissues', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_benefit_reissues_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ix_benefit_reissues_state', ['state'], unique=False)

    op.create_table('benefit_amounts',
    sa.Column('entitlement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('from_period', sa.String(length=7), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('note', sa.String(length=100), nullable=True),
    sa.Column('created_by', sa.String(length=50), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_benefit_amounts_amount_positive')),
    sa.ForeignKeyConstraint(['entitlement_id'], ['benefit_entitlements.id'], name=op.f('fk_benefit_amounts_entitlement_id_benefit_entitlements')),
    sa.PrimaryKeyConstraint('entitlement_id', 'from_period', name=op.f('pk_benefit_amounts'))
    )
    op.create_table('benefit_holds',
    sa.Column('entitlement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period_due', sa.String(length=7), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('released_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('open', 'released', 'cancelled')", name=op.f('ck_benefit_holds_state_known')),
    sa.ForeignKeyConstraint(['entitlement_id'], ['benefit_entitlements.id'], name=op.f('fk_benefit_holds_entitlement_id_benefit_entitlements')),
    sa.PrimaryKeyConstraint('entitlement_id', 'period_due', name=op.f('pk_benefit_holds'))
    )
    with op.batch_alter_table('benefit_holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_benefit_holds_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ix_benefit_holds_state', ['state'], unique=False)

    _immutable(op.get_bind().dialect.name)
    _seed()


def _immutable(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION disbursement_lines_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'disbursement_lines is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER disbursement_lines_no_change BEFORE UPDATE OR DELETE ON disbursement_lines "
            "FOR EACH ROW EXECUTE FUNCTION disbursement_lines_append_only()"
        )
        changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in _HEADER)
        op.execute(
            "CREATE FUNCTION disbursement_batches_header_fixed() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'disbursement_batches are never deleted'; END IF; "
            f"IF {changed} THEN RAISE EXCEPTION 'a disbursement batch header never changes'; END IF; "
            "RETURN NEW; END $$"
        )
        op.execute(
            "CREATE TRIGGER disbursement_batches_header BEFORE UPDATE OR DELETE ON disbursement_batches "
            "FOR EACH ROW EXECUTE FUNCTION disbursement_batches_header_fixed()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER disbursement_lines_no_{event.lower()} BEFORE {event} ON disbursement_lines "
                "BEGIN SELECT RAISE(ABORT, 'disbursement_lines is append-only'); END"
            )
        op.execute(
            f"CREATE TRIGGER disbursement_batches_header BEFORE UPDATE OF {', '.join(_HEADER)} "
            "ON disbursement_batches BEGIN SELECT RAISE(ABORT, 'a disbursement batch header never changes'); END"
        )
        op.execute(
            "CREATE TRIGGER disbursement_batches_no_delete BEFORE DELETE ON disbursement_batches "
            "BEGIN SELECT RAISE(ABORT, 'disbursement_batches are never deleted'); END"
        )


def _seed() -> None:
    params = sa.table(
        "policy_parameters",
        sa.column("name", sa.String), sa.column("value", sa.String), sa.column("effective_from", sa.Date),
        sa.column("note", sa.String), sa.column("created_at", sscard.db.UtcDateTime),
        sa.column("created_by", sa.String),
    )
    op.bulk_insert(params, [{"name": "benefits.certification_months", "value": "12",
                             "effective_from": dt.date(2000, 1, 1),
                             "note": "未按规定进行年度资格认证满12个月暂停发放，认证后补发",
                             "created_at": sscard.db.utcnow(), "created_by": "migration"}])


def downgrade() -> None:
    op.execute("DELETE FROM policy_parameters WHERE name = 'benefits.certification_months'")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS disbursement_lines_no_change ON disbursement_lines")
        op.execute("DROP FUNCTION IF EXISTS disbursement_lines_append_only()")
        op.execute("DROP TRIGGER IF EXISTS disbursement_batches_header ON disbursement_batches")
        op.execute("DROP FUNCTION IF EXISTS disbursement_batches_header_fixed()")
    else:
        for name in ("disbursement_lines_no_update", "disbursement_lines_no_delete",
                     "disbursement_batches_header", "disbursement_batches_no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table('benefit_holds', schema=None) as batch_op:
        batch_op.drop_index('ix_benefit_holds_state')
        batch_op.drop_index(batch_op.f('ix_benefit_holds_person_id'))

    op.drop_table('benefit_holds')
    op.drop_table('benefit_amounts')
    with op.batch_alter_table('benefit_reissues', schema=None) as batch_op:
        batch_op.drop_index('ix_benefit_reissues_state')
        batch_op.drop_index(batch_op.f('ix_benefit_reissues_person_id'))

    op.drop_table('benefit_reissues')
    with op.batch_alter_table('benefit_entitlements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_benefit_entitlements_person_id'))
        batch_op.drop_index('ix_benefit_entitlements_active')

    op.drop_table('benefit_entitlements')
    with op.batch_alter_table('benefit_certifications', schema=None) as batch_op:
        batch_op.drop_index('ix_benefit_certifications_person_on')

    op.drop_table('benefit_certifications')
    with op.batch_alter_table('disbursement_lines', schema=None) as batch_op:
        batch_op.drop_index('uq_disbursement_lines_reissue_of', postgresql_where=sa.text('reissue_of IS NOT NULL'), sqlite_where=sa.text('reissue_of IS NOT NULL'))
        batch_op.drop_index('uq_disbursement_lines_original', postgresql_where=sa.text('reissue_of IS NULL'), sqlite_where=sa.text('reissue_of IS NULL'))
        batch_op.drop_index('uq_disbursement_lines_batch_line')

    op.drop_table('disbursement_lines')
    with op.batch_alter_table('disbursement_batches', schema=None) as batch_op:
        batch_op.drop_index('ix_disbursement_batches_period')

    op.drop_table('disbursement_batches')
    op.drop_table('benefit_month_runs')
