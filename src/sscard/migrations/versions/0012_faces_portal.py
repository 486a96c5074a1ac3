"""faces_portal

Revision ID: 0012_faces_portal
Revises: 0011_ecard
Create Date: 2026-12-02

The cardholder's certificates (参保证明, 缴费清单) with their verification codes, and the online card orders
(网上补换卡: mailed or held at a chosen outlet); the policy parameter of how long a certificate is accepted
(90 days).
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sscard.db

revision: str = '0012_faces_portal'
down_revision: str | None = '0012_transfer'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARAMETERS = (
    ("portal.certificate_valid_days", "90", "参保证明、缴费清单自出具之日起 90 天内可验证"),
)


def upgrade() -> None:
    op.create_table('portal_certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('issued_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('facts_sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_portal_certificates_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_certificates')),
    sa.UniqueConstraint('code', name=op.f('uq_portal_certificates_code'))
    )
    with op.batch_alter_table('portal_certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_certificates_person_id'), ['person_id'], unique=False)
    op.create_table('portal_card_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('delivery', sa.String(length=10), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=True),
    sa.Column('outlet_code', sa.String(length=20), nullable=True),
    sa.Column('fee_fen', sa.BigInteger(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'],
                            name=op.f('fk_portal_card_orders_application_id_applications')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_portal_card_orders_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_card_orders')),
    sa.UniqueConstraint('application_id', name=op.f('uq_portal_card_orders_application_id')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_portal_card_orders_idempotency_key'))
    )
    with op.batch_alter_table('portal_card_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_portal_card_orders_person_id'), ['person_id'], unique=False)
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
    delete = "DELETE FROM policy_parameters WHERE name = 'portal.certificate_valid_days'"
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
    with op.batch_alter_table('portal_card_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_card_orders_person_id'))
    op.drop_table('portal_card_orders')
    with op.batch_alter_table('portal_certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_portal_certificates_person_id'))
    op.drop_table('portal_certificates')
