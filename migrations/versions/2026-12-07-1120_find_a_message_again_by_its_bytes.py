"""find a message again by its bytes

A message sent again is answered with its first answer, but only once intake has read and
validated it again to learn its id: for a message of tens of thousands of claims, seconds
(an outside probe: 20 concurrent replays of a 20,000-claim message took 33-38 s). Intake now
looks a big body up by its SHA-256 first; this index answers that.

Revision ID: 5b0e7d2c91fa
Revises: 7ecea9c9c878
Create Date: 2026-12-07 11:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5b0e7d2c91fa"
down_revision: str | None = "7ecea9c9c878"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_source_message_source_content", "source_message", ["source", "content_sha256"]
    )


def downgrade() -> None:
    op.drop_index("ix_source_message_source_content", table_name="source_message")
