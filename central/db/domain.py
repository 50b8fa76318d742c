"""Tables of the order service: customers to receivables, driven by what the floor reports.

Money is kept in integer cents (exact on every database); quantities are floats in the
item's unit. Codes (``customers.code``, ``items.code``, ``production_orders.number`` ...)
are what people type and scan; ids are what rows point at. A production order's number
is the ``work_order`` the stations scan and the events carry.

The model leaves room for what later issues add on top: work centers have calendars and
capacity for scheduling, tasks have planned and actual times for the Gantt chart, stock
moves and consumption by lot are the genealogy that traceability and repairs read.
"""

from __future__ import annotations

from typing import Any

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

from central.db.schema import Id, UtcDateTime, metadata

Code = String(64)


def _id() -> Column[int]:
    return Column("id", Id, primary_key=True, autoincrement=True)


def _ref(table: str, *, nullable: bool = False, name: str | None = None) -> Column[int]:
    return Column(
        name or f"{table.removesuffix('s')}_id",
        Id,
        ForeignKey(f"{table}.id"),
        nullable=nullable,
        index=True,
    )


def _name_key(context: Any) -> str | None:
    from central.crm.names import name_key  # a pure function; here so every insert folds

    name = context.get_current_parameters().get("name")
    return None if name is None else name_key(name)


def _states(column: str, values: tuple[str, ...]) -> CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=column)


ITEM_KINDS = ("make", "buy", "service")
TRACKING = ("none", "lot", "serial")
ORDER_TYPES = ("standard", "make_to_order", "engineered", "service_contract", "repair")
ORDER_STATES = (
    "draft",
    "confirmed",
    "held",
    "in_production",
    "ready",
    "shipped",
    "closed",
    "cancelled",
)
PRODUCTION_STATES = ("planned", "released", "in_progress", "completed", "closed", "cancelled")
TASK_STATES = ("pending", "running", "done")
ROLES = ("planner", "sales", "service", "supervisor", "admin")

users = Table(
    "users",
    metadata,
    _id(),
    Column("name", String(64), nullable=False, unique=True),
    Column("roles", JSON, nullable=False),  # a list of ROLES
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 hex of the token
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime()),  # the API token's end; none: until revoked
)

# A page's sign-in: a session token (sha256 kept) that ends at expires_at, or earlier once
# idle past idle_until (moved on by use).
user_sessions = Table(
    "user_sessions",
    metadata,
    _id(),
    _ref("users"),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("idle_until", UtcDateTime(), nullable=False),
)

# One answer per (user, key): a retried create returns the first answer instead of a twin.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("user_id", Id, ForeignKey("users.id"), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

