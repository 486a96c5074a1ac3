"""jobs: public employment services by card

Revision ID: 0013_jobs
Revises: 0012_faces_portal
Create Date: 2026-12-03

Employment registrations (求职登记, 失业登记) and employment-support subsidies (就业扶持政策补贴), with the policy
parameters of the unemployment benefit and the subsidies (example values effective 2013-01-01; administrators
set the city's own). Not to be confused with 0012_employment, which holds the employer debit tables.
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sscard.db

revision: str = '0013_jobs'
down_revision: str | None = '0012_faces_portal'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARAMETERS = (
    ("employment.ui.monthly_fen", "180000", "失业保险金月标准 1800 元（示例）"),
    ("employment.ui.max_months", "24", "失业保险金最长领取 24 个月"),
    ("employment.subsidy.startup_fen", "1000000", "一次性创业补贴 10000 元（示例）"),
    ("employment.subsidy.flexible_social_fen", "200000", "灵活就业社保补贴 2000 元（示例）"),
)


def upgrade() -> None:
    op.create_table('employment_registrations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('registered_on', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('outlet_code', sa.String(length=20), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('close_reason', sa.String(length=16), nullable=True),
    sa.Column('entitlement_id', sa.BigInteger(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=100), nullable=True),
    sa.Column('created_by', sa.String(length=50), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('closed_by', sa.String(length=50), nullable=True),
    sa.CheckConstraint("kind IN ('job_seeker', 'unemployment')", name=op.f('ck_employment_registrations_kind_known')),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_employment_registrations_status_known')),
    sa.CheckConstraint("(status = 'open' AND closed_on IS NULL AND close_reason IS NULL) OR "
                       "(status = 'closed' AND closed_on IS NOT NULL AND close_reason IS NOT NULL)",
                       name=op.f('ck_employment_registrations_closed_has_date_and_reason')),
    sa.CheckConstraint('closed_on IS NULL OR closed_on >= registered_on',
                       name=op.f('ck_employment_registrations_closed_after_opened')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'],
                            name=op.f('fk_employment_registrations_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employment_registrations')),
    sa.UniqueConstraint('entitlement_id', name=op.f('uq_employment_registrations_entitlement_id')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_employment_registrations_idempotency_key'))
    )
    with op.batch_alter_table('employment_registrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_employment_registrations_person_id'), ['person_id'], unique=False)
        # One open registration of each kind per person: two counters cannot both open one.
        batch_op.create_index('uq_employment_registrations_open', ['person_id', 'kind'], unique=True,
                              postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))
    op.create_table('employment_subsidies',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('registration_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('proposed_by', sa.String(length=50), nullable=False),
    sa.Column('proposed_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=50), nullable=True),
    sa.Column('decided_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('entitlement_id', sa.BigInteger(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=100), nullable=True),
    sa.CheckConstraint("kind IN ('startup', 'flexible_social')", name=op.f('ck_employment_subsidies_kind_known')),
    sa.CheckConstraint("status IN ('proposed', 'approved', 'rejected')",
                       name=op.f('ck_employment_subsidies_status_known')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_employment_subsidies_amount_positive')),
    sa.CheckConstraint('decided_by IS NULL OR decided_by <> proposed_by',
                       name=op.f('ck_employment_subsidies_checker_is_not_maker')),
    sa.CheckConstraint("(status = 'proposed') = (decided_by IS NULL)",
                       name=op.f('ck_employment_subsidies_decided_iff_not_proposed')),
    sa.CheckConstraint("(status = 'approved') = (entitlement_id IS NOT NULL)",
                       name=op.f('ck_employment_subsidies_approved_has_entitlement')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_employment_subsidies_person_id_persons')),
    sa.ForeignKeyConstraint(['registration_id'], ['employment_registrations.id'],
                            name=op.f('fk_employment_subsidies_registration_id_employment_registrations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_employment_subsidies')),
    sa.UniqueConstraint('entitlement_id', name=op.f('uq_employment_subsidies_entitlement_id')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_employment_subsidies_idempotency_key'))
    )
    with op.batch_alter_table('employment_subsidies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_employment_subsidies_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_employment_subsidies_registration_id'), ['registration_id'],
                              unique=False)
        batch_op.create_index('uq_employment_subsidies_live', ['registration_id', 'kind'], unique=True,
                              postgresql_where=sa.text("status <> 'rejected'"),
                              sqlite_where=sa.text("status <> 'rejected'"))
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
    delete = "DELETE FROM policy_parameters WHERE name LIKE 'employment.%'"
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER policy_parameters_no_change ON policy_parameters")
        op.execute(delete)
        op.execute("CREATE TRIGGER policy_parameters_no_change BEFORE UPDATE OR DELETE ON policy_parameters "
                   "FOR EACH ROW EXECUTE FUNCTION dated_history_append_only()")
    else:
        op.execute("DROP TRIGGER policy_parameters_no_delete")
        op.execute(delete)
        op.execute("CREATE TRIGGER policy_parameters_no_delete BEFORE DELETE ON policy_parameters "
                   "BEGIN SELECT RAISE(ABORT, 'policy_parameters is append-only'); END")
    with op.batch_alter_table('employment_subsidies', schema=None) as batch_op:
        batch_op.drop_index('uq_employment_subsidies_live')
        batch_op.drop_index(batch_op.f('ix_employment_subsidies_registration_id'))
        batch_op.drop_index(batch_op.f('ix_employment_subsidies_person_id'))
    op.drop_table('employment_subsidies')
    with op.batch_alter_table('employment_registrations', schema=None) as batch_op:
        batch_op.drop_index('uq_employment_registrations_open')
        batch_op.drop_index(batch_op.f('ix_employment_registrations_person_id'))
    op.drop_table('employment_registrations')
