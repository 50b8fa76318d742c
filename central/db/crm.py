"""Tables of the sales pipeline: leads, opportunities through configurable stages, quotes
that become sales orders, and the follow-ups that keep them moving.

A lead is someone who may buy; qualifying and converting it makes (or finds) the account,
its contact and an opportunity. An opportunity moves through ``pipeline_stages`` (each
with its win probability; the last ones are won or lost), every move kept in
``opportunity_stages`` so conversion rates are counted, not guessed. A quote belongs to a
customer (and usually an opportunity), has versions (a new version supersedes the last),
and once accepted becomes a sales order in one action.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from central.db.domain import Code, _id, _ref, _states
from central.db.schema import Id, UtcDateTime, metadata

LEAD_SOURCES = ("web_form", "import", "manual", "referral", "trade_show")
LEAD_STATES = ("new", "contacted", "qualified", "disqualified", "converted")
QUOTE_STATES = (
    "draft",
    "pending_approval",
    "approved",
    "sent",
    "accepted",
    "rejected",
    "expired",
    "superseded",
)
TASK_KINDS = ("call", "email", "visit", "meeting", "renewal", "quote_follow_up", "other")
TIERS = ("A", "B", "C")


def _user(name: str, *, nullable: bool = True) -> Column[int]:
    return Column(name, Id, ForeignKey("users.id"), nullable=nullable, index=True)


pipeline_stages = Table(
    "pipeline_stages",
    metadata,
    Column("code", Code, primary_key=True),
    Column("name", String(64), nullable=False),
    Column("position", Integer, nullable=False, unique=True),
    Column("probability", Float, nullable=False),  # 0..1, what the forecast weighs by
    Column("outcome", String(8)),  # None: open; "won" / "lost": the opportunity is closed
    _states("outcome", ("won", "lost")),
    CheckConstraint("probability >= 0 AND probability <= 1", name="probability"),
)

leads = Table(
    "leads",
    metadata,
    _id(),
    Column("number", Code, nullable=False, unique=True),
    Column("source", String(16), nullable=False),
    Column("status", String(16), nullable=False, default="new"),
    Column("company", String(200), nullable=False),
    Column("contact_name", String(200)),
    Column("email", String(200)),
    Column("phone", String(40)),
    Column("territory", Code),
    Column("product_line", Code),
    Column("message", Text),
    # qualification (BANT): is there budget, the buyer's authority, a need, a time frame
    Column("budget_cents", BigInteger),
    Column("authority", Boolean),
    Column("need", Text),
    Column("timeframe", String(64)),
    Column("disqualified_reason", Text),
    _user("owner_id"),
    _ref("customers", nullable=True),  # set on conversion
    _ref("contacts", nullable=True),
    Column("opportunity_id", Id, ForeignKey("opportunities.id"), index=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("converted_at", UtcDateTime()),
    _states("source", LEAD_SOURCES),
    _states("status", LEAD_STATES),
    Index("ix_leads_status_created", "status", "created_at"),
)

opportunities = Table(
    "opportunities",
    metadata,
    _id(),
    Column("number", Code, nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    _ref("customers"),
    _ref("contacts", nullable=True),
    Column("stage", Code, ForeignKey("pipeline_stages.code"), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("expected_close", Date, nullable=False),
    _user("owner_id"),
    Column("source", String(16)),  # the lead's source it came from; None: made directly
    Column("product_line", Code),
    Column("competitors", JSON, nullable=False),  # names, as sales hear them
    Column("lost_reason", Text),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("stage_changed_at", UtcDateTime(), nullable=False),
    Column("closed_at", UtcDateTime()),
    # covering: the board's totals and the forecast read the index alone, never the rows
    Index("ix_opportunities_stage_close", "stage", "expected_close", "amount_cents", "owner_id"),
    Index("ix_opportunities_owner_close", "owner_id", "expected_close"),
)

# Every stage an opportunity entered, so conversion from stage to stage is counted.
opportunity_stages = Table(
    "opportunity_stages",
    metadata,
    _id(),
    _ref("opportunities", name="opportunity_id"),
    Column("stage", Code, nullable=False),
    Column("previous", Code),
    _user("by_id"),
    Column("at", UtcDateTime(), nullable=False),
)

# Who gets a new lead or opportunity: the first rule (by position) whose set fields match.
assignment_rules = Table(
    "assignment_rules",
    metadata,
    _id(),
    Column("position", Integer, nullable=False, unique=True),
    Column("territory", Code),
    Column("product_line", Code),
    Column("tier", String(1)),
    _user("owner_id", nullable=False),
)

quotes = Table(
    "quotes",
    metadata,
    _id(),
    Column("number", Code, nullable=False),
    Column("version", Integer, nullable=False),
    _ref("customers"),
    _ref("opportunities", nullable=True, name="opportunity_id"),
    Column("status", String(16), nullable=False, default="draft"),
    Column("order_type", String(24), nullable=False),  # the sales order it becomes
    Column("technical_specs", JSON),
    Column("valid_until", Date, nullable=False),
    Column("notes", Text),
    _user("created_by", nullable=False),
    _user("approved_by"),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("approved_at", UtcDateTime()),
    Column("sent_at", UtcDateTime()),
    Column("decided_at", UtcDateTime()),  # accepted or rejected
    _ref("sales_orders", nullable=True),  # what accepting it made
    _states("status", QUOTE_STATES),
    UniqueConstraint("number", "version", name="uq_quotes_number_version"),
    Index("ix_quotes_status_valid", "status", "valid_until"),
    Index("ix_quotes_sales_order", "sales_order_id"),  # the quote an order came from
)

quote_lines = Table(
    "quote_lines",
    metadata,
    _id(),
    _ref("quotes"),
    Column("line_no", Integer, nullable=False),
    _ref("items"),
    Column("quantity", Float, nullable=False),
    Column("list_price_cents", BigInteger, nullable=False),  # the item's price when quoted
    Column("discount_pct", Float, nullable=False, default=0.0),
    Column("unit_price_cents", BigInteger, nullable=False),  # after the discount
    Column("technical_specs", JSON),
    UniqueConstraint("quote_id", "line_no", name="uq_quote_lines_quote_line"),
    CheckConstraint("quantity > 0", name="quantity"),
    CheckConstraint("discount_pct >= 0 AND discount_pct <= 100", name="discount"),
)

# Follow-ups: what someone has to do next, and by when.
tasks = Table(
    "tasks",
    metadata,
    _id(),
    _user("owner_id", nullable=False),
    Column("kind", String(16), nullable=False),
    Column("title", String(200), nullable=False),
    Column("due_at", UtcDateTime(), nullable=False),
    _ref("customers", nullable=True),
    _ref("opportunities", nullable=True, name="opportunity_id"),
    _ref("quotes", nullable=True),
    Column("notes", Text),
    Column("done_at", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
    _states("kind", TASK_KINDS),
    Index("ix_tasks_owner_due", "owner_id", "done_at", "due_at"),
)

INTERACTION_KINDS = ("call", "visit", "email", "meeting", "note")
AUDITED = ("customer", "contact", "opportunity", "quote", "sales_order")

# What happened with a customer that is not a document: calls, visits, emails, notes.
interactions = Table(
    "interactions",
    metadata,
    _id(),
    _ref("customers"),
    _ref("contacts", nullable=True),
    Column("kind", String(16), nullable=False),
    Column("direction", String(8)),  # in / out; None for a note
    Column("subject", String(200), nullable=False),
    Column("body", Text),
    Column("at", UtcDateTime(), nullable=False),
    _user("user_id", nullable=False),
    _states("kind", INTERACTION_KINDS),
    _states("direction", ("in", "out")),
    Index("ix_interactions_customer_at", "customer_id", "at"),
)

# Every change to a customer, contact, opportunity, quote or order: who, when, before, after.
audit_log = Table(
    "audit_log",
    metadata,
    _id(),
    Column("entity", String(16), nullable=False),
    Column("key", String(64), nullable=False),  # the code or number people know it by
    Column("action", String(32), nullable=False),  # created, updated, confirmed, ...
    _user("user_id"),  # None: the system (ingest, a scheduled job)
    Column("at", UtcDateTime(), nullable=False),
    Column("changes", JSON, nullable=False),  # {field: [before, after]}
    _states("entity", AUDITED),
    Index("ix_audit_log_entity_key", "entity", "key", "id"),
)

IMPORT_KINDS = ("customers", "contacts", "items", "open_orders")
IMPORT_STATES = ("previewed", "running", "done", "failed", "refused")

# A file being imported: what was asked, how far it is, and every bad row found.
import_jobs = Table(
    "import_jobs",
    metadata,
    _id(),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("filename", String(200), nullable=False),
    Column("mapping", JSON, nullable=False),  # file column -> field
    Column("only_good_rows", Boolean, nullable=False),
    Column("total", Integer, nullable=False),
    Column("done", Integer, nullable=False),
    Column("imported", Integer, nullable=False),
    Column("errors", JSON, nullable=False),  # [{row, field, message}]
    _user("created_by", nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime()),
    _states("kind", IMPORT_KINDS),
    _states("status", IMPORT_STATES),
)

ADDRESS_KINDS = ("billing", "shipping", "site")

# An account's addresses: where invoices go, where goods go, where technicians go.
customer_addresses = Table(
    "customer_addresses",
    metadata,
    _id(),
    _ref("customers"),
    Column("kind", String(16), nullable=False),
    Column("label", String(64)),  # "Plant 2", "Head office"
    Column("street", String(200), nullable=False),
    Column("postcode", String(16)),
    Column("city", String(100), nullable=False),
    Column("country", String(2), nullable=False),  # ISO 3166-1 alpha-2
    Column("is_default", Boolean, nullable=False, default=False),
    _states("kind", ADDRESS_KINDS),
)

# Tags set by hand; rule tags ("bought in the last 90 days", ...) are computed when read.
customer_tags = Table(
    "customer_tags",
    metadata,
    Column("customer_id", Id, ForeignKey("customers.id"), primary_key=True),
    Column("tag", String(64), primary_key=True),
    _user("added_by"),
    Column("added_at", UtcDateTime(), nullable=False),
    Index("ix_customer_tags_tag", "tag"),
)

__all__ = [
    "ADDRESS_KINDS",
    "AUDITED",
    "IMPORT_KINDS",
    "IMPORT_STATES",
    "INTERACTION_KINDS",
    "LEAD_SOURCES",
    "LEAD_STATES",
    "QUOTE_STATES",
    "TASK_KINDS",
    "TIERS",
    "assignment_rules",
    "audit_log",
    "customer_addresses",
    "customer_tags",
    "import_jobs",
    "interactions",
    "leads",
    "opportunities",
    "opportunity_stages",
    "pipeline_stages",
    "quote_lines",
    "quotes",
    "tasks",
]
