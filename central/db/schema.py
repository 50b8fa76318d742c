"""Tables of the sync spine. Changing one means a new Alembic revision in central/migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware datetime stored in UTC: SQLite keeps no offset, so it is read back as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: central stores aware datetimes only")
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# BigInteger autoincrement is only an alias of INTEGER PRIMARY KEY on SQLite with this variant.
Id = BigInteger().with_variant(Integer(), "sqlite")

events = Table(
    "events",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("edge_id", String(260), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("station", String(64), nullable=False),
    Column("source_ts", UtcDateTime(), nullable=False),
    Column("ingested_at", UtcDateTime(), nullable=False),
    Column("payload", JSON, nullable=False),
    UniqueConstraint("edge_id", "seq", name="uq_events_edge_seq"),
    UniqueConstraint("event_id", name="uq_events_event_id"),
)

edge_cursors = Table(
    "edge_cursors",
    metadata,
    Column("edge_id", String(260), primary_key=True),
    Column("applied_seq", BigInteger, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("topic", String(512), nullable=False),
    Column("edge_id", String(260)),
    Column("seq", BigInteger),
    Column("reason", Text, nullable=False),
    Column("raw", Text, nullable=False),
)

edge_status = Table(
    "edge_status",
    metadata,
    Column("edge_id", String(260), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("since", UtcDateTime(), nullable=False),
    Column("software", String(64), nullable=False, default=""),
)

# The spine's effect of production reports: totals per station and operation, updated in the
# same transaction as the events that change them (issue 7 grows this into order progress).
station_totals = Table(
    "station_totals",
    metadata,
    Column("edge_id", String(260), primary_key=True),
    Column("station", String(64), primary_key=True),
    Column("work_order", String(64), primary_key=True),
    Column("operation", String(64), primary_key=True),
    Column("good", BigInteger, nullable=False),
    Column("scrap", BigInteger, nullable=False),
    Column("rework", BigInteger, nullable=False),
    Column("labour_hours", Float, nullable=False),
    Column("reports", BigInteger, nullable=False),
)

machine_states = Table(
    "machine_states",
    metadata,
    Column("edge_id", String(260), primary_key=True),
    Column("machine", String(64), primary_key=True),
    Column("station", String(64)),  # where it stands: its work center's station
    Column("state", String(16), nullable=False),
    Column("reason", String(200)),
    Column("since", UtcDateTime(), nullable=False),
    Column("seq", BigInteger, nullable=False),
)
