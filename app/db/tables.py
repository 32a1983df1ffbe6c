"""The database tables (SQLAlchemy 2, typed). One of kravbro's three model families.

Works on SQLite (embedded default) and PostgreSQL. Money is NUMERIC(12, 2); times are
timezone-aware UTC; JSON columns are JSONB on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
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


class SourceMessage(Base):
    """An inbound message from a fagsystem, stored raw before anything is made of it."""

    __tablename__ = "source_message"
    __table_args__ = (UniqueConstraint("source", "message_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str] = mapped_column(String(128))
    content_sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(100))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    size_bytes: Mapped[int] = mapped_column(Integer)
    principal: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[dt.datetime]
    claim_count: Mapped[int] = mapped_column(Integer)
    accepted_count: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(Json)


class Claim(Base):
    """One claim as kravbro holds it: its canonical data, its state and its problems."""

    __tablename__ = "claim"
    __table_args__ = (
        UniqueConstraint("source", "source_reference"),
        Index("ix_claim_state_area", "state", "business_area"),
        Index("ix_claim_source_received", "source", "received_at"),
        Index("ix_claim_received", "received_at"),
        Index("ix_claim_fordringstype", "fordringstype"),
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
