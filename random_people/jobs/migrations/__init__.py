"""Alembic migrations of the job log; applied automatically by ``random_people.jobs.db.open_database``."""
