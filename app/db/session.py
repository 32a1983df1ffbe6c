"""Engines and sessions. The unit of work is the request or the job: the edge commits.

SQLite runs in WAL mode with a process-wide write lock, so concurrent writers queue in Python
instead of busy-waiting inside SQLite (which sleeps up to 100 ms per retry).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app.encoding import dumps


def make_engine(url: str, *, pool_size: int = 10) -> Engine:
    """Create an engine for SQLite (WAL, foreign keys on) or PostgreSQL (psycopg 3)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
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
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(
        url,
        json_serializer=dumps,
        json_deserializer=orjson.loads,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
    )


_SQLITE_WRITE_LOCK = threading.Lock()


@contextlib.contextmanager
def write_lock(engine: Engine) -> Iterator[None]:
    """Serialise writers on SQLite (one writer at a time anyway); no-op on PostgreSQL."""
    if engine.dialect.name == "sqlite":
        with _SQLITE_WRITE_LOCK:
            yield
    else:
        yield


class Database:
    """An engine and its session factory, made once per process."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

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

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
