"""The prediction log's database: typed ORM tables, engine and sessions, Alembic migrations."""
