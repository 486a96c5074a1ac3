"""medical history: the catalogue and the policy documents are appended, never rewritten

Revision ID: 0010_medhist
Revises: 0010_platform
Create Date: 2026-12-02

- ``medical_catalogue_items`` gets a ``version`` (1 for every row so far) and ``withdrawn``; the unique key
  becomes (code, effective_from, version): a change appends the next version, the old one kept.
- ``medical_policies`` keeps every version of a policy id as its own row: the unique key becomes
  (policy_id, version).
- ``benefit_amounts`` gets a ``version`` in its primary key: a second amount for a month not run yet is
  appended as the next version, the old one kept.
- The three tables refuse UPDATE and DELETE at the database level. Rows are only ever inserted: by
  ``medical.config.load_initial`` on a database without settlements, and by the administrator edits for today or
  later.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010_medhist'
down_revision: str | None = '0010_platform'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("medical_catalogue_items", "medical_policies", "benefit_amounts")


def upgrade() -> None:
    with op.batch_alter_table('medical_catalogue_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('withdrawn', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.drop_constraint('uq_medical_catalogue_items_code_from', type_='unique')
        batch_op.create_unique_constraint('uq_medical_catalogue_items_code_from_version',
                                          ['code', 'effective_from', 'version'])
    with op.batch_alter_table('medical_policies', schema=None) as batch_op:
        batch_op.drop_constraint('uq_medical_policies_policy_id', type_='unique')
        batch_op.create_unique_constraint('uq_medical_policies_policy_id_version', ['policy_id', 'version'])
        batch_op.create_index(batch_op.f('ix_medical_policies_policy_id'), ['policy_id'], unique=False)
    with op.batch_alter_table('benefit_amounts', schema=None, recreate='always') as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.drop_constraint('pk_benefit_amounts', type_='primary')
        batch_op.create_primary_key('pk_benefit_amounts', ['entitlement_id', 'from_period', 'version'])
    _append_only(op.get_bind().dialect.name)


def _append_only(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION medical_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only: add a version dated today or later', TG_TABLE_NAME; END $$"
        )
        for table in TABLES:
            op.execute(f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION medical_history_append_only()")
    else:
        for table in TABLES:
            for event in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
        op.execute("DROP FUNCTION IF EXISTS medical_history_append_only()")
    else:
        for table in TABLES:
            for event in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{event}")
    # The old keys hold one row per (code, date) and per policy id: keep the latest version, drop the others
    # (a withdrawn latest version drops the row).
    op.execute("DELETE FROM medical_catalogue_items WHERE version < (SELECT max(c.version) FROM "
               "medical_catalogue_items c WHERE c.code = medical_catalogue_items.code "
               "AND c.effective_from = medical_catalogue_items.effective_from)")
    op.execute("DELETE FROM medical_catalogue_items WHERE withdrawn")
    op.execute("DELETE FROM medical_policies WHERE version < (SELECT max(p.version) FROM medical_policies p "
               "WHERE p.policy_id = medical_policies.policy_id)")
    op.execute("DELETE FROM benefit_amounts WHERE version < (SELECT max(a.version) FROM benefit_amounts a "
               "WHERE a.entitlement_id = benefit_amounts.entitlement_id "
               "AND a.from_period = benefit_amounts.from_period)")
    with op.batch_alter_table('benefit_amounts', schema=None, recreate='always') as batch_op:
        batch_op.drop_constraint('pk_benefit_amounts', type_='primary')
        batch_op.create_primary_key('pk_benefit_amounts', ['entitlement_id', 'from_period'])
        batch_op.drop_column('version')
    with op.batch_alter_table('medical_policies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_medical_policies_policy_id'))
        batch_op.drop_constraint('uq_medical_policies_policy_id_version', type_='unique')
        batch_op.create_unique_constraint('uq_medical_policies_policy_id', ['policy_id'])
    with op.batch_alter_table('medical_catalogue_items', schema=None) as batch_op:
        batch_op.drop_constraint('uq_medical_catalogue_items_code_from_version', type_='unique')
        batch_op.create_unique_constraint('uq_medical_catalogue_items_code_from', ['code', 'effective_from'])
        batch_op.drop_column('withdrawn')
        batch_op.drop_column('version')
