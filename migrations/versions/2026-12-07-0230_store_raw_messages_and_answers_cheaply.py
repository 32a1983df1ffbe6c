"""store raw messages and their answers cheaply on PostgreSQL

A 1,000-claim message is stored with its raw bytes (about 0.5 MB) and its answer (about 0.3
MB of JSON). As JSONB, the answer was parsed into PostgreSQL's binary form and both were
compressed with pglz: 24 ms of the message's write, measured on the development machine.
The answer is only ever given back whole (a replay), so it is plain JSON text now, and both
columns are compressed with lz4 where the server has it (PostgreSQL 14 and later, built with
lz4): about 4 ms. SQLite keeps JSON as text already; nothing changes there.

Revision ID: 7c4f2a9e1b30
Revises: 5b0e1d7c2a91
Create Date: 2026-12-07 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7c4f2a9e1b30"
down_revision: str | None = "5b0e1d7c2a91"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _has_lz4() -> bool:
    bind = op.get_bind()
    found = bind.execute(
        sa.text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
    ).scalar()
    return bool(found) and "lz4" in found


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.alter_column(
        "source_message",
        "response",
        type_=sa.JSON(),
        existing_type=postgresql.JSONB(astext_type=sa.Text()),
        existing_nullable=False,
        postgresql_using="response::json",
    )
    if _has_lz4():
        op.execute(
            "ALTER TABLE source_message ALTER COLUMN raw SET COMPRESSION lz4, "
            "ALTER COLUMN response SET COMPRESSION lz4"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    if _has_lz4():
        op.execute(
            "ALTER TABLE source_message ALTER COLUMN raw SET COMPRESSION default, "
            "ALTER COLUMN response SET COMPRESSION default"
        )
    op.alter_column(
        "source_message",
        "response",
        type_=postgresql.JSONB(astext_type=sa.Text()),
        existing_type=sa.JSON(),
        existing_nullable=False,
        postgresql_using="response::jsonb",
    )
