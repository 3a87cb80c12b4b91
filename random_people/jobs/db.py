"""Opening the job log: engine, SQLite tuning, and schema migrations on open.

Many processes write one SQLite file (workers, the app, the CLI), so SQLite runs in WAL mode with
a generous busy timeout: readers never block the writer and short write transactions queue up
instead of failing. Any other SQLAlchemy URL (PostgreSQL for a cluster) works unchanged.

Migrations run through Alembic whenever a database is opened: a new file gets the whole schema, an
older file is upgraded in place (batch mode keeps SQLite's data), and a file written by a *newer*
RANDOM People is refused rather than damaged. On SQLite a file lock makes sure only one process
migrates while others wait.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from random_people.jobs.errors import DatabaseError

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 60_000


@dataclass
class Database:
    """An engine plus its session factory; one per process and URL (see :func:`open_database`)."""

    url: str
    engine: Engine
    sessions: sessionmaker[Session]

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on any exception."""
        with self.sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001 - DBAPI objects
        # Let SQLAlchemy issue BEGIN itself (pysqlite's implicit transactions break BEGIN IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # noqa: ANN001
        # Take the write lock at the start of every transaction: read-then-write transactions
        # (claims, completions) then never fail half-way with "database is locked".
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextlib.contextmanager
def _migration_lock(sqlite_path: Path | None) -> Iterator[None]:
    if sqlite_path is None:
        yield
        return
    lock_path = sqlite_path.with_name(sqlite_path.name + ".migrate.lock")
    with open(lock_path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _alembic_config():
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def schema_revision(engine: Engine) -> str | None:
    """The Alembic revision the database is at (None for a new, empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade_schema(engine: Engine) -> None:
    """Bring the schema to the newest revision; refuse databases from a newer release."""
    from alembic import command
    from alembic.script import ScriptDirectory

    config = _alembic_config()
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    current = schema_revision(engine)
    if current == head:
        return
    known = {rev.revision for rev in script.walk_revisions()}
    if current is not None and current not in known:
        raise DatabaseError(
            f"The job log {engine.url.render_as_string(hide_password=True)} has schema revision {current}, "
            "made by a newer RANDOM People. Upgrade random-people, or point RP_DATABASE_URL at another database."
        )
    logger.info("Migrating the job log from %s to %s", current or "an empty database", head)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


_open: dict[str, Database] = {}


def open_database(url: str) -> Database:
    """The job log at ``url``, created or upgraded as needed (cached per process and URL)."""
    if url in _open:
        return _open[url]
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(f"{url!r} is not a database URL ({exc}); use e.g. sqlite:////path/jobs.sqlite.") from exc
    sqlite_path = _sqlite_path(url)
    if sqlite_path is not None:
        sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(parsed, future=True, pool_pre_ping=True)
    except (ImportError, SQLAlchemyError) as exc:
        raise DatabaseError(f"Cannot use the database {parsed.render_as_string(hide_password=True)}: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        _tune_sqlite(engine)
    try:
        with _migration_lock(sqlite_path):
            upgrade_schema(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = getattr(exc, "orig", None) or exc
        raise DatabaseError(
            f"Cannot open the job log {parsed.render_as_string(hide_password=True)}: {reason}. "
            "Check the path or URL (RP_DATABASE_URL / --database) and that the file is a RANDOM People job log."
        ) from exc
    database = Database(url=url, engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))
    _open[url] = database
    return database


def close_all() -> None:
    """Dispose every cached engine (tests, and before a process forks)."""
    for database in _open.values():
        database.dispose()
    _open.clear()
