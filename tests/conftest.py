"""Test fixtures: a real database on each backend, built by the migrations, emptied per test.

Integration tests that take the `database` fixture run twice: on SQLite (a file in a temporary
folder) and on PostgreSQL (a fresh database created for this run on the server named by
KRAVBRO_TEST_POSTGRES_URL, default the local one). Without a reachable PostgreSQL the
PostgreSQL half is reported as not run; with KRAVBRO_REQUIRE_POSTGRES=1 (as in CI) it fails.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.engine import make_url

from app.clock import Clock
from app.db import migrate
from app.db.session import Database
from app.db.tables import Base
from app.main import create_app
from app.settings import Settings

POSTGRES_URL = os.environ.get(
    "KRAVBRO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("KRAVBRO_REQUIRE_POSTGRES") == "1"
_postgres_problem: list[str] = []


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _postgres_available() -> str | None:
    try:
        with psycopg.connect(_libpq(POSTGRES_URL), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """Return the PostgreSQL admin URL, or skip (fail in CI) when none is reachable."""
    problem = _postgres_available()
    if problem is not None:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL is required (KRAVBRO_REQUIRE_POSTGRES=1) but {problem}")
        _postgres_problem.append(problem)
        pytest.skip(f"no PostgreSQL reachable at {make_url(POSTGRES_URL).host}: {problem}")
    return POSTGRES_URL


def create_postgres_database(admin_url: str) -> str:
    """Create an empty database on the server and return its URL."""
    name = f"kravbro_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_libpq(admin_url), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(admin_url: str, url: str) -> None:
    """Drop a database made by create_postgres_database."""
    name = make_url(url).database
    with psycopg.connect(_libpq(admin_url), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated, empty database on each backend, for the whole run."""
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "kravbro.db"
        url = f"sqlite:///{path}"
        migrate.upgrade(url)
        yield url
        return
    admin = request.getfixturevalue("postgres_server")
    url = create_postgres_database(admin)
    migrate.upgrade(url)
    yield url
    drop_postgres_database(admin, url)


@pytest.fixture(scope="session")
def shared_database(database_url: str) -> Iterator[Database]:
    db = Database(database_url, pool_size=5)
    yield db
    db.dispose()


@pytest.fixture
def database(shared_database: Database) -> Iterator[Database]:
    """The backend's database, emptied after each test."""
    yield shared_database
    with shared_database.transaction() as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(delete(table))


def make_settings(database_url: str, **overrides: object) -> Settings:
    """Settings for tests: the test database and the demo keys."""
    return Settings(database_url=database_url, demo=True, **overrides)  # type: ignore[arg-type]


TODAY = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock() -> Clock:
    """The service's clock, fixed at 2 March 2026 09:00 UTC unless a test moves it."""
    return Clock(fixed=TODAY)


@pytest.fixture
def client(database: Database, clock: Clock) -> Iterator[TestClient]:
    """The API, in process, on the test database, with the demo keys and a fixed clock."""
    app = create_app(make_settings(database.url), database=database, clock=clock)
    with TestClient(app) as test_client:
        yield test_client


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _postgres_problem:
        terminalreporter.write_line(
            f"NOTE: the PostgreSQL half of the integration tests did NOT run "
            f"({_postgres_problem[0]}). Start PostgreSQL or set KRAVBRO_TEST_POSTGRES_URL.",
            yellow=True,
        )
