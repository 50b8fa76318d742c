"""Tables of the customer side: who made what (genealogy), service tickets, repairs, RFM.

The genealogy itself is mostly the order book's: ``material_consumption`` (which lot went
into which work order, where, by whom), ``inspections``, ``shipment_lines`` (which lot
left to which order). ``operation_crews`` adds who worked on an operation, folded from
the production reports' crews as they are ingested, so a backward trace never reads the
event log.

Tickets and repairs get numbers from the same series as orders (TK-..., RO-...).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from central.db.domain import Code, _id, _ref, _states
from central.db.schema import Id, UtcDateTime, metadata

TICKET_KINDS = ("complaint", "inquiry", "warranty_claim")
CHANNELS = ("phone", "email", "chat", "portal")
PRIORITIES = ("low", "normal", "high", "urgent")
TICKET_STATES = ("open", "in_progress", "waiting", "resolved", "closed")
REPAIR_KINDS = ("in_shop", "field")
REPAIR_STATES = ("open", "assigned", "in_progress", "done", "closed", "cancelled")

# Who worked on an operation, at which station, with their share of its pieces and hours.
operation_crews = Table(
    "operation_crews",
    metadata,
    Column("work_order", Code, primary_key=True),
    Column("operation", Code, primary_key=True),
    Column("station", Code, primary_key=True),
    Column("operator", Code, primary_key=True),  # badge
    Column("good", BigInteger, nullable=False),
    Column("scrap", BigInteger, nullable=False),
    Column("labour_hours", Float, nullable=False),
    Column("first_at", UtcDateTime(), nullable=False),
    Column("last_at", UtcDateTime(), nullable=False),
)

# How long a ticket of each priority may wait for its first answer and for its resolution.
sla_policies = Table(
    "sla_policies",
    metadata,
    Column("priority", String(16), primary_key=True),
    Column("response_hours", Float, nullable=False),
    Column("resolution_hours", Float, nullable=False),
    _states("priority", PRIORITIES),
    CheckConstraint("response_hours > 0 AND resolution_hours > 0", name="hours"),
)

service_tickets = Table(
    "service_tickets",
    metadata,
    _id(),
    Column("number", Code, nullable=False, unique=True),
    _ref("customers"),
    _ref("contacts", nullable=True),
    Column("kind", String(16), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("status", String(16), nullable=False, default="open"),
    Column("subject", String(200), nullable=False),
    Column("description", Text, nullable=False, default=""),
    _ref("sales_orders", nullable=True),
    _ref("items", nullable=True),
    Column("lot", String(64)),  # the lot or serial the ticket is about
    Column("assignee_id", Id, ForeignKey("users.id"), index=True),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("response_due", UtcDateTime(), nullable=False),
    Column("resolution_due", UtcDateTime(), nullable=False),
    Column("first_response_at", UtcDateTime()),
    Column("resolved_at", UtcDateTime()),
    Column("closed_at", UtcDateTime()),
    Column("root_cause", Text),
    Column("corrective_action", Text),
    Column("satisfaction", Integer),  # 1-5, from the customer on close
    Column("feedback", Text),
    _states("kind", TICKET_KINDS),
    _states("channel", CHANNELS),
    _states("priority", PRIORITIES),
    _states("status", TICKET_STATES),
    CheckConstraint("satisfaction BETWEEN 1 AND 5", name="satisfaction"),
    Index("ix_service_tickets_customer_status", "customer_id", "status"),
    Index("ix_service_tickets_status_resolution_due", "status", "resolution_due"),
)

# The ticket's conversation and its internal notes, oldest first.
ticket_notes = Table(
    "ticket_notes",
    metadata,
    _id(),
    _ref("service_tickets", name="ticket_id"),
    Column("author_id", Id, ForeignKey("users.id"), nullable=False),
    Column("body", Text, nullable=False),
    Column("public", Boolean, nullable=False),  # a reply to the customer, not an internal note
    Column("at", UtcDateTime(), nullable=False),
)

reply_templates = Table(
    "reply_templates",
    metadata,
    _id(),
    Column("code", Code, nullable=False, unique=True),
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("keywords", JSON, nullable=False),  # list of words it should be found by
)

technicians = Table(
    "technicians",
    metadata,
    _id(),
    Column("code", Code, nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("skills", JSON, nullable=False),  # e.g. ["hydraulics", "electrical"]
    Column("territory", Code),  # None: in-shop only
    Column("hourly_rate_cents", BigInteger, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
)

repair_orders = Table(
    "repair_orders",
    metadata,
    _id(),
    Column("number", Code, nullable=False, unique=True),
    _ref("customers"),
    _ref("service_tickets", nullable=True, name="ticket_id"),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False, default="open"),
    _ref("items"),
    Column("lot", String(64)),  # the unit: a serial, or the lot it came from
    Column("fault", Text, nullable=False),
    Column("diagnosis", Text),
    Column("required_skills", JSON, nullable=False),
    Column("site_address", Text),  # field: where the technician goes
    Column("territory", Code),
    _ref("technicians", nullable=True),
    Column("scheduled_for", UtcDateTime()),
    Column("shipped_at", UtcDateTime()),  # when the unit left us, as the warranty counts it
    Column("warranty_until", UtcDateTime()),
    Column("under_warranty", Boolean, nullable=False),
    Column("opened_at", UtcDateTime(), nullable=False),
    Column("closed_at", UtcDateTime()),
    Column("satisfaction", Integer),
    Column("feedback", Text),
    _states("kind", REPAIR_KINDS),
    _states("status", REPAIR_STATES),
    CheckConstraint("satisfaction BETWEEN 1 AND 5", name="satisfaction"),
    Index("ix_repair_orders_customer_status", "customer_id", "status"),
)

repair_parts = Table(
    "repair_parts",
    metadata,
    _id(),
    _ref("repair_orders"),
    _ref("items"),
    Column("lot", String(64), nullable=False),
    Column("location", Code, nullable=False),
    Column("quantity", Float, nullable=False),
    Column("unit_cost_cents", BigInteger, nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    CheckConstraint("quantity > 0", name="quantity"),
)

repair_labour = Table(
    "repair_labour",
    metadata,
    _id(),
    _ref("repair_orders"),
    _ref("technicians"),
    Column("hours", Float, nullable=False),
    Column("rate_cents", BigInteger, nullable=False),
    Column("note", Text),
    Column("at", UtcDateTime(), nullable=False),
    CheckConstraint("hours > 0", name="hours"),
)

# One row per RFM computation, scheduled or asked for.
rfm_runs = Table(
    "rfm_runs",
    metadata,
    _id(),
    Column("as_of", UtcDateTime(), nullable=False),
    Column("window_days", Integer, nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("customers", Integer, nullable=False),
    Column("changed", Integer, nullable=False),
    Column("seconds", Float, nullable=False),
    _states("trigger", ("scheduled", "on_demand")),
)

# Each customer's latest scores; ``since`` is when it entered its segment.
rfm_scores = Table(
    "rfm_scores",
    metadata,
    Column("customer_id", Id, ForeignKey("customers.id"), primary_key=True),
    Column("run_id", Id, ForeignKey("rfm_runs.id"), nullable=False),
    Column("recency_days", Integer, nullable=False),
    Column("frequency", Integer, nullable=False),
    Column("monetary_cents", BigInteger, nullable=False),
    Column("r", Integer, nullable=False),
    Column("f", Integer, nullable=False),
    Column("m", Integer, nullable=False),
    Column("segment", String(32), nullable=False),
    Column("since", UtcDateTime(), nullable=False),
    Index("ix_rfm_scores_segment", "segment"),
)

# A row each time a customer's segment changes (the first scoring counts as a change).
rfm_history = Table(
    "rfm_history",
    metadata,
    _id(),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False),
    Column("run_id", Id, ForeignKey("rfm_runs.id"), nullable=False, index=True),
    Column("previous", String(32)),
    Column("segment", String(32), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Index("ix_rfm_history_customer_at", "customer_id", "at"),
)

# A secret link showing one sales order's progress to its customer; only the hash is kept.
order_links = Table(
    "order_links",
    metadata,
    _id(),
    _ref("sales_orders"),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_by", Id, ForeignKey("users.id"), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime()),
    Column("revoked_at", UtcDateTime()),
    Column("last_seen_at", UtcDateTime()),
    Column("views", Integer, nullable=False, default=0),
)

__all__ = [
    "CHANNELS",
    "PRIORITIES",
    "REPAIR_KINDS",
    "REPAIR_STATES",
    "TICKET_KINDS",
    "TICKET_STATES",
    "operation_crews",
    "order_links",
    "repair_labour",
    "repair_orders",
    "repair_parts",
    "reply_templates",
    "rfm_history",
    "rfm_runs",
    "rfm_scores",
    "service_tickets",
    "sla_policies",
    "technicians",
    "ticket_notes",
]
