"""hold a claimant reference to one claim per claimant

PSRM takes a fordringshaverreference (claim.claimant_reference) once per claimant. Intake
checked it within a message only, so two claims of one claimant sent in different messages
could both hold one and both go to PSRM. Intake now rejects a claim whose reference another
stored claim holds (`claimant_reference.taken`), and this unique index holds every write to
it, those intake makes without looking anything up (`intake.store_new`, PostgreSQL) and
those of another process meanwhile too. A rejected (`invalid`) claim holds no reference and
is left out: a partial index, on both backends.

Claims stored before were not compared across messages. Where two of them share a reference,
the upgrade stops and names them, changing nothing: which one keeps it (one may be at PSRM
already) is a decision for people, not for a migration.

Revision ID: 7ecea9c9c878
Revises: 3e8d6b1f4a27
Create Date: 2026-12-07 10:00:00
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7ecea9c9c878"
down_revision: str | None = "3e8d6b1f4a27"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HELD = "state <> 'invalid' AND claimant_reference IS NOT NULL"
_SHARED = sa.text(
    f"""SELECT c.id FROM claim c
    JOIN (SELECT claimant_id, claimant_reference FROM claim WHERE {_HELD}
          GROUP BY claimant_id, claimant_reference HAVING count(*) > 1) d
      ON c.claimant_id = d.claimant_id AND c.claimant_reference = d.claimant_reference
    WHERE c.state <> 'invalid'
    ORDER BY c.claimant_id, c.claimant_reference, c.received_at"""
)


def upgrade() -> None:
    # SQLite keeps a UUID as 32 hex digits: shown as PostgreSQL shows it.
    shared = [str(uuid.UUID(str(row.id))) for row in op.get_bind().execute(_SHARED)]
    if shared:
        raise RuntimeError(
            f"{len(shared)} claims share a claimant reference with another claim of their "
            f"claimant, which PSRM takes once: {', '.join(shared[:20])}"
            f"{' …' if len(shared) > 20 else ''}. Leave each reference to one claim (correct "
            "the others under references of their own, or recall them), then upgrade again; "
            "this migration changed nothing"
        )
    where = sa.text(_HELD)
    op.create_index(
        "uq_claim_claimant_reference",
        "claim",
        ["claimant_id", "claimant_reference"],
        unique=True,
        sqlite_where=where,
        postgresql_where=where,
    )


def downgrade() -> None:
    op.drop_index("uq_claim_claimant_reference", table_name="claim")
