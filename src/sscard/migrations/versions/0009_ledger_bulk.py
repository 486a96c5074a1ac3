"""ledger bulk

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27

Two indexes of the transfer journal that every bulk-posted line paid for and nobody used (a month of
a million pay-outs is a million journal rows):

- ``uq_ledger_transfers_pending_id`` becomes a partial unique index ``WHERE pending_id IS NOT NULL``: the
  same rule (a pending transfer is resolved at most once; NULLs never collided), but the posted transfers —
  nearly all of them — no longer put a NULL entry in it. PostgreSQL only: on SQLite the UNIQUE is part of the
  table's definition and rebuilding the append-only journal for it is not worth the risk.
- ``ix_ledger_transfers_reference`` is dropped: no query looks transfers up by reference (history pages by
  account and ``seq``, look-ups go by ``id``).

The foreign keys, the CHECK constraints, the per-account ``seq`` indexes and the append-only trigger stay.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index('ix_ledger_transfers_reference', table_name='ledger_transfers')
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint('uq_ledger_transfers_pending_id', 'ledger_transfers', type_='unique')
        op.create_index('uq_ledger_transfers_pending_id', 'ledger_transfers', ['pending_id'], unique=True,
                        postgresql_where=sa.text('pending_id IS NOT NULL'))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index('uq_ledger_transfers_pending_id', table_name='ledger_transfers')
        op.create_unique_constraint('uq_ledger_transfers_pending_id', 'ledger_transfers', ['pending_id'])
    op.create_index('ix_ledger_transfers_reference', 'ledger_transfers', ['reference'], unique=False)
