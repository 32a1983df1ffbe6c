"""Engines and sessions. The unit of work is the request or the job: the edge commits.

SQLite runs in WAL mode with a process-wide write lock, so concurrent writers queue in Python
instead of busy-waiting inside SQLite (which sleeps up to 100 ms per retry). A serving process
copies the write-ahead log back into the database file in a background thread (`Checkpointer`)
rather than in whichever commit happens to fill it.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.db.bulk import PREPARED_WRITES
from app.encoding import dumps

log = logging.getLogger(__name__)


# How long an SQLite connection waits for another's write to end before it gives up.
_BUSY_TIMEOUT_MS = 30_000


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    autocheckpoint: bool = True,
    pre_ping: bool = True,
    autocommit: bool = False,
    prepared_writes: bool = True,
) -> Engine:
    """Create an engine for SQLite (WAL, foreign keys on) or PostgreSQL (psycopg 3).

    With `autocheckpoint=False`, SQLite commits never checkpoint the write-ahead log
    themselves; something else must (`Checkpointer`), or the log grows without bound. With
    `pre_ping=False`, a PostgreSQL connection is not tested each time it is taken from the
    pool: a lost one is noticed by the first statement that fails on it. With `autocommit`,
    a PostgreSQL connection commits each statement alone unless a BEGIN opened a transaction
    (see `Database.writer_connection`). With `prepared_writes`, a PostgreSQL connection's
    driver-level inserts are prepared on the server (`bulk.PREPARED_WRITES`).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            # Errors and logs never show a statement's values: they hold CPR numbers and names.
            hide_parameters=True,
            json_serializer=dumps,
            json_deserializer=orjson.loads,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            if not autocheckpoint:
                cursor.execute("PRAGMA wal_autocheckpoint=0")
            cursor.close()

        return engine
    engine = create_engine(
        url,
        # psycopg prepares a statement on the server once it has run five times, and
        # PostgreSQL may then keep one generic plan for it for the connection's life. A plan
        # made while `claim` was small (a seq scan) stayed while the table grew: in the intake
        # benchmark the look-up of 500 references went from 2 ms to 480 ms. Unprepared, every
        # statement is planned for its own values and the table's current size. (Forcing
        # custom plans for the whole session, as kravbro did before, also re-planned each
        # foreign-key check of every inserted row: 19 ms of a 1,000-claim message.) Only
        # intake's own inserts are prepared, by `bulk` itself, with `prepared_writes`: an
        # insert's plan does not depend on any table's size.
        connect_args={"prepare_threshold": None},
        hide_parameters=True,
        json_serializer=dumps,
        json_deserializer=orjson.loads,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=pre_ping,
        isolation_level="AUTOCOMMIT" if autocommit else None,
    )

    @event.listens_for(engine, "connect")
    def _writes(_dbapi_connection: Any, record: Any) -> None:
        record.info[PREPARED_WRITES] = prepared_writes

    return engine


_SQLITE_WRITE_LOCK = threading.Lock()


@contextlib.contextmanager
def write_lock(engine: Engine) -> Iterator[None]:
    """Serialise writers on SQLite (one writer at a time anyway); no-op on PostgreSQL."""
    if engine.dialect.name == "sqlite":
        with _SQLITE_WRITE_LOCK:
            yield
    else:
        yield


class Checkpointer:
    """Checkpoints an SQLite database's write-ahead log from a thread of its own.

    By default SQLite checkpoints inside the commit that takes the log past 1,000 pages: that
    commit copies the pages into the database file and waits for the disk, and on the
    service's two benchmark cores it took 17–20 ms where a commit otherwise takes under 2 — one
    request in about 55 single-claim messages, the whole p99. Here the commits only append to
    the log, and this thread runs a PASSIVE checkpoint (which takes no lock and blocks no
    reader or writer) every `interval` seconds; with nothing new in the log it does nothing.
    """

    def __init__(self, path: str, *, interval: float = 0.5) -> None:
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="sqlite-checkpointer", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread after a last checkpoint."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def checkpoint(self) -> tuple[int, int]:
        """Checkpoint now; return the log's frames and how many of them are in the file."""
        connection = sqlite3.connect(self.path, timeout=30)
        try:
            _busy, frames, done = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            connection.close()
        return int(frames), int(done)

    def _run(self) -> None:
        while True:
            stopping = self._stop.wait(self.interval)
            try:
                self.checkpoint()
            except sqlite3.Error as error:  # the next round tries again
                log.warning("WAL checkpoint failed: %s", error)
            if stopping:
                return


# The SQLite intake writer's page cache (SQLite's default is 2 MiB). A 1,000-claim message
# adds a row to the claim table and an entry to each of its ten indexes per claim, at places
# spread over the whole index; with the default cache those pages were read again from the
# file for every message once the tables outgrew it. Measured in process (1,000-claim KSD
# messages into a table of 20,000 claims): inserting the claims 12.2 -> 10.4 ms, their events
# 3.0 -> 2.5 ms. Only the writer's connection gets it: SQLite allocates the pages as it uses
# them, so this is an upper bound on what the one writer keeps, not memory taken up front.
WRITER_CACHE_KIB = 64 * 1024


class WriterBusy(Exception):
    """The intake writer's connection, or SQLite's write lock, is taken (no waiting asked)."""


