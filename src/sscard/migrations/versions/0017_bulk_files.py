"""bulk files

Revision ID: 0017_bulk_files
Revises: 0016_remote
Create Date: 2026-12-04

A department's bulk verification files that come through the file ferry (docs/exchange.md "Bulk through the
file ferry"): one row per department and file id, so that a re-sent file is refused instead of answered twice.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sscard.db

revision: str = '0017_bulk_files'
down_revision: str | None = '0016_remote'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('exchange_bulk_files',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('department_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('file_id', sa.String(length=40), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('item_code', sa.String(length=40), nullable=False),
    sa.Column('agreement_no', sa.String(length=40), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('received_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('started', 'answered')", name=op.f('ck_exchange_bulk_files_status_known')),
    sa.ForeignKeyConstraint(['department_id'], ['exchange_departments.id'],
                            name=op.f('fk_exchange_bulk_files_department_id_exchange_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_bulk_files')),
    sa.UniqueConstraint('department_id', 'file_id', name='uq_exchange_bulk_files_dept_file')
    )


def downgrade() -> None:
    op.drop_table('exchange_bulk_files')
