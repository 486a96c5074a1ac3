"""proof of card presence

Revision ID: 0010_presence
Revises: 0009
Create Date: 2026-12-02

A settlement by card records how the card's presence was proven (``presence_method``: arqc, pin, or NULL when
the policy asked for none or the settlement was by ID number) and, for a chip cryptogram, the card's ATC
(``presence_atc``). A partial unique index on (card_no, presence_atc) lets one cryptogram settle once.
Existing rows keep NULL in both columns.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010_presence'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('medical_settlements') as batch:
        batch.add_column(sa.Column('presence_method', sa.String(length=8), nullable=True))
        batch.add_column(sa.Column('presence_atc', sa.Integer(), nullable=True))
    op.create_index('uq_medical_settlements_card_atc', 'medical_settlements', ['card_no', 'presence_atc'],
                    unique=True, postgresql_where=sa.text('presence_atc IS NOT NULL'),
                    sqlite_where=sa.text('presence_atc IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('uq_medical_settlements_card_atc', table_name='medical_settlements')
    with op.batch_alter_table('medical_settlements') as batch:
        batch.drop_column('presence_atc')
        batch.drop_column('presence_method')
