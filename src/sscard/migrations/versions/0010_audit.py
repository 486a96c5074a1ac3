"""audit keyed chain

Revision ID: 0010_audit
Revises: 0010_auth
Create Date: 2026-12-02

The audit chain becomes keyed (HMAC-SHA256 under ``SSCARD_AUDIT_KEY_HEX``, which the database does not hold).
``audit_head`` gains ``keyed_from`` (the first keyed record) and ``seal`` (the key's MAC over ``keyed_from`` and
the legacy head the first keyed record links to).

Existing chains are not rewritten: their records stay SHA-256-chained, and the switch-over is sealed here at
one past the last record, over the current head. The audit key must therefore be set (as in production) before
this migration runs. A database with no audit record yet gets its head row, keyed from record 1, on the first
write.

Downgrading drops the switch-over: the keyed records written since would then fail an unkeyed check. Do not
downgrade past this revision on a database in use.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010_audit'
down_revision: str | None = '0010_auth'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('keyed_from', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                                      nullable=True))
        batch_op.add_column(sa.Column('seal', sa.String(length=64), nullable=True))
    bind = op.get_bind()
    head = bind.execute(sa.text("SELECT last_seq, last_hash FROM audit_head WHERE id = 1")).one_or_none()
    if head is not None:
        from sscard.audit.chain import key  # the running configuration's audit key

        keyed_from = int(head.last_seq) + 1
        seal = key().seal(keyed_from, str(head.last_hash))
        bind.execute(sa.text("UPDATE audit_head SET keyed_from = :k, seal = :s WHERE id = 1"),
                     {"k": keyed_from, "s": seal})


def downgrade() -> None:
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('seal')
        batch_op.drop_column('keyed_from')
