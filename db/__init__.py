"""Database schema, migrations and demo seed data."""
