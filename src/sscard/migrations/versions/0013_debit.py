"""debit

Revision ID: 0013_debit
Revises: 0013_jobs
Create Date: 2026-12-03

Refunds of card purchases whose settlement was reversed (docs/debit.md): the simulated issuing bank's refunds
(``simbank_card_refunds``, one per purchase) and the centre's record of each refund due or made
(``medical_card_refunds``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sscard.db

revision: str = '0013_debit'
down_revision: str | None = '0013_jobs'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('simbank_card_refunds',
    sa.Column('bank_code', sa.String(length=10), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('original_ref', sa.String(length=64), nullable=False),
    sa.Column('account_no', sa.String(length=32), nullable=False),
    sa.Column('merchant', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('refunded_on', sa.Date(), nullable=False),
    sa.Column('at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('bank_code', 'ref', name=op.f('pk_simbank_card_refunds')),
    sa.UniqueConstraint('bank_code', 'original_ref', name='uq_simbank_card_refunds_original')
    )
    op.create_table('medical_card_refunds',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('card_payment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('setl_id', sa.String(length=32), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('reversal_msg_id', sa.String(length=64), nullable=False),
    sa.Column('refunded_on', sa.Date(), nullable=True),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_medical_card_refunds_amount_positive')),
    sa.CheckConstraint("status IN ('due', 'refunded')", name=op.f('ck_medical_card_refunds_status_known')),
    sa.ForeignKeyConstraint(['card_payment_id'], ['medical_card_payments.id'],
                            name=op.f('fk_medical_card_refunds_card_payment_id_medical_card_payments')),
    sa.ForeignKeyConstraint(['setl_id'], ['medical_settlements.setl_id'],
                            name=op.f('fk_medical_card_refunds_setl_id_medical_settlements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_medical_card_refunds')),
    sa.UniqueConstraint('card_payment_id', name=op.f('uq_medical_card_refunds_card_payment_id')),
    sa.UniqueConstraint('ref', name=op.f('uq_medical_card_refunds_ref')),
    sa.UniqueConstraint('setl_id', name=op.f('uq_medical_card_refunds_setl_id'))
    )


def downgrade() -> None:
    op.drop_table('medical_card_refunds')
    op.drop_table('simbank_card_refunds')
