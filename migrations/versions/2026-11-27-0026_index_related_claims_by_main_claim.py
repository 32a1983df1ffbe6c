"""index related claims by their main claim

Every delivery that lands claims at PSRM looks up the related claims held for them; without
an index that is a scan of every held claim.

Revision ID: 5b0e1d7c2a91
Revises: 29d3041627d6
Create Date: 2026-11-27 00:26:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5b0e1d7c2a91"
down_revision: str | None = "29d3041627d6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.create_index("ix_claim_main_claim", ["main_claim_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("claim", schema=None) as batch_op:
        batch_op.drop_index("ix_claim_main_claim")
