"""Transaction-scoped locks kravbro takes on PostgreSQL (advisory locks; nothing on SQLite).

**The readiness lock** of a claimant orders everything that decides claims' readiness on its
on-boarding and pauses (the readiness context) against everything that changes them.
Changing the context and re-assessing the claims it touches (`onboarding.set_state`,
`pause`, `resume`) holds it exclusively; deciding on the context (intake storing new claims,
the sweep) holds it shared, from before the context is read until the decisions are
committed. Without it, on PostgreSQL, claims stored while an on-boarding change was being
committed were decided on the context before it, yet missed by the change's re-assessment,
which had picked its claims when it began; they stayed held (or queued in a paused area)
for good. Two changes at once likewise each re-assessed the claims as they were before the
other. On SQLite every write transaction already holds the database alone.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection

from app.db import bulk


def readiness_key(claimant_id: str) -> int:
    """Return the advisory lock key of a claimant's readiness lock (stable across processes)."""
    digest = hashlib.blake2b(f"kravbro.readiness.{claimant_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def hold_readiness(connection: Connection, claimant_id: str, *, exclusive: bool) -> None:
    """Hold the claimant's readiness lock until the connection's transaction ends.

    Waits for a holder of the other kind. In a `bulk.pipeline` block it is taken in the
    block's round trip, before the statements after it. On a connection that autocommits, it
    must be taken inside a transaction the caller has begun (`bulk.pipeline(begin=True)`).
    """
    if connection.dialect.name != "postgresql":
        return
    function = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
    bulk.run(connection, f"SELECT {function}($1)", readiness_key(claimant_id))
