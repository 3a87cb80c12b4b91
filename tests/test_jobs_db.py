"""Opening the job log: migrations on new and existing files, concurrent openers, bad databases."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest
from sqlalchemy import inspect, text

from random_people.jobs.db import close_all, open_database, schema_revision, upgrade_schema
from random_people.jobs.errors import DatabaseError
from random_people.jobs.models import Base

TABLES = {"jobs", "tasks", "clips", "motions", "identities", "backgrounds", "outputs", "events", "alembic_version"}


def test_new_database_gets_the_whole_schema_in_wal_mode(tmp_path):
    db = open_database(f"sqlite:///{tmp_path / 'new' / 'log.sqlite'}")
    assert set(inspect(db.engine).get_table_names()) == TABLES
    assert schema_revision(db.engine) == "0003"
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    # The migration produces exactly the tables the models describe (no drift between the two).
    for table in Base.metadata.sorted_tables:
        columns = {c["name"] for c in inspect(db.engine).get_columns(table.name)}
        assert columns == {c.name for c in table.columns}, table.name
    close_all()


def test_existing_file_keeps_its_data_when_opened_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'log.sqlite'}"
    db = open_database(url)
    with db.session() as session:
        session.execute(text("INSERT INTO backgrounds (name, kind) VALUES ('park', 'image')"))
    close_all()
    again = open_database(url)
    upgrade_schema(again.engine)  # idempotent at head
    with again.session() as session:
        assert session.execute(text("SELECT kind FROM backgrounds WHERE name='park'")).scalar() == "image"
    close_all()


def test_a_database_from_a_newer_release_is_refused_not_damaged(tmp_path):
    path = tmp_path / "log.sqlite"
    open_database(f"sqlite:///{path}")
    close_all()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(DatabaseError, match="newer RANDOM People"):
        open_database(f"sqlite:///{path}")
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == ("9999",)


def test_not_a_database_and_bad_urls_give_clear_errors(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseError, match="Cannot open the job log"):
        open_database(f"sqlite:///{junk}")
    with pytest.raises(DatabaseError, match="not a database URL"):
        open_database("this is not a url")


def _open(url: str, results) -> None:
    from random_people.jobs.db import open_database as open_db

    try:
        open_db(url)
        results.put("ok")
    except Exception as exc:  # noqa: BLE001 - reported to the test
        results.put(repr(exc))


def test_processes_opening_a_new_database_at_once_all_succeed(tmp_path):
    url = f"sqlite:///{tmp_path / 'race.sqlite'}"
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [context.Process(target=_open, args=(url, results)) for _ in range(4)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    assert outcomes == ["ok"] * 4
