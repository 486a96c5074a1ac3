"""platform

Revision ID: 0010_platform
Revises: 0010_audit
Create Date: 2026-12-02

``instance_marks``: what a database is (``kind = demo`` written by ``sscard demo`` when it creates the
database). The demo seed refuses a database without the mark; ``sscard doctor`` reports a demo database
served in production mode.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sscard.db

revision: str = '0010_platform'
down_revision: str | None = '0010_audit'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('instance_marks',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_instance_marks'))
    )


def downgrade() -> None:
    op.drop_table('instance_marks')
