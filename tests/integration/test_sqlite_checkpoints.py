"""SQLite's write-ahead log: checkpointed in the background for a serving process, not by commits.

SQLite only (PostgreSQL has no such log to manage).
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import uuid
from pathlib import Path

import pytest

from app.db import migrate
from app.db.session import Checkpointer, Database
from app.db.tables import SourceMessage

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
# 120 messages of 64 KiB: about 2,000 pages of log, past SQLite's default checkpoint at 1,000.
MESSAGES, SIZE = 120, 64 * 1024


def _write(database: Database) -> None:
    for n in range(MESSAGES):
        with database.transaction() as session:
            session.add(
                SourceMessage(
                    id=uuid.uuid4(),
                    source="ky",
                    message_id=f"M-{n}",
                    content_sha256="0" * 64,
                    media_type="application/json",
                    raw=bytes([n % 256]) * SIZE,
                    size_bytes=SIZE,
                    principal="test",
                    received_at=NOW,
                    claim_count=1,
                    accepted_count=1,
                    response={},
                )
            )


@pytest.fixture
def url(tmp_path: Path) -> str:
    database_url = f"sqlite:///{tmp_path / 'kravbro.db'}"
    migrate.upgrade(database_url)
    return database_url


def _log(url: str) -> tuple[int, int]:
    """The log's frames and how many are checkpointed (by checkpointing what it can)."""
    return Checkpointer(url.removeprefix("sqlite:///")).checkpoint()


def _in_file(url: str, tmp_path: Path) -> int:
    """Count the messages in the database file itself: what checkpoints have put there."""
    copy = tmp_path / f"file-only-{uuid.uuid4().hex}.db"
    shutil.copyfile(url.removeprefix("sqlite:///"), copy)  # without its -wal: no log
    connection = sqlite3.connect(copy)
    try:
        return int(connection.execute("SELECT count(*) FROM source_message").fetchone()[0])
    finally:
        connection.close()


def test_by_default_commits_checkpoint_the_log_themselves(url: str) -> None:
    database = Database(url)
    _write(database)
    frames, _ = _log(url)
    database.dispose()
    # Reset whenever a commit passed 1,000 pages: the log never held all the writes.
    assert frames < 1_500


def test_a_serving_database_leaves_checkpoints_to_its_checkpointer(
    url: str, tmp_path: Path
) -> None:
    database = Database(url, background_checkpoints=True)
    assert database.checkpointer is not None
    database.checkpointer.stop()  # so that only commits could checkpoint
    _write(database)
    assert _in_file(url, tmp_path) == 0  # every write still only in the log
    frames, done = database.checkpointer.checkpoint()
    assert frames > 1_500
    assert done == frames
    assert _in_file(url, tmp_path) == MESSAGES
    database.dispose()


def test_the_checkpointer_thread_checkpoints_everything_before_it_stops(
    url: str, tmp_path: Path
) -> None:
    database = Database(url, background_checkpoints=True)
    _write(database)
    database.dispose()
    assert _in_file(url, tmp_path) == MESSAGES


def test_an_in_memory_database_has_no_checkpointer() -> None:
    assert Database("sqlite://", background_checkpoints=True).checkpointer is None
