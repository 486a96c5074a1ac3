"""transition cards: no foreign key on import_id, an index of the exceptions only

Revision ID: 0018_transition_cards_import_fk
Revises: 0017_bulk_files
Create Date: 2026-12-06

The register of old cards (transition_cards) is written by one INSERT … SELECT of millions of rows in the
import's own transaction; the foreign key to transition_imports ran one trigger query per row (EXPLAIN ANALYZE,
300,000 cards: 2.1 s of 4.1 s). Its import is the row inserted just before in the same transaction, and an
import is never deleted; like person_id, import_id keeps no foreign key (docs/transition.md). The index on
(import_id, state) had an entry per card; the register is read whole per import (report, carry) or by card
number, and only the exceptions queue is looked up by import and line: a partial index of the exceptions.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018_transition_cards_import_fk'
down_revision: str | None = '0017_bulk_files'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('transition_cards', schema=None) as batch_op:
        batch_op.drop_constraint('fk_transition_cards_import_id_transition_imports', type_='foreignkey')
        batch_op.drop_index('ix_transition_cards_import_state')
        batch_op.create_index('ix_transition_cards_exceptions', ['import_id', 'line_no'], unique=False,
                              postgresql_where=sa.text("state = 'exception'"),
                              sqlite_where=sa.text("state = 'exception'"))


def downgrade() -> None:
    with op.batch_alter_table('transition_cards', schema=None) as batch_op:
        batch_op.drop_index('ix_transition_cards_exceptions')
        batch_op.create_index('ix_transition_cards_import_state', ['import_id', 'state'], unique=False)
        batch_op.create_foreign_key('fk_transition_cards_import_id_transition_imports', 'transition_imports',
                                    ['import_id'], ['id'])
