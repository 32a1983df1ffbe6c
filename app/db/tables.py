"""The database tables (SQLAlchemy 2, typed). One of kravbro's three model families.

Works on SQLite (embedded default) and PostgreSQL. Money is NUMERIC(12, 2); times are
timezone-aware UTC; JSON columns are JSONB on PostgreSQL, but for a message's answer (plain JSON).
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no offset itself)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


Json = JSON().with_variant(JSONB(), "postgresql")
Money = Numeric(12, 2)
# SQLite has no BIGINT autoincrement; INTEGER PRIMARY KEY is its rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UtcDateTime(),
        dict[str, Any]: Json,
    }


class MessageKind(StrEnum):
    """What a stored message held: claims, or adjustments of claims sent before."""

    CLAIMS = "claims"
    ADJUSTMENTS = "adjustments"


class SourceMessage(Base):
    """An inbound message from a fagsystem, stored raw before anything is made of it.

    Claim and adjustment messages share one id space per source (unique on source and id),
    told apart by `kind`.
    """

    __tablename__ = "source_message"
    __table_args__ = (
        UniqueConstraint("source", "message_id"),
        # A big body sent again is found by its bytes before it is read (`intake.earlier_answer`).
        Index("ix_source_message_source_content", "source", "content_sha256"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str] = mapped_column(String(128))
    # Claim messages leave it to the database (intake's inserts name only what they set).
    kind: Mapped[str] = mapped_column(String(16), server_default=MessageKind.CLAIMS.value)
    content_sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(100))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    size_bytes: Mapped[int] = mapped_column(Integer)
    principal: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[dt.datetime]
    claim_count: Mapped[int] = mapped_column(Integer)
    accepted_count: Mapped[int] = mapped_column(Integer)
    # The first answer, given back whole on a replay and never queried inside: plain JSON text
    # on PostgreSQL too, which a big message's answer reaches faster than JSONB (see the
    # migration that made it so).
    response: Mapped[dict[str, Any]] = mapped_column(JSON)


def _when_set(column: str) -> dict[str, Any]:
    """Index only the rows where `column` is set (a partial index, on both backends).

    A new claim has no PSRM id, most have no main claim, and many no date to check again:
    left out of these indexes, storing it updates three indexes fewer. Every query on such a
    column asks for a value (`=`, `IN`, `<=`), which rules out NULL, so both backends use them.
    """
    where = text(f"{column} IS NOT NULL")
    return {"sqlite_where": where, "postgresql_where": where}


# The claims that hold their claimant reference (fordringshaverreference), which PSRM takes once
# per claimant: every claim but a rejected one. Intake looks references up on it as written
# here (SQLite uses a partial index only for a query that repeats its condition).
CLAIMANT_REFERENCE_HELD = "state <> 'invalid' AND claimant_reference IS NOT NULL"


class Claim(Base):
    """One claim as kravbro holds it: its canonical data, its state and its problems."""

    __tablename__ = "claim"
    __table_args__ = (
        UniqueConstraint("source", "source_reference"),
        Index("ix_claim_state_area", "state", "business_area"),
        Index("ix_claim_source_received", "source", "received_at"),
        Index("ix_claim_received", "received_at"),
        Index("ix_claim_fordringstype", "fordringstype"),
        Index("ix_claim_next_check", "state", "next_check_date", **_when_set("next_check_date")),
        Index("ix_claim_limitation", "state", "limitation_date"),
        Index("ix_claim_fordrings_id", "fordrings_id", **_when_set("fordrings_id")),
        Index("ix_claim_main_claim", "main_claim_id", **_when_set("main_claim_id")),
        # A claimant reference is held by one claim at most (intake rejects a second holder
        # first: `claimant_reference.taken`); this stops what intake cannot see, such as a
        # claim stored meanwhile by another process, or without look-ups (`store_new`).
        Index(
            "uq_claim_claimant_reference",
            "claimant_id",
            "claimant_reference",
            unique=True,
            sqlite_where=text(CLAIMANT_REFERENCE_HELD),
            postgresql_where=text(CLAIMANT_REFERENCE_HELD),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    source_reference: Mapped[str] = mapped_column(String(64))
    message_pk: Mapped[uuid.UUID] = mapped_column(ForeignKey("source_message.id"))
    claim_index: Mapped[int] = mapped_column(Integer)
    claimant_id: Mapped[str | None] = mapped_column(String(4))
    claimant_reference: Mapped[str | None] = mapped_column(String(64))
    fordringstype: Mapped[str | None] = mapped_column(String(16))
    business_area: Mapped[str | None] = mapped_column(String(40))
    category: Mapped[str | None] = mapped_column(String(2))
    main_claim_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("claim.id"))
    state: Mapped[str] = mapped_column(String(20))
    principal: Mapped[Decimal | None] = mapped_column(Money)
    amount: Mapped[Decimal | None] = mapped_column(Money)
    data: Mapped[dict[str, Any]] = mapped_column(Json)
    problems: Mapped[list[dict[str, Any]]] = mapped_column(Json)
    content_sha256: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    received_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    # readiness and transfer
    holds: Mapped[list[str]] = mapped_column(Json, default=list)
    next_check_date: Mapped[dt.date | None] = mapped_column(Date)
    limitation_date: Mapped[dt.date | None] = mapped_column(Date)
    fordrings_id: Mapped[str | None] = mapped_column(String(40))
    psrm_errors: Mapped[list[dict[str, Any]] | None] = mapped_column(Json)


class ClaimEvent(Base):
    """Something that happened to a claim: received, rejected, held, sent, receipt, ..."""

    __tablename__ = "claim_event"
    __table_args__ = (Index("ix_claim_event_claim", "claim_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    claim_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claim.id"))
    at: Mapped[dt.datetime]
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]] = mapped_column(Json)


class Onboarding(Base):
    """A business area (or one fordringstype in it) and where it stands towards PSRM."""

    __tablename__ = "onboarding"
    __table_args__ = (UniqueConstraint("claimant_id", "area", "fordringstype"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    claimant_id: Mapped[str] = mapped_column(String(4))
    area: Mapped[str] = mapped_column(String(40))
    # "" for the whole area; a code for a type-level exception to its area.
    fordringstype: Mapped[str] = mapped_column(String(16), default="")
    state: Mapped[str] = mapped_column(String(20))
    from_date: Mapped[dt.date | None] = mapped_column(Date)
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[dt.datetime]
    note: Mapped[str] = mapped_column(String(500), default="")


class OnboardingChange(Base):
    """Every change of on-boarding: who, when, from what to what."""

    __tablename__ = "onboarding_change"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    claimant_id: Mapped[str] = mapped_column(String(4))
    area: Mapped[str] = mapped_column(String(40))
    fordringstype: Mapped[str] = mapped_column(String(16))
    old_state: Mapped[str | None] = mapped_column(String(20))
    new_state: Mapped[str] = mapped_column(String(20))
    from_date: Mapped[dt.date | None] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[dt.datetime]
    note: Mapped[str] = mapped_column(String(500), default="")
    released: Mapped[int] = mapped_column(Integer, default=0)


class Pause(Base):
    """A pause on transfers, held by one person for one reason until that person lifts it."""

    __tablename__ = "pause"
    __table_args__ = (Index("ix_pause_active", "lifted_at", "area"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    claimant_id: Mapped[str] = mapped_column(String(4))
    area: Mapped[str | None] = mapped_column(String(40))
    fordringstype: Mapped[str | None] = mapped_column(String(16))
    holder: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime]
    lifted_by: Mapped[str | None] = mapped_column(String(100))
    lifted_at: Mapped[dt.datetime | None]


class Delivery(Base):
    """A leverance: claim actions sent to PSRM together under one delivery id."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("delivery_id"),
        UniqueConstraint("transaction_id"),
        Index("ix_delivery_state_due", "state", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(64))
    transaction_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))
    action_count: Mapped[int] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime]
    lease_until: Mapped[dt.datetime | None]
    worker: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]


