"""health index

Revision ID: 0011_health
Revises: 0010_history
Create Date: 2026-12-02

The residents' health-information index: pseudonymous patients, encounter and document entries, consent grants
(unique card cryptogram), opt-ins, the read log the holder sees, and the effective-dated list of sensitive
categories (append-only, seeded: mental health F00–F99, HIV B20–B24 and Z21, sexually transmitted infections
A50–A64). Parameters: grants last 240 minutes, break-the-glass 60, statistics publish cells of 5 or more.
"""

import datetime as dt
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import sscard.db

revision: str = '0011_health'
down_revision: str | None = '0010_history'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARAMETERS = (
    ("health.grant_minutes", "240", "持卡人授权查阅健康索引 4 小时内有效"),
    ("health.emergency_minutes", "60", "紧急查阅授权 1 小时内有效"),
    ("health.stats_min_cell", "5", "健康统计单元格少于 5 人次不公布"),
)
CATEGORIES = [
    {"name": "mental_health", "label_zh": "精神和行为障碍", "label_en": "Mental and behavioural disorders",
     "ranges": [["F00", "F99"]]},
    {"name": "hiv", "label_zh": "艾滋病病毒感染", "label_en": "HIV disease and infection",
     "ranges": [["B20", "B24"], ["Z21", "Z21"]]},
    {"name": "sexually_transmitted", "label_zh": "性传播疾病", "label_en": "Sexually transmitted infections",
     "ranges": [["A50", "A64"]]},
]