def _grow_cache(connection: Connection) -> None:
    driver = connection.connection.driver_connection
    # On the driver: SQLAlchemy would begin a transaction around the statement.
    driver.execute(f"PRAGMA cache_size=-{WRITER_CACHE_KIB}")  # type: ignore[union-attr]


class Database:
    """An engine and its session factory, made once per process.

    With `background_checkpoints`, an SQLite database's write-ahead log is checkpointed by a
    `Checkpointer` thread instead of by commits (for serving processes; see `Checkpointer`).
    """

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        background_checkpoints: bool = False,
        prepared_writes: bool = True,
    ) -> None:
        self.url = url
        parsed = make_url(url)
        path = parsed.database if parsed.get_backend_name() == "sqlite" else None
        self.checkpointer = (
            Checkpointer(path) if background_checkpoints and path and path != ":memory:" else None
        )
        self.engine = make_engine(
            url,
            pool_size=pool_size,
            autocheckpoint=self.checkpointer is None,
            prepared_writes=prepared_writes,
        )
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # The intake writer's own engine and connection, kept open (see `writer_connection`).
        self._writer_engine = self.engine
        if not self.is_sqlite:
            self._writer_engine = make_engine(
                url,
                pool_size=1,
                pre_ping=False,
                autocommit=True,
                prepared_writes=prepared_writes,
            )
        self._writer_connection: Connection | None = None
        self._writer_lock = threading.Lock()
        # The writer's driver connection and the busy timeout last set on it.
        self._writer_busy_timeout: tuple[object, int] = (None, _BUSY_TIMEOUT_MS)
        if self.checkpointer is not None:
            self.checkpointer.start()

    @property
    def is_sqlite(self) -> bool:
        """Tell whether this is the embedded SQLite database."""
        return self.engine.dialect.name == "sqlite"

    @contextlib.contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Session]:
        """Run one unit of work: commit when the block ends, roll back on any exception."""
        lock = write_lock(self.engine) if write else contextlib.nullcontext()
        with lock, self.sessions() as session, session.begin():
            yield session

    @contextlib.contextmanager
    def writer_connection(self, *, wait: bool = True) -> Iterator[Connection]:
        """A transaction on the connection of the process's one intake writer (`IntakeWriter`).

        The connection is its own, kept open from one transaction to the next: taking one
        from the pool cost a tenth of storing a single-claim message, and no ORM session is
        set up around it (its begin and commit cost 28 µs a transaction, some 5 % of storing
        such a message in one round trip). On PostgreSQL that connection is not pinged (the
        pool's ping was a round trip, a quarter of such a message's time on the server) and it
        autocommits: psycopg sends a transaction's BEGIN in a round trip of its own, so here
        the writes begin their own transaction in the round trip that carries them
        (`bulk.pipeline(begin=True)`, `bulk.begin`), and reads before them run on their own.
        Only code that does so may write here: `intake.store`, `intake.store_new`. A
        connection lost meanwhile fails the write with an error whose
        `connection_invalidated` is set; the connection then opens a new one on its next use
        (SQLAlchemy's invalidation), and the writer stores the message again.

        With `wait=False` it does not wait for this process: `WriterBusy` when the connection
        is in use or (SQLite) another write of this process holds the database, and SQLite is
        told not to wait for its lock either, so that a write of another process makes the
        first statement fail (`OperationalError`) instead of waiting. On PostgreSQL what the
        statements themselves may wait for is the caller's to avoid (`intake.store_new`).
        """
        with self._writer(wait=wait) as connection, connection.begin():
            yield connection

    @contextlib.contextmanager
    def _writer(self, *, wait: bool) -> Iterator[Connection]:
        if not self._writer_lock.acquire(blocking=wait):
            raise WriterBusy("the intake writer's connection is in use")
        try:
            if self.is_sqlite and not _SQLITE_WRITE_LOCK.acquire(blocking=wait):
                raise WriterBusy("another write of this process holds the database")
            try:
                connection = self._writer_connection
                if connection is None or connection.closed:
                    connection = self._writer_connection = self._writer_engine.connect()
                    if self.is_sqlite:
                        _grow_cache(connection)
                if self.is_sqlite:
                    self._let_writer_wait(connection, _BUSY_TIMEOUT_MS if wait else 0)
                yield connection
            finally:
                if self.is_sqlite:
                    _SQLITE_WRITE_LOCK.release()
        finally:
            self._writer_lock.release()

    def _let_writer_wait(self, connection: Connection, milliseconds: int) -> None:
        """SQLite: let the writer's connection wait this long for another's write.

        Set only when it changes (one statement less per message for a run of messages
        stored the same way); a new connection starts at `_BUSY_TIMEOUT_MS`.
        """
        driver = connection.connection.driver_connection
        known, current = self._writer_busy_timeout
        if known is not driver:
            current = _BUSY_TIMEOUT_MS
        if current != milliseconds:
            driver.execute(f"PRAGMA busy_timeout={milliseconds}")  # type: ignore[union-attr]
        self._writer_busy_timeout = (driver, milliseconds)

    def dispose(self) -> None:
        """Close every pooled connection (and stop the checkpointer, checkpointing once more)."""
        with self._writer_lock:
            if self._writer_connection is not None:
                self._writer_connection.close()
                self._writer_connection = None
        self.engine.dispose()
        if self._writer_engine is not self.engine:
            self._writer_engine.dispose()
        if self.checkpointer is not None:
            self.checkpointer.stop()
