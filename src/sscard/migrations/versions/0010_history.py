"""history: policy parameters and fee rates are appended, never rewritten

Revision ID: 0010_history
Revises: 0010_medhist
Create Date: 2026-12-02

- ``policy_parameters`` and ``fee_rates`` get a ``version`` (1 for every row so far); the unique key becomes
  (name / business, reason, effective date, version), so replacing a future-dated value appends a version and
  keeps the old one.
- Both tables refuse UPDATE and DELETE at the database level, whoever connects, as the audit table does. Rows are
  only ever inserted: by migrations, by ``policy.load_initial`` on a fresh database, and by ``set_parameter`` /
  ``set_rate`` for today or later.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010_history'
down_revision: str | None = '0010_medhist'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("policy_parameters", "fee_rates")


def upgrade() -> None:
    with op.batch_alter_table('policy_parameters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.drop_constraint('uq_policy_name_from', type_='unique')
        batch_op.create_unique_constraint('uq_policy_name_from_version', ['name', 'effective_from', 'version'])
    with op.batch_alter_table('fee_rates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.drop_constraint('uq_fee_rate', type_='unique')
        batch_op.create_unique_constraint('uq_fee_rate_version', ['business', 'reason', 'effective_from', 'version'])
    _append_only(op.get_bind().dialect.name)


def _append_only(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION dated_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only: add a row dated today or later', TG_TABLE_NAME; END $$"
        )
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION dated_history_append_only()")
    else:
        for table in TABLES:
            for event in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
        op.execute("DROP FUNCTION IF EXISTS dated_history_append_only()")
    else:
        for table in TABLES:
            for event in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")
    # The old key holds one row per date: keep the latest version (charges move to it), drop the others.
    op.execute("DELETE FROM policy_parameters WHERE version < (SELECT max(p.version) FROM policy_parameters p "
               "WHERE p.name = policy_parameters.name AND p.effective_from = policy_parameters.effective_from)")
    op.execute("UPDATE fee_charges SET fee_rate_id = (SELECT n.id FROM fee_rates o JOIN fee_rates n "
               "ON n.business = o.business AND n.reason = o.reason AND n.effective_from = o.effective_from "
               "WHERE o.id = fee_charges.fee_rate_id ORDER BY n.version DESC LIMIT 1)")
    op.execute("DELETE FROM fee_rates WHERE version < (SELECT max(r.version) FROM fee_rates r "
               "WHERE r.business = fee_rates.business AND r.reason = fee_rates.reason "
               "AND r.effective_from = fee_rates.effective_from)")
    with op.batch_alter_table('fee_rates', schema=None) as batch_op:
        batch_op.drop_constraint('uq_fee_rate_version', type_='unique')
        batch_op.create_unique_constraint('uq_fee_rate', ['business', 'reason', 'effective_from'])
        batch_op.drop_column('version')
    with op.batch_alter_table('policy_parameters', schema=None) as batch_op:
        batch_op.drop_constraint('uq_policy_name_from_version', type_='unique')
        batch_op.create_unique_constraint('uq_policy_name_from', ['name', 'effective_from'])
        batch_op.drop_column('version')
