"""What a DBA with full rights could do to the audit trail, for the tests that check it is found."""

from __future__ import annotations

import sqlalchemy as sa


def bypass_guard(conn: sa.Connection, dialect: str) -> None:
    """Switch the append-only trigger of ``audit_records`` off (again, if it already is)."""
    if dialect == "postgresql":
        conn.exec_driver_sql("ALTER TABLE audit_records DISABLE TRIGGER audit_records_no_change")
    else:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_records_no_update")
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_records_no_delete")