def upgrade() -> None:
    op.create_table('health_patients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('pseudonym', sa.String(length=32), nullable=False),
    sa.Column('division', sa.String(length=6), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_health_patients_person_id_persons')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_health_patients')),
    sa.UniqueConstraint('person_id', name=op.f('uq_health_patients_person_id')),
    sa.UniqueConstraint('pseudonym', name=op.f('uq_health_patients_pseudonym'))
    )
    op.create_table('health_encounters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('institution_code', sa.String(length=20), nullable=False),
    sa.Column('source_system', sa.String(length=200), nullable=False),
    sa.Column('source_value', sa.String(length=64), nullable=False),
    sa.Column('encounter_date', sa.Date(), nullable=False),
    sa.Column('encounter_type', sa.String(length=12), nullable=False),
    sa.Column('department', sa.String(length=50), nullable=False),
    sa.Column('diagnosis_code', sa.String(length=8), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('resource', sa.Text(), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['health_patients.id'],
                            name=op.f('fk_health_encounters_patient_id_health_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_health_encounters')),
    sa.UniqueConstraint('institution_code', 'source_system', 'source_value',
                        name=op.f('uq_health_encounters_institution_code')),
    sa.UniqueConstraint('resource_id', name=op.f('uq_health_encounters_resource_id'))
    )
    op.create_index('ix_health_encounters_patient_date', 'health_encounters', ['patient_id', 'encounter_date'])
    op.create_table('health_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.String(length=64), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('encounter_id', sa.Integer(), nullable=False),
    sa.Column('institution_code', sa.String(length=20), nullable=False),
    sa.Column('source_system', sa.String(length=200), nullable=False),
    sa.Column('source_value', sa.String(length=64), nullable=False),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('resource', sa.Text(), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['encounter_id'], ['health_encounters.id'],
                            name=op.f('fk_health_documents_encounter_id_health_encounters')),
    sa.ForeignKeyConstraint(['patient_id'], ['health_patients.id'],
                            name=op.f('fk_health_documents_patient_id_health_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_health_documents')),
    sa.UniqueConstraint('institution_code', 'source_system', 'source_value',
                        name=op.f('uq_health_documents_institution_code')),
    sa.UniqueConstraint('resource_id', name=op.f('uq_health_documents_resource_id'))
    )
    op.create_index(op.f('ix_health_documents_patient_id'), 'health_documents', ['patient_id'])
    op.create_index(op.f('ix_health_documents_encounter_id'), 'health_documents', ['encounter_id'])
    op.create_table('health_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.String(length=32), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('institution_code', sa.String(length=20), nullable=False),
    sa.Column('operator', sa.String(length=40), nullable=False),
    sa.Column('method', sa.String(length=12), nullable=False),
    sa.Column('purpose', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('card_no', sa.String(length=20), nullable=True),
    sa.Column('presence_atc', sa.Integer(), nullable=True),
    sa.Column('granted_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('needs_review', sa.Boolean(), nullable=False),
    sa.Column('reviewed_by', sa.String(length=100), nullable=True),
    sa.Column('reviewed_at', sscard.db.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['patient_id'], ['health_patients.id'],
                            name=op.f('fk_health_grants_patient_id_health_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_health_grants')),
    sa.UniqueConstraint('card_no', 'presence_atc', name=op.f('uq_health_grants_card_no')),
    sa.UniqueConstraint('grant_id', name=op.f('uq_health_grants_grant_id'))
    )
    op.create_index(op.f('ix_health_grants_patient_id'), 'health_grants', ['patient_id'])
    op.create_table('health_opt_ins',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('opted_in_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['persons.id'], name=op.f('fk_health_opt_ins_person_id_persons')),
    sa.PrimaryKeyConstraint('person_id', 'category', name=op.f('pk_health_opt_ins'))
    )
    op.create_table('health_reads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('institution_code', sa.String(length=20), nullable=False),
    sa.Column('operator', sa.String(length=40), nullable=False),
    sa.Column('purpose', sa.String(length=12), nullable=False),
    sa.Column('resource_type', sa.String(length=30), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['grant_id'], ['health_grants.id'], name=op.f('fk_health_reads_grant_id_health_grants')),
    sa.ForeignKeyConstraint(['patient_id'], ['health_patients.id'],
                            name=op.f('fk_health_reads_patient_id_health_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_health_reads'))
    )
    op.create_index(op.f('ix_health_reads_patient_id'), 'health_reads', ['patient_id'])
    op.create_table('health_sensitive_policies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('categories', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sscard.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_health_sensitive_policies')),
    sa.UniqueConstraint('effective_from', 'version', name=op.f('uq_health_sensitive_policies_effective_from'))
    )
    _append_only(op.get_bind().dialect.name)
    _seed()


def _append_only(dialect: str) -> None:
    """The list in effect on a day stays what it was: rows are only ever added (as policy_parameters)."""
    if dialect == "postgresql":
        op.execute("CREATE TRIGGER health_sensitive_policies_no_change BEFORE UPDATE OR DELETE ON "
                   "health_sensitive_policies FOR EACH ROW EXECUTE FUNCTION dated_history_append_only()")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER health_sensitive_policies_no_{event.lower()} BEFORE {event} ON "
                       "health_sensitive_policies BEGIN SELECT RAISE(ABORT, 'health_sensitive_policies is "
                       "append-only'); END")


def _seed() -> None:
    params = sa.table(
        "policy_parameters",
        sa.column("name", sa.String), sa.column("value", sa.String), sa.column("effective_from", sa.Date),
        sa.column("note", sa.String), sa.column("created_at", sscard.db.UtcDateTime),
        sa.column("created_by", sa.String), sa.column("version", sa.Integer),
    )
    op.bulk_insert(params, [{"name": n, "value": v, "effective_from": dt.date(2013, 1, 1), "note": note,
                             "created_at": sscard.db.utcnow(), "created_by": "migration", "version": 1}
                            for n, v, note in PARAMETERS])
    lists = sa.table(
        "health_sensitive_policies",
        sa.column("effective_from", sa.Date), sa.column("version", sa.Integer), sa.column("categories", sa.Text),
        sa.column("created_by", sa.String), sa.column("created_at", sscard.db.UtcDateTime),
    )
    op.bulk_insert(lists, [{"effective_from": dt.date(2013, 1, 1), "version": 1,
                            "categories": json.dumps(CATEGORIES, ensure_ascii=False, separators=(",", ":")),
                            "created_by": "migration", "created_at": sscard.db.utcnow()}])


def downgrade() -> None:
    # policy_parameters is append-only (0010_history): its trigger is lifted for this one delete and put back.
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("ALTER TABLE policy_parameters DISABLE TRIGGER policy_parameters_no_change")
        op.execute("DELETE FROM policy_parameters WHERE name LIKE 'health.%'")
        op.execute("ALTER TABLE policy_parameters ENABLE TRIGGER policy_parameters_no_change")
    else:
        op.execute("DROP TRIGGER IF EXISTS policy_parameters_no_delete")
        op.execute("DELETE FROM policy_parameters WHERE name LIKE 'health.%'")
        op.execute("CREATE TRIGGER policy_parameters_no_delete BEFORE DELETE ON policy_parameters "
                   "BEGIN SELECT RAISE(ABORT, 'policy_parameters is append-only'); END")
    for table in ('health_reads', 'health_opt_ins', 'health_grants', 'health_documents', 'health_encounters',
                  'health_patients', 'health_sensitive_policies'):
        op.drop_table(table)
