"""foundation schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-27

The schema of the foundation: persons, outlets, operators, tokens, policy parameters, fee rates and charges,
applications, cards, the audit log (append-only by trigger) and the default effective-dated policy values.
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sscard.db

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    op.create_table('audit_records',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=True),
    sa.Column('operator', sa.String(length=50), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('outlet', sa.String(length=20), nullable=True),
    sa.Column('action', sa.String(length=50), nullable=False),
    sa.Column('entity_type', sa.String(length=30), nullable=False),
    sa.Column('entity_id', sa.String(length=50), nullable=False),
    sa.Column('before', sa.Text(), nullable=True),
    sa.Column('after', sa.Text(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_records'))
    )
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_records_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_records_entity_id'), ['entity_id'], unique=False)

    op.create_table('card_numbers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('allocated_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_numbers'))
    )
    op.create_table('fee_rates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('business', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('basis', sa.String(length=200), nullable=True),
    sa.Column('created_by', sa.String(length=50), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fee_rates')),
    sa.UniqueConstraint('business', 'reason', 'effective_from', name='uq_fee_rate')
    )
    op.create_table('outlets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('bank_code', sa.String(length=10), nullable=True),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outlets')),
    sa.UniqueConstraint('code', name=op.f('uq_outlets_code'))
    )
    op.create_table('persons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('ethnicity', sa.String(length=2), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('living_status', sa.String(length=1), nullable=False),
    sa.Column('legacy_id_number', sa.String(length=15), nullable=True),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_persons')),
    sa.UniqueConstraint('id_number', name=op.f('uq_persons_id_number'))
    )
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_persons_region_code'), ['region_code'], unique=False)

    op.create_table('policy_parameters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=50), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_parameters')),
    sa.UniqueConstraint('name', 'effective_from', name='uq_policy_name_from')
    )
    with op.batch_alter_table('policy_parameters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policy_parameters_name'), ['name'], unique=False)

    op.create_table('applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('business', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('employer_uscc', sa.String(length=18), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('old_card_id', sa.Integer(), nullable=True),
    sa.Column('idempotency_key', sa.String(length=100), nullable=True),
    sa.Column('operator', sa.String(length=50), nullable=False),
    sa.Column('outlet', sa.String(length=20), nullable=True),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_applications_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_applications')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_applications_idempotency_key'))
    )
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_applications_old_card_id'), ['old_card_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ux_applications_person_open', ['person_id'], unique=True, sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))

    op.create_table('operators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=50), nullable=False),
    sa.Column('display_name', sa.String(length=50), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('outlet_id', sa.Integer(), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_operators_outlet_id_outlets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operators')),
    sa.UniqueConstraint('username', name=op.f('uq_operators_username'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('operator_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('revoked', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_api_tokens_operator_id_operators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_api_tokens_token_sha256'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_operator_id'), ['operator_id'], unique=False)

    op.create_table('cards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('card_no', sa.String(length=12), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('production_status', sa.String(length=2), nullable=False),
    sa.Column('app_status', sa.String(length=1), nullable=True),
    sa.Column('status_before_loss', sa.String(length=1), nullable=True),
    sa.Column('outlet_id', sa.Integer(), nullable=True),
    sa.Column('bank_code', sa.String(length=10), nullable=True),
    sa.Column('pin_hmac', sa.String(length=64), nullable=True),
    sa.Column('pin_failures', sa.Integer(), nullable=False),
    sa.Column('temp_loss_expires_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('formal_loss_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('issued_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('activated_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('cancelled_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=20), nullable=True),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_cards_application_id_applications')),
    sa.ForeignKeyConstraint(['outlet_id'], ['outlets.id'], name=op.f('fk_cards_outlet_id_outlets')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_cards_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cards')),
    sa.UniqueConstraint('application_id', name=op.f('uq_cards_application_id')),
    sa.UniqueConstraint('card_no', name=op.f('uq_cards_card_no'))
    )
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cards_person_id'), ['person_id'], unique=False)
        batch_op.create_index('ix_cards_temp_loss_due', ['temp_loss_expires_at'], unique=False)
        batch_op.create_index('ux_cards_person_valid', ['person_id'], unique=True, sqlite_where=sa.text("app_status IS NOT NULL AND app_status <> '9'"), postgresql_where=sa.text("app_status IS NOT NULL AND app_status <> '9'"))

    op.create_table('fee_charges',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('receipt_no', sa.String(length=30), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('business', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('fee_rate_id', sa.Integer(), nullable=False),
    sa.Column('charged_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('operator', sa.String(length=50), nullable=False),
    sa.Column('outlet', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_fee_charges_application_id_applications')),
    sa.ForeignKeyConstraint(['fee_rate_id'], ['fee_rates.id'], name=op.f('fk_fee_charges_fee_rate_id_fee_rates')),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_fee_charges_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fee_charges')),
    sa.UniqueConstraint('application_id', name=op.f('uq_fee_charges_application_id')),
    sa.UniqueConstraint('receipt_no', name=op.f('uq_fee_charges_receipt_no'))
    )
    with op.batch_alter_table('fee_charges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fee_charges_person_id'), ['person_id'], unique=False)

    bind = op.get_bind()
    if bind.dialect.name != "sqlite":  # SQLite cannot add a constraint to an existing table
        op.create_foreign_key("fk_applications_old_card_id_cards", "applications", "cards", ["old_card_id"], ["id"])
    _append_only_audit(bind.dialect.name)
    _seed_policy()


def _append_only_audit(dialect: str) -> None:
    """The audit table refuses UPDATE and DELETE at the database level, whoever connects."""
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_records is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_records_no_change BEFORE UPDATE OR DELETE ON audit_records "
            "FOR EACH ROW EXECUTE FUNCTION audit_records_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_records_no_{event.lower()} BEFORE {event} ON audit_records "
                "BEGIN SELECT RAISE(ABORT, 'audit_records is append-only'); END"
            )


def _seed_policy() -> None:
    """Default parameters in effect from the plan's start (2013-01-01); administrators add later rows."""
    start = dt.date(2013, 1, 1)
    now = sscard.db.utcnow()
    params = sa.table(
        "policy_parameters",
        sa.column("name", sa.String), sa.column("value", sa.String), sa.column("effective_from", sa.Date),
        sa.column("note", sa.String), sa.column("created_at", sscard.db.UtcDateTime),
        sa.column("created_by", sa.String),
    )
    op.bulk_insert(params, [
        {"name": n, "value": v, "effective_from": start, "note": note, "created_at": now, "created_by": "migration"}
        for n, v, note in (
            ("card.temp_loss_days", "15", "韶关市办法 15 日挂失期; 清远未公布, 可调整"),
            ("card.pin_max_tries", "6", "社保密码连续错误 6 次锁定"),
            ("card.validity_years", "10", "社会保障卡有效期 10 年"),
            ("auth.max_failed_logins", "5", "操作员登录失败 5 次锁定"),
        )
    ])
    rates = sa.table(
        "fee_rates",
        sa.column("business", sa.String), sa.column("reason", sa.String), sa.column("amount_fen", sa.Integer),
        sa.column("effective_from", sa.Date), sa.column("basis", sa.String),
        sa.column("created_by", sa.String), sa.column("created_at", sscard.db.UtcDateTime),
    )
    basis = "粤劳社〔2003〕169号: 补换卡工本费 20 元/张; 首次领卡免费; 质保换卡免费"
    op.bulk_insert(rates, [
        {"business": b, "reason": r, "amount_fen": fen, "effective_from": start, "basis": basis,
         "created_by": "migration", "created_at": now}
        for b, r, fen in (
            ("new", "", 0),
            ("replacement", "", 2000),
            ("exchange", "damaged", 2000),
            ("exchange", "expired", 0),
            ("exchange", "data_changed", 0),
            ("exchange", "quality", 0),
        )
    ])


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_records_no_change ON audit_records")
        op.execute("DROP FUNCTION IF EXISTS audit_records_append_only()")
        op.drop_constraint("fk_applications_old_card_id_cards", "applications", type_="foreignkey")
    with op.batch_alter_table('fee_charges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fee_charges_person_id'))

    op.drop_table('fee_charges')
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.drop_index('ux_cards_person_valid', sqlite_where=sa.text("app_status IS NOT NULL AND app_status <> '9'"), postgresql_where=sa.text("app_status IS NOT NULL AND app_status <> '9'"))
        batch_op.drop_index('ix_cards_temp_loss_due')
        batch_op.drop_index(batch_op.f('ix_cards_person_id'))

    op.drop_table('cards')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_operator_id'))

    op.drop_table('api_tokens')
    op.drop_table('operators')
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index('ux_applications_person_open', sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
        batch_op.drop_index(batch_op.f('ix_applications_person_id'))
        batch_op.drop_index(batch_op.f('ix_applications_old_card_id'))

    op.drop_table('applications')
    with op.batch_alter_table('policy_parameters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policy_parameters_name'))

    op.drop_table('policy_parameters')
    with op.batch_alter_table('persons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_persons_region_code'))

    op.drop_table('persons')
    op.drop_table('outlets')
    op.drop_table('fee_rates')
    op.drop_table('card_numbers')
    with op.batch_alter_table('audit_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_records_entity_id'))
        batch_op.drop_index(batch_op.f('ix_audit_records_action'))

    op.drop_table('audit_records')
    op.drop_table('audit_head')
