"""Alembic migrations: the only way the schema is created, in production and in tests."""
