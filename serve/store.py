"""The database corrections are kept in: SQLite in the data directory, or PostgreSQL.

Both take the same statements, written with `?` placeholders, inside
transaction(), and the same migrations: a schema_version table holds how many of
the ordered list have been applied, and start-up applies the rest in one
transaction that no other process can enter at the same time (SQLite's write
lock, a PostgreSQL advisory lock), so two workers starting at once migrate once.

SQLite runs in WAL mode: readers and the writer never wait for each other, and a
writer waits (busy_timeout) for another process's write instead of failing.
Switching a new file to WAL needs the file alone, and SQLite does not wait for
that, so the switch is tried again until it is done or BUSY_SECONDS pass. Every
transaction that may write takes the write lock as it begins (BEGIN IMMEDIATE): one
that read first and then wanted to write could not wait for it, and would fail. A
transaction that only reads says so, and takes no lock: however many people ask
how many corrections there are, corrections are still kept. synchronous=FULL syncs
each commit to disk, so an acknowledged write outlives even a power cut.
"""

import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

MIGRATION_LOCK = 0x64696769  # any number of our own, the same in every process
BUSY_SECONDS = 10  # how long a write waits for another process's, or for a pooled connection


class Unavailable(Exception):
    """The database cannot be reached, or stayed busy too long: the service answers 503."""


class Sqlite:
    blob = "BLOB"

    def __init__(self, path: Path):
        self.path = path
        self.local = threading.local()  # a connection per thread: sqlite3's are not to be shared

    def connection(self) -> sqlite3.Connection:
        if not hasattr(self.local, "connection"):
            connection = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
            in_wal_mode(connection)
            connection.execute("PRAGMA synchronous=FULL")
            self.local.connection = connection
        return self.local.connection

    @contextmanager
    def transaction(self, lock: int | None = None, reading: bool = False):
        """Yields a function running one statement; commits at the end, rolls back on an
        error. BEGIN IMMEDIATE already makes every writing transaction run alone: `lock`
        is not needed. A `reading` one only reads, from the last commit before it."""
        try:
            with self.connection() as connection:
                connection.execute("BEGIN" if reading else "BEGIN IMMEDIATE")
                yield connection.execute
        except sqlite3.OperationalError as error:  # locked past the timeout, disk full, unreadable file
            raise Unavailable(f"The feedback database ({self.path}) is unavailable: {error}.") from None

    def close(self):
        if hasattr(self.local, "connection"):
            self.local.connection.close()
            del self.local.connection


def in_wal_mode(connection: sqlite3.Connection):
    """Switches the file to WAL (once for all: the mode is kept in the file). Another
    connection switching it or opening it at the same moment makes the switch fail at
    once, with an error or by answering the old mode, whatever busy_timeout says: it is
    tried again."""
    waited_until = time.monotonic() + BUSY_SECONDS
    while True:
        try:
            mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode == "wal":
                return
            refused = sqlite3.OperationalError(f"its journal stays in {mode} mode, not WAL")
        except sqlite3.OperationalError as error:
            refused = error
        if time.monotonic() > waited_until:
            raise refused
        time.sleep(0.01)


class Postgres:
    blob = "BYTEA"

    def __init__(self, url: str):
        """Connects once alone first: the pool would only say that it timed out, not why."""
        import psycopg
        from psycopg_pool import ConnectionPool  # only where DATABASE_URL is set

        try:
            psycopg.connect(url, connect_timeout=BUSY_SECONDS).close()
        except psycopg.Error as error:
            raise Unavailable(f"Cannot connect to the database of DATABASE_URL: {str(error).splitlines()[0]}") from None
        # A connection a database restart broke is found out and replaced before it is lent.
        self.pool = ConnectionPool(url, min_size=1, max_size=4, timeout=BUSY_SECONDS, open=False,
                                   check=ConnectionPool.check_connection)
        self.pool.open(wait=True, timeout=BUSY_SECONDS)

    @contextmanager
    def transaction(self, lock: int | None = None, reading: bool = False):
        """Yields a function running one statement; commits at the end, rolls back on an
        error. `lock` (a number) is held to the end: transactions holding the same one
        run one after another. Reading takes no lock here in any case."""
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            with self.pool.connection() as connection:
                if lock is not None:
                    connection.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))
                yield lambda statement, values=(): connection.execute(statement.replace("?", "%s"), values)
        except (psycopg.OperationalError, PoolTimeout) as error:
            raise Unavailable(f"The feedback database is unavailable: {error}") from None

    def close(self):
        self.pool.close()


def migrate(database: Sqlite | Postgres, migrations: list[tuple[str, ...]]):
    """Applies the migrations not yet applied, in order, in one transaction. Each is a
    tuple of statements, `{blob}` standing for the database's type of bytes."""
    with database.transaction(lock=MIGRATION_LOCK) as sql:
        sql("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = sql("SELECT version FROM schema_version").fetchone()
        if row is None:
            sql("INSERT INTO schema_version (version) VALUES (0)")
        applied = row[0] if row else 0
        if applied > len(migrations):
            raise Unavailable(f"The feedback database is at schema version {applied}, newer than this "
                              f"service's {len(migrations)}: run a newer version of the service.")
        for migration in migrations[applied:]:
            for statement in migration:
                sql(statement.format(blob=database.blob))
        sql("UPDATE schema_version SET version = ?", (len(migrations),))
