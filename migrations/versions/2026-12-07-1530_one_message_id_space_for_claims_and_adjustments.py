"""one message id space for claims and adjustments

The adjustment contract promises a message id unique per source across claim and adjustment
messages, but adjustment messages were stored under `adjustments/` + their id: a claim message
and an adjustment message under the same id were both taken, and an ØiR claim message whose
MeddelelseID is `adjustments/X` (ØiR ids may hold a `/`) took the place of adjustment message
`X`. Each message is now stored under its own id, unique on (source, message id) whatever it
holds, and `kind` tells an adjustment message (`adjustments`) from a claim message (`claims`,
the default).

The upgrade marks the stored adjustment messages (an id beginning `adjustments/` and the JSON
they are stored as: ØiR's and KSD's claim messages are XML, and KY's ids cannot hold a `/`) as
`adjustments` and strips the prefix. Where a message of the same source holds the stripped id
already (a claim message sent under an adjustment message's id before), the adjustment message
keeps its prefixed id: it is still marked an adjustment message, and that id is now a conflict
for either kind of message. The downgrade puts the prefix back on every adjustment message that
lacks it (one whose own id begins `adjustments/` keeps it as it is), and stops, changing
nothing, where a message of the same source holds the prefixed id.

Revision ID: 9c2d4e6f8a13
Revises: 5b0e7d2c91fa
Create Date: 2026-12-07 15:30:00
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9c2d4e6f8a13"
down_revision: str | None = "5b0e7d2c91fa"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PREFIX = "adjustments/"


# Both backends count from 1 in `substr` and join text with `||`.
def _prefixed(column: str) -> str:
    return f"substr({column}, 1, {len(_PREFIX)}) = '{_PREFIX}'"


def _stripped(column: str) -> str:
    return f"substr({column}, {len(_PREFIX) + 1})"


def upgrade() -> None:
    op.add_column(
        "source_message",
        sa.Column("kind", sa.String(length=16), server_default="claims", nullable=False),
    )
    op.execute(
        "UPDATE source_message SET kind = 'adjustments' "
        f"WHERE {_prefixed('message_id')} AND media_type = 'application/json'"
    )
    op.execute(
        f"""UPDATE source_message SET message_id = {_stripped("message_id")}
        WHERE kind = 'adjustments' AND {_prefixed("message_id")} AND NOT EXISTS (
            SELECT 1 FROM source_message other
            WHERE other.source = source_message.source
              AND other.message_id = {_stripped("source_message.message_id")})"""
    )


def downgrade() -> None:
    taken = op.get_bind().execute(
        sa.text(
            f"""SELECT m.id FROM source_message m JOIN source_message other
            ON other.source = m.source AND other.message_id = '{_PREFIX}' || m.message_id
            WHERE m.kind = 'adjustments' AND NOT ({_prefixed("m.message_id")})
            ORDER BY m.received_at"""
        )
    )
    # SQLite keeps a UUID as 32 hex digits: shown as PostgreSQL shows it.
    held = [str(uuid.UUID(str(row.id))) for row in taken]
    if held:
        raise RuntimeError(
            f"{len(held)} adjustment messages would take the id of another message of their "
            f"source once prefixed with {_PREFIX!r}: {', '.join(held[:20])}"
            f"{' …' if len(held) > 20 else ''}. This migration changed nothing"
        )
    op.execute(
        f"UPDATE source_message SET message_id = '{_PREFIX}' || message_id "
        f"WHERE kind = 'adjustments' AND NOT ({_prefixed('message_id')})"
    )
    with op.batch_alter_table("source_message") as batch_op:
        batch_op.drop_column("kind")
