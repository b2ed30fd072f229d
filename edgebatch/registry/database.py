"""The index database behind a URL: SQLite in the registry root (one machine, the default) or
PostgreSQL (many machines). What differs between the two lives here and nowhere else:
connection setup and the locks that serialize writers.

Writers that must not interleave (the next version of a name, an alias, a run record, a
schema upgrade) each run in one transaction that takes a lock first: SQLite's database-wide
write lock (`BEGIN IMMEDIATE`), or on PostgreSQL an advisory lock on that key, held until
commit.
Connections are not pooled: each operation opens its own, so a registry stays usable after
fork (joblib and test workers) and a cluster job holds no server connection while it converts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import NullPool

from edgebatch.errors import RegistryError
from edgebatch.registry.lock import file_lock

INDEX_FILE = "index.sqlite"
BACKENDS = ("sqlite", "postgresql")
BUSY_TIMEOUT_S = 60.0  # how long a SQLite writer waits for the write lock
# PostgreSQL advisory locks are keyed (class, object); one class per kind of lock keeps
# the kinds apart.
_TRANSACTION_LOCK_CLASS = 1  # (class, hashtext(key)): held by one transaction until it ends
_REGISTRY_LOCK_CLASS = 2  # (class, 0): the registry-wide lock, held by a session
_WRITER = "edgebatch_writer"  # execution option: this SQLite transaction begins IMMEDIATE


def default_url(root: Path) -> str:
    return f"sqlite:///{Path(root) / INDEX_FILE}"


class Database:
    """An engine for the index at `url`; `lock_file` serves the registry lock on SQLite."""

    def __init__(self, url: str, *, lock_file: Path):
        try:
            self.url = make_url(url)
        except sa.exc.ArgumentError as e:
            raise RegistryError(f"bad registry URL {url!r}: {e}") from e
        self.display_url = self.url.render_as_string(hide_password=True)
        self.backend = self.url.get_backend_name()
        if self.backend not in BACKENDS:
            raise RegistryError(
                f"unsupported registry URL {self.display_url}: use sqlite:///PATH or "
                "postgresql://USER@HOST/DATABASE"
            )
        if self.backend == "sqlite" and self.url.database in (None, "", ":memory:"):
            raise RegistryError(f"registry URL {self.display_url} names no SQLite file")
        self._lock_file = lock_file
        connect_args = {"timeout": BUSY_TIMEOUT_S} if self.backend == "sqlite" else {}
        self.engine = sa.create_engine(self.url, poolclass=NullPool, connect_args=connect_args)
        if self.backend == "sqlite":
            sa.event.listen(self.engine, "connect", _configure_sqlite_connection)
            sa.event.listen(self.engine, "begin", _begin_sqlite_transaction)
        self._writer = self.engine.execution_options(**{_WRITER: True})

    def exists(self) -> bool:
        """False only for a SQLite file that is not there (connecting would create it);
        a server reports a missing database when connected to."""
        return self.backend != "sqlite" or Path(self.url.database).is_file()

    def prepare(self) -> None:
        """Set what must be set outside any transaction: SQLite's WAL mode, so readers
        never block writers. SQLite refuses that switch, without waiting, while another
        process has the file open; the registry lock keeps new openers out meanwhile."""
        if self.backend != "sqlite":
            return
        with self.registry_lock(exclusive=True), self._errors():
            connection = self.engine.raw_connection()
            try:
                cursor = connection.cursor()
                if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    cursor.execute("PRAGMA journal_mode = WAL")
            finally:
                connection.close()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for queries (its transaction is rolled back at the end)."""
        with self._errors(), self.engine.connect() as connection:
            yield connection

    @contextmanager
    def write(self, lock_key: str | None = None) -> Iterator[Connection]:
        """A transaction, committed at the end. With `lock_key`, writers with the same key
        run one at a time (on SQLite every writer does)."""
        with self._errors(), self._writer.begin() as connection:
            if lock_key is not None and self.backend == "postgresql":
                connection.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:lock_class, hashtext(:key))"),
                    {"lock_class": _TRANSACTION_LOCK_CLASS, "key": lock_key},
                )
            yield connection

    @contextmanager
    def registry_lock(self, *, exclusive: bool) -> Iterator[None]:
        """Puts hold it shared, verify and gc alone (see Registry). On PostgreSQL it is an
        advisory lock, so it spans every machine that writes to the registry; SQLite serves
        one machine, so a file lock does. A killed holder's lock is released either way."""
        if self.backend == "sqlite":
            with file_lock(self._lock_file, exclusive=exclusive):
                yield
            return
        function = "pg_advisory_lock" if exclusive else "pg_advisory_lock_shared"
        with self._errors(), self.engine.connect() as connection:
            connection.execute(
                sa.text(f"SELECT {function}(:lock_class, 0)"),
                {"lock_class": _REGISTRY_LOCK_CLASS},
            )
            connection.commit()  # the session keeps the lock until the connection closes
            yield

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sa.exc.SQLAlchemyError as e:
            cause = getattr(e, "orig", None) or e
            message = " ".join(str(cause).split())  # one line: servers answer in several
            raise RegistryError(f"registry index {self.display_url}: {message}") from e


def _configure_sqlite_connection(dbapi_connection, _connection_record) -> None:
    dbapi_connection.isolation_level = None  # transactions begin as _begin_sqlite_transaction says
    dbapi_connection.execute("PRAGMA foreign_keys = ON")
    dbapi_connection.execute("PRAGMA synchronous = FULL")


def _begin_sqlite_transaction(connection: Connection) -> None:
    # A writer takes the write lock before it reads (e.g. the latest version), so no two
    # writers act on the same snapshot.
    writer = connection.get_execution_options().get(_WRITER, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")
