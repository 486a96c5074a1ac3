"""employment and the card's debit application

Revision ID: 0012_employment
Revises: 0011_ecard
Create Date: 2026-12-02

The cash part of a settlement paid by card (docs/debit.md): the simulated bank's card book and its answered
authorisations (``simbank_card_links``, ``simbank_card_auths``: the bank's own state), the centre's record of a
settlement's card payment (``medical_card_payments``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sscard.db

revision: str = '0012_employment'
down_revision: str | None = '0012_transition'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('simbank_card_auths',
    sa.Column('bank_code', sa.String(length=10), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('pan', sa.String(length=19), nullable=False),
    sa.Column('atc', sa.Integer(), nullable=False),
    sa.Column('account_no', sa.String(length=32), nullable=False),
    sa.Column('merchant', sa.String(length=20), nullable=False),
    sa.Column('terminal_no', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('txn_date', sa.Date(), nullable=False),
    sa.Column('approved', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=30), nullable=True),
    sa.Column('arc', sa.String(length=2), nullable=False),
    sa.Column('arpc', sa.String(length=16), nullable=False),
    sa.Column('auth_code', sa.String(length=6), nullable=False),
    sa.Column('at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('bank_code', 'ref', name=op.f('pk_simbank_card_auths')),
    sa.UniqueConstraint('bank_code', 'pan', 'atc', name='uq_simbank_card_auths_pan_atc')
    )
    with op.batch_alter_table('simbank_card_auths', schema=None) as batch_op:
        batch_op.create_index('ix_simbank_card_auths_merchant_day', ['bank_code', 'merchant', 'txn_date'], unique=False)

    op.create_table('simbank_card_links',
    sa.Column('bank_code', sa.String(length=10), nullable=False),
    sa.Column('pan', sa.String(length=19), nullable=False),
    sa.Column('pan_sequence', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('account_no', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('bank_code', 'pan', name=op.f('pk_simbank_card_links'))
    )
    op.create_table('medical_card_payments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('setl_id', sa.String(length=32), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('bank_code', sa.String(length=10), nullable=False),
    sa.Column('bank_ref', sa.String(length=64), nullable=False),
    sa.Column('pan_masked', sa.String(length=19), nullable=False),
    sa.Column('atc', sa.Integer(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('auth_code', sa.String(length=6), nullable=False),
    sa.Column('txn_date', sa.Date(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_medical_card_payments_amount_positive')),
    sa.ForeignKeyConstraint(['institution_id'], ['medical_institutions.id'], name=op.f('fk_medical_card_payments_institution_id_medical_institutions')),
    sa.ForeignKeyConstraint(['setl_id'], ['medical_settlements.setl_id'], name=op.f('fk_medical_card_payments_setl_id_medical_settlements')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_medical_card_payments')),
    sa.UniqueConstraint('key', name=op.f('uq_medical_card_payments_key')),
    sa.UniqueConstraint('setl_id', name=op.f('uq_medical_card_payments_setl_id'))
    )
    with op.batch_alter_table('medical_card_payments', schema=None) as batch_op:
        batch_op.create_index('ix_medical_card_payments_recon', ['institution_id', 'bank_code', 'txn_date'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('medical_card_payments', schema=None) as batch_op:
        batch_op.drop_index('ix_medical_card_payments_recon')

    op.drop_table('medical_card_payments')
    op.drop_table('simbank_card_links')
    with op.batch_alter_table('simbank_card_auths', schema=None) as batch_op:
        batch_op.drop_index('ix_simbank_card_auths_merchant_day')

    op.drop_table('simbank_card_auths')
