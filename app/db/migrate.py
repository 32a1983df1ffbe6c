"""Bring a database's schema up to date with alembic, and tell whether it is current."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from app.settings import ROOT


def config(url: str) -> Config:
    """Return an alembic config for `url` using the project's migrations."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Apply every migration up to `revision`."""
    command.upgrade(config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Revert migrations down to `revision` ("base" for an empty schema)."""
    command.downgrade(config(url), revision)


def is_current(engine: Engine, url: str) -> bool:
    """Tell whether the database is at the newest migration."""
    heads = set(ScriptDirectory.from_config(config(url)).get_heads())
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return current == heads