customers = Table(
    "customers",
    metadata,
    _id(),
    Column("code", Code, nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("tax_id", String(32)),
    Column("email", String(200)),
    Column("phone", String(40)),
    Column("address", Text),
    Column("credit_limit_cents", BigInteger),  # None: no limit
    Column("payment_terms_days", Integer, nullable=False, default=30),
    Column("territory", Code),  # the sales territory, and where field service comes from
    Column("tier", String(1)),  # A / B / C: how much attention the account gets
    Column("owner_id", Id, ForeignKey("users.id"), index=True),  # the account manager
    # the parent account of a subsidiary (B2B groups)
    Column("parent_id", Id, ForeignKey("customers.id"), index=True),
    # the name folded for duplicate checks (case, accents, legal form and punctuation off),
    # set from the name by every insert (an update of the name sets it too: customers API)
    Column("name_key", String(200), index=True, default=_name_key),
    Column("created_at", UtcDateTime(), nullable=False),
)

BUYING_ROLES = ("decision_maker", "influencer", "user", "technical", "purchasing")

contacts = Table(
    "contacts",
    metadata,
    _id(),
    _ref("customers"),
    Column("name", String(200), nullable=False),
    Column("role", String(64)),  # the job title
    Column("email", String(200)),
    Column("phone", String(40)),
    Column("buying_role", String(16)),  # their part in the buying decision
    Column("reports_to_id", Id, ForeignKey("contacts.id")),  # for the decision map
    _states("buying_role", BUYING_ROLES),
)

items = Table(
    "items",
    metadata,
    _id(),
    Column("code", Code, nullable=False, unique=True),
    Column("description", String(200), nullable=False),
    Column("gtin", String(14), unique=True),  # what a GS1 lot label of it carries
    Column("kind", String(16), nullable=False),
    Column("tracking", String(16), nullable=False, default="none"),
    Column("unit", String(16), nullable=False, default="pcs"),
    Column("price_cents", BigInteger, nullable=False, default=0),
    Column("lead_time_days", Integer, nullable=False, default=0),  # buy: supplier lead time
    # from shipment; a repair within it is under warranty
    Column("warranty_months", Integer, nullable=False, default=12, server_default="12"),
    _states("kind", ITEM_KINDS),
    _states("tracking", TRACKING),
)

# Shifts and holidays as plain data: [{"weekday": 0-6, "start": "06:00", "end": "14:00"}],
# ["2026-12-25", ...]; the scheduler reads them as they are.
calendars = Table(
    "calendars",
    metadata,
    _id(),
    Column("code", Code, nullable=False, unique=True),
    Column("shifts", JSON, nullable=False),
    Column("holidays", JSON, nullable=False),
)

work_centers = Table(
    "work_centers",
    metadata,
    _id(),
    Column("code", Code, nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("capacity", Integer, nullable=False, default=1),  # parallel identical machines
    _ref("calendars", nullable=True),
    # where it stands on the floor: the edge node its orders are dispatched to, and stations
    Column("edge_id", String(260)),
    Column("stations", JSON, nullable=False),
    CheckConstraint("capacity >= 1", name="capacity"),
)

routing_operations = Table(
    "routing_operations",
    metadata,
    _id(),
    _ref("items"),
    Column("operation", Code, nullable=False),  # "10", "20", ... as on the traveller
    Column("sequence", Integer, nullable=False),
    Column("description", String(200), nullable=False, default=""),
    _ref("work_centers"),
    Column("setup_minutes", Float, nullable=False, default=0.0),
    Column("run_minutes_per_unit", Float, nullable=False),
    Column("crew_size", Integer, nullable=False, default=1),
    Column("inspection_required", Boolean, nullable=False, default=False),
    Column("predecessors", JSON, nullable=False),  # operations that must finish first
    UniqueConstraint("item_id", "operation", name="uq_routing_operations_item_operation"),
)

bom_lines = Table(
    "bom_lines",
    metadata,
    _id(),
    _ref("items"),  # the parent made
    Column("operation", Code, nullable=False),  # consumed at this operation
    _ref("items", name="component_id"),
    Column("quantity_per_unit", Float, nullable=False),
    Column("scrap_allowance", Float, nullable=False, default=0.0),  # fraction, 0.02 = 2 %
    Column("issue_tolerance", Float, nullable=False, default=0.0),  # fraction over-issue allowed
    UniqueConstraint("item_id", "operation", "component_id", name="uq_bom_lines_item_op_comp"),
)

defect_codes = Table(
    "defect_codes",
    metadata,
    Column("code", Code, primary_key=True),
    Column("description", String(200), nullable=False),
)

operators = Table(
    "operators",
    metadata,
    Column("badge", Code, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("skills", JSON, nullable=False),  # work center codes the operator may run
)

sales_orders = Table(
    "sales_orders",
    metadata,
    _id(),
    Column("number", Code, nullable=False, unique=True),
    _ref("customers"),
    Column("type", String(24), nullable=False),
    Column("status", String(16), nullable=False, default="draft"),
    Column("hold_reason", Text),
    Column("customer_reference", String(64)),
    Column("technical_specs", JSON),  # engineered orders: free specs
    Column("due_date", Date),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("confirmed_at", UtcDateTime()),
    _states("type", ORDER_TYPES),
    _states("status", ORDER_STATES),
    Index("ix_sales_orders_status_due", "status", "due_date"),
    Index("ix_sales_orders_status_number", "status", "number"),  # a status's page, in order
)

sales_order_lines = Table(
    "sales_order_lines",
    metadata,
    _id(),
    _ref("sales_orders"),
    Column("line_no", Integer, nullable=False),
    _ref("items"),
    Column("quantity", Float, nullable=False),
    Column("unit_price_cents", BigInteger, nullable=False),
    Column("due_date", Date),
    Column("technical_specs", JSON),
    Column("produced", Float, nullable=False, default=0.0),  # finished goods received for it
    Column("shipped", Float, nullable=False, default=0.0),
    UniqueConstraint("sales_order_id", "line_no", name="uq_sales_order_lines_order_line"),
    CheckConstraint("quantity > 0", name="quantity"),
)

production_orders = Table(
    "production_orders",
    metadata,
    _id(),
    Column("number", Code, nullable=False, unique=True),  # the work order on the floor
    _ref("sales_order_lines", nullable=True),  # None: made for stock
    # the production order this one makes a component for (None: it makes an end item)
    Column("parent_id", Id, ForeignKey("production_orders.id"), index=True),
    _ref("items"),
    Column("quantity", Float, nullable=False),
    Column("status", String(16), nullable=False, default="planned"),
    Column("due_date", Date),
    Column("release_date", Date),  # not to start before
    Column("planned_start", UtcDateTime()),
    Column("planned_end", UtcDateTime()),
    # when it will finish at the pace the floor reports: recomputed as events arrive
    Column("predicted_end", UtcDateTime()),
    Column("released_at", UtcDateTime()),
    Column("completed_at", UtcDateTime()),
    Column("received", Float, nullable=False, default=0.0),  # finished goods booked in
    Column("priority", Integer, nullable=False, default=0),
    Column("technical_specs", JSON),  # an engineered line's specs, for the floor and the file
    _states("status", PRODUCTION_STATES),
    Index("ix_production_orders_status_number", "status", "number"),
)

# One task per routing operation of a production order; the floor's reports land here.
# ``work_order`` repeats the order's number so ingest updates by what events carry.
operation_tasks = Table(
    "operation_tasks",
    metadata,
    _id(),
    _ref("production_orders"),
    Column("work_order", Code, nullable=False),
    Column("operation", Code, nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("last", Boolean, nullable=False),  # its qualified pieces are finished goods
    _ref("work_centers"),
    Column("quantity", Float, nullable=False),
    Column("setup_minutes", Float, nullable=False),
    Column("run_minutes_per_unit", Float, nullable=False),
    Column("crew_size", Integer, nullable=False),
    Column("inspection_required", Boolean, nullable=False),
    Column("predecessors", JSON, nullable=False),
    Column("status", String(16), nullable=False, default="pending"),
    Column("planned_start", UtcDateTime()),
    Column("planned_end", UtcDateTime()),
    Column("actual_start", UtcDateTime()),
    Column("actual_end", UtcDateTime()),
    Column("good", BigInteger, nullable=False, default=0),
    Column("scrap", BigInteger, nullable=False, default=0),
    Column("rework", BigInteger, nullable=False, default=0),
    Column("labour_hours", Float, nullable=False, default=0.0),
    Column("inspected", BigInteger, nullable=False, default=0),
    Column("rejected", BigInteger, nullable=False, default=0),  # inspected and scrapped
    _states("status", TASK_STATES),
    UniqueConstraint("work_order", "operation", name="uq_operation_tasks_work_order_operation"),
)

material_consumption = Table(
    "material_consumption",
    metadata,
    _id(),
    Column("work_order", Code, nullable=False, index=True),
    Column("operation", Code, nullable=False),
    Column("item", Code, nullable=False),
    Column("lot", String(64), nullable=False, index=True),
    Column("quantity", Float, nullable=False),
    Column("station", Code, nullable=False),
    Column("operators", JSON, nullable=False),
    Column("over_issue_approved_by", Code),
    Column("edge_id", String(260), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("at", UtcDateTime(), nullable=False),
)

inspections = Table(
    "inspections",
    metadata,
    _id(),
    Column("work_order", Code, nullable=False, index=True),
    Column("operation", Code, nullable=False),
    Column("inspected", Integer, nullable=False),
    Column("disposition", String(16), nullable=False),
    Column("defects", JSON, nullable=False),
    Column("inspector", Code, nullable=False),
    Column("lot", String(64)),
    Column("serial", String(64)),
    Column("sampling", String(8), nullable=False, server_default="sample"),
    Column("result", String(8)),
    Column("rework_operation", Code),
    Column("station", Code, nullable=False),
    Column("edge_id", String(260), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("at", UtcDateTime(), nullable=False),
)

# On hand by item, lot / serial ('' when untracked) and location; moves are the ledger.
stock = Table(
    "stock",
    metadata,
    Column("item_id", Id, ForeignKey("items.id"), primary_key=True),
    Column("lot", String(64), primary_key=True),
    Column("location", Code, primary_key=True),
    Column("quantity", Float, nullable=False),
)

stock_moves = Table(
    "stock_moves",
    metadata,
    _id(),
    _ref("items"),
    Column("lot", String(64), nullable=False),
    Column("from_location", Code),  # None: comes from outside (receipt, purchase)
    Column("to_location", Code),  # None: leaves (shipment, consumption)
    Column("quantity", Float, nullable=False),
    Column("reason", String(16), nullable=False),
    Column("reference", Code, nullable=False),  # order, production order or shipment number
    Column("at", UtcDateTime(), nullable=False),
    _states("reason", ("receipt", "purchase", "consumption", "shipment", "adjustment")),
    Index("ix_stock_moves_item_lot", "item_id", "lot"),
)

reservations = Table(
    "reservations",
    metadata,
    _id(),
    _ref("sales_order_lines", nullable=True),
    _ref("production_orders", nullable=True),
    _ref("items"),
    Column("lot", String(64), nullable=False),
    Column("location", Code, nullable=False),
    Column("quantity", Float, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

purchase_suggestions = Table(
    "purchase_suggestions",
    metadata,
    _id(),
    _ref("items"),
    _ref("production_orders", nullable=True),  # material for this order, or
    _ref("sales_order_lines", nullable=True),  # a bought item sold on this line
    Column("quantity", Float, nullable=False),
    Column("needed_by", Date),
    Column("status", String(16), nullable=False, default="open"),
    Column("created_at", UtcDateTime(), nullable=False),
    _states("status", ("open", "ordered", "cancelled")),
)

shipments = Table(
    "shipments",
    metadata,
    _id(),
    Column("number", Code, nullable=False, unique=True),
    _ref("sales_orders"),
    Column("shipped_at", UtcDateTime(), nullable=False),
    Column("carrier", String(64)),
    Column("tracking", String(64)),
)

shipment_lines = Table(
    "shipment_lines",
    metadata,
    _id(),
    _ref("shipments"),
    _ref("sales_order_lines"),
    _ref("items"),
    Column("lot", String(64), nullable=False, index=True),  # the recall query's last step
    Column("quantity", Float, nullable=False),
)

invoices = Table(
    "invoices",
    metadata,
    _id(),
    Column("number", Code, nullable=False, unique=True),
    _ref("customers"),
    _ref("sales_orders"),
    _ref("shipments", nullable=True),
    Column("amount_cents", BigInteger, nullable=False),
    Column("paid_cents", BigInteger, nullable=False, default=0),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("due_date", Date, nullable=False),
    Column("status", String(16), nullable=False, default="open"),
    _states("status", ("open", "paid", "void")),
)

payments = Table(
    "payments",
    metadata,
    _id(),
    _ref("invoices"),
    Column("amount_cents", BigInteger, nullable=False),
    Column("received_at", UtcDateTime(), nullable=False),
    Column("reference", String(64)),
)

# Every dispatch to an edge gets the next version; the edge keeps only the newest.
dispatches = Table(
    "dispatches",
    metadata,
    Column("edge_id", String(260), primary_key=True),
    Column("command", String(32), primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("issued_at", UtcDateTime(), nullable=False),
    Column("body", JSON, nullable=False),
    Column("published", Boolean, nullable=False, default=False),
)

# Document numbers (SO-000123, WO-000456, SH-..., INV-...): the last one issued per series.
number_series = Table(
    "number_series",
    metadata,
    Column("series", String(16), primary_key=True),
    Column("last", BigInteger, nullable=False),
)
