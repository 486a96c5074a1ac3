"""exchange

Revision ID: 0014_exchange
Revises: 0013_debit
Create Date: 2026-12-04

Data sharing with other departments (docs/exchange.md): the catalogue of shareable items (seeded here, rows
an administrator may extend), departments and their sealed keys, agreements (maker-checker as a CHECK) with
their items and modes, the nonces of the signature window, daily use, the access log the holder sees, and the
outbox of subscribed events.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sscard.db

revision: str = '0014_exchange'
down_revision: str | None = '0013_debit'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('exchange_departments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('endpoint', sa.String(length=300), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_by', sa.String(length=50), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('active', 'suspended')", name=op.f('ck_exchange_departments_status_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_departments')),
    sa.UniqueConstraint('code', name=op.f('uq_exchange_departments_code'))
    )
    op.create_table('exchange_items',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name_zh', sa.String(length=60), nullable=False),
    sa.Column('name_en', sa.String(length=80), nullable=False),
    sa.Column('sharing_class', sa.String(length=16), nullable=False),
    sa.Column('sensitivity', sa.SmallInteger(), nullable=False),
    sa.Column('modes', sa.String(length=60), nullable=False),
    sa.Column('fields', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.CheckConstraint("sharing_class <> 'none' OR modes = ''", name=op.f('ck_exchange_items_none_has_no_modes')),
    sa.CheckConstraint("sharing_class IN ('unconditional', 'conditional', 'none')", name=op.f('ck_exchange_items_sharing_class_known')),
    sa.CheckConstraint('sensitivity BETWEEN 1 AND 4', name=op.f('ck_exchange_items_sensitivity_range')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_exchange_items'))
    )
    op.create_table('exchange_nonces',
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('ts', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('key_id', 'nonce', name=op.f('pk_exchange_nonces'))
    )
    with op.batch_alter_table('exchange_nonces', schema=None) as batch_op:
        batch_op.create_index('ix_exchange_nonces_ts', ['ts'], unique=False)

    op.create_table('exchange_agreements',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('agreement_no', sa.String(length=30), nullable=False),
    sa.Column('department_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('purpose', sa.String(length=200), nullable=False),
    sa.Column('legal_basis', sa.String(length=200), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('daily_quota', sa.Integer(), nullable=False),
    sa.Column('masking', sa.String(length=6), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('requested_by', sa.String(length=50), nullable=False),
    sa.Column('requested_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('approved_by', sa.String(length=50), nullable=True),
    sa.Column('approved_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.String(length=50), nullable=True),
    sa.Column('revoked_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.CheckConstraint("masking IN ('masked', 'clear')", name=op.f('ck_exchange_agreements_masking_known')),
    sa.CheckConstraint("status IN ('requested', 'approved', 'rejected', 'revoked')", name=op.f('ck_exchange_agreements_status_known')),
    sa.CheckConstraint("status NOT IN ('approved', 'revoked') OR approved_by IS NOT NULL", name=op.f('ck_exchange_agreements_approved_checked')),
    sa.CheckConstraint('approved_by IS NULL OR approved_by <> requested_by', name=op.f('ck_exchange_agreements_maker_is_not_checker')),
    sa.CheckConstraint('daily_quota > 0', name=op.f('ck_exchange_agreements_quota_positive')),
    sa.CheckConstraint('valid_until >= valid_from', name=op.f('ck_exchange_agreements_period_ordered')),
    sa.ForeignKeyConstraint(['department_id'], ['exchange_departments.id'], name=op.f('fk_exchange_agreements_department_id_exchange_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_agreements')),
    sa.UniqueConstraint('agreement_no', name=op.f('uq_exchange_agreements_agreement_no'))
    )
    with op.batch_alter_table('exchange_agreements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exchange_agreements_department_id'), ['department_id'], unique=False)

    op.create_table('exchange_keys',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('department_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('secret_sealed', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_by', sa.String(length=50), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('active', 'revoked')", name=op.f('ck_exchange_keys_status_known')),
    sa.ForeignKeyConstraint(['department_id'], ['exchange_departments.id'], name=op.f('fk_exchange_keys_department_id_exchange_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_keys')),
    sa.UniqueConstraint('key_id', name=op.f('uq_exchange_keys_key_id'))
    )
    with op.batch_alter_table('exchange_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exchange_keys_department_id'), ['department_id'], unique=False)

    op.create_table('exchange_accesses',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('department_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('agreement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_code', sa.String(length=40), nullable=False),
    sa.Column('mode', sa.String(length=12), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('outcome', sa.String(length=30), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['exchange_agreements.id'], name=op.f('fk_exchange_accesses_agreement_id_exchange_agreements')),
    sa.ForeignKeyConstraint(['department_id'], ['exchange_departments.id'], name=op.f('fk_exchange_accesses_department_id_exchange_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_accesses'))
    )
    with op.batch_alter_table('exchange_accesses', schema=None) as batch_op:
        batch_op.create_index('ix_exchange_accesses_dept_at', ['department_id', 'at'], unique=False)
        batch_op.create_index('ix_exchange_accesses_person', ['person_id', 'at'], unique=False)

    op.create_table('exchange_agreement_items',
    sa.Column('agreement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_code', sa.String(length=40), nullable=False),
    sa.Column('mode', sa.String(length=12), nullable=False),
    sa.CheckConstraint("mode IN ('verification', 'query', 'bulk', 'subscription')", name=op.f('ck_exchange_agreement_items_mode_known')),
    sa.ForeignKeyConstraint(['agreement_id'], ['exchange_agreements.id'], name=op.f('fk_exchange_agreement_items_agreement_id_exchange_agreements')),
    sa.ForeignKeyConstraint(['item_code'], ['exchange_items.code'], name=op.f('fk_exchange_agreement_items_item_code_exchange_items')),
    sa.PrimaryKeyConstraint('agreement_id', 'item_code', 'mode', name=op.f('pk_exchange_agreement_items'))
    )
    op.create_table('exchange_outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('event_id', sa.String(length=40), nullable=False),
    sa.Column('department_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('agreement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_code', sa.String(length=40), nullable=False),
    sa.Column('person_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'delivered', 'withdrawn')", name=op.f('ck_exchange_outbox_status_known')),
    sa.ForeignKeyConstraint(['agreement_id'], ['exchange_agreements.id'], name=op.f('fk_exchange_outbox_agreement_id_exchange_agreements')),
    sa.ForeignKeyConstraint(['department_id'], ['exchange_departments.id'], name=op.f('fk_exchange_outbox_department_id_exchange_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_outbox')),
    sa.UniqueConstraint('event_id', name=op.f('uq_exchange_outbox_event_id'))
    )
    with op.batch_alter_table('exchange_outbox', schema=None) as batch_op:
        batch_op.create_index('ix_exchange_outbox_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_outbox_person_id'), ['person_id'], unique=False)

    op.create_table('exchange_usage',
    sa.Column('agreement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.CheckConstraint('used >= 0', name=op.f('ck_exchange_usage_used_positive')),
    sa.ForeignKeyConstraint(['agreement_id'], ['exchange_agreements.id'], name=op.f('fk_exchange_usage_agreement_id_exchange_agreements')),
    sa.PrimaryKeyConstraint('agreement_id', 'day', name=op.f('pk_exchange_usage'))
    )
    _seed_catalogue()


def downgrade() -> None:
    op.drop_table('exchange_usage')
    with op.batch_alter_table('exchange_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exchange_outbox_person_id'))
        batch_op.drop_index('ix_exchange_outbox_due')

    op.drop_table('exchange_outbox')
    op.drop_table('exchange_agreement_items')
    with op.batch_alter_table('exchange_accesses', schema=None) as batch_op:
        batch_op.drop_index('ix_exchange_accesses_person')
        batch_op.drop_index('ix_exchange_accesses_dept_at')

    op.drop_table('exchange_accesses')
    with op.batch_alter_table('exchange_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exchange_keys_department_id'))

    op.drop_table('exchange_keys')
    with op.batch_alter_table('exchange_agreements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exchange_agreements_department_id'))

    op.drop_table('exchange_agreements')
    with op.batch_alter_table('exchange_nonces', schema=None) as batch_op:
        batch_op.drop_index('ix_exchange_nonces_ts')

    op.drop_table('exchange_nonces')
    op.drop_table('exchange_items')
    op.drop_table('exchange_departments')


# code, 中文名, English name, sharing class, sensitivity (1-4), modes, query fields, description
CATALOGUE = [
    ("card_status", "社会保障卡状态", "Social security card status", "conditional", 2,
     "verification,query,bulk,subscription", "card_no,card_status,issued_on",
     "Whether an ID number and name hold a card in normal use (正常); its status; status changes as events."),
    ("participation_status", "参保状态（按险种）", "Insurance participation per type", "conditional", 2,
     "verification,query", "schemes",
     "The insurance schemes a person is enrolled in this month (pension, medical, unemployment)."),
    ("pension_receipt", "养老金领取状态", "Pension receipt", "conditional", 3, "verification,query",
     "receiving,since_period",
     "Whether a person receives a pension (an active pension entitlement) and since which month."),
    ("person_basic", "人员基本信息", "Person basic data", "conditional", 3, "verification,query",
     "name,sex,birth_date,region_code,living_status",
     "Name, sex, birth date, division of residence and living status of a registered person."),
    ("health_encounter_stats", "健康档案索引统计（去标识）", "Health-index statistics (de-identified)",
     "unconditional", 1, "query", "division,month,encounter_type,count",
     "Encounters by division, month and type; cells below health.stats_min_cell suppressed; no person data."),
    ("medical_account_balance", "个人医疗账户余额", "Personal medical account balance", "none", 4, "", "",
     "Not shared: the holder's money is not another department's business."),
    ("bank_account", "社保卡银行账户", "The card's bank account", "none", 4, "", "",
     "Not shared: bank account numbers stay between the bureau, the bank and the holder."),
]


def _seed_catalogue() -> None:
    items = sa.table("exchange_items", sa.column("code", sa.String), sa.column("name_zh", sa.String),
                     sa.column("name_en", sa.String), sa.column("sharing_class", sa.String),
                     sa.column("sensitivity", sa.SmallInteger), sa.column("modes", sa.String),
                     sa.column("fields", sa.String), sa.column("description", sa.Text))
    op.bulk_insert(items, [dict(zip(("code", "name_zh", "name_en", "sharing_class", "sensitivity", "modes", "fields",
                                     "description"), row, strict=True)) for row in CATALOGUE])
