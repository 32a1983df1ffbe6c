"""index only the set values of the claim's sparse columns

A new claim has no PSRM id (fordrings_id), most claims have no main claim, and many no date
to be checked again: NULL in every row intake writes. Indexed whole, each such column cost a
B-tree insert per claim stored. As partial indexes (`... IS NOT NULL`) they hold only the rows
that have a value, which is all any query asks for (`=`, `IN`, `<=`).

Revision ID: 3e8d6b1f4a27
Revises: 7c4f2a9e1b30
Create Date: 2026-12-07 03:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3e8d6b1f4a27"
down_revision: str | None = "7c4f2a9e1b30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (
    ("ix_claim_next_check", ["state", "next_check_date"], "next_check_date"),
    ("ix_claim_fordrings_id", ["fordrings_id"], "fordrings_id"),
    ("ix_claim_main_claim", ["main_claim_id"], "main_claim_id"),
)


def upgrade() -> None:
    for name, columns, sparse in _INDEXES:
        where = sa.text(f"{sparse} IS NOT NULL")
        op.drop_index(name, table_name="claim")
        op.create_index(name, "claim", columns, sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    for name, columns, _ in _INDEXES:
        op.drop_index(name, table_name="claim")
        op.create_index(name, "claim", columns)