class Transfer(Base):
    """One action on one claim towards PSRM: create it, or adjust it (write-down, recall, ...)."""

    __tablename__ = "transfer"
    __table_args__ = (
        UniqueConstraint("action_id"),
        UniqueConstraint("claim_id", "seq"),
        Index("ix_transfer_state_due", "state", "next_attempt_at"),
        Index("ix_transfer_delivery", "delivery_pk"),
        Index("ix_transfer_area_state", "area", "state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    claim_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("claim.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    action_id: Mapped[str] = mapped_column(String(64))
    area: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(Json)
    state: Mapped[str] = mapped_column(String(20))
    delivery_pk: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("delivery.id"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime]
    receipt_status: Mapped[str | None] = mapped_column(String(20))
    error: Mapped[dict[str, Any] | None] = mapped_column(Json)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class WorkerStatus(Base):
    """What each transfer worker last reported: alive when, its circuit breaker, its counts."""

    __tablename__ = "worker_status"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    seen_at: Mapped[dt.datetime]
    circuit: Mapped[str] = mapped_column(String(20))
    sent: Mapped[int] = mapped_column(BigInteger, default=0)
    receipts: Mapped[int] = mapped_column(BigInteger, default=0)
    retries: Mapped[int] = mapped_column(BigInteger, default=0)
