"""A hand-checked order book for RFM: ten scored customers whose scores are worked out below.

As of ``AS_OF``, window 365 days (an order counts when ``AS_OF - 365 d < moment <= AS_OF``).
Each order is placed ``d`` days and 3 hours before ``AS_OF``, so its recency is ``d``.

    customer  orders counted (days ago: cents)                     R days  F  M cents
    ACE       5, 40, 100, 200: 100,000 each; a draft 1 d, a         5      4  400,000
              cancelled 2 d ago do not count
    BOLT      10: 50,000; 100, 300: 100,000; one dated 2 d after     10      3  250,000
              AS_OF does not count
    CRANE     20: 2.5 x 301 + 1.5 x 165 = 752.5 + 247.5              20      1    1,000
    DELTA     60, 120: 25,000 each                                   60      2   50,000
    ECHO      created 95, confirmed 90: 60,000; 180: 60,000          90      2  120,000
    FOX       150: 5,000; 500 (outside the window): 77,777          150      1    5,000
    GOLF      200, 250, 300: 100,000 each; exactly 365 d before     200      3  300,000
              AS_OF (the window's open end): 50,000, not in it
    HOTEL     held (no confirmation) 300: 30,000; 330: 20,000      300      2   50,000
    INDIA     400: 10,000 (before the window)                       400      0        0
    JULIET    700: 70,000; 800: 70,000                              700      0        0
    NEVER     no order: not scored
    DRAFTY    a draft and a cancelled order: not scored

Scores with n = 10: ``1 + floor(5 w / 10) = 1 + w // 2`` (w: customers strictly worse).

    R: days 5 10 20 60 90 150 200 300 400 700 have w = 9 ... 0 (more days is worse)
       -> ACE 5, BOLT 5, CRANE 4, DELTA 4, ECHO 3, FOX 3, GOLF 2, HOTEL 2, INDIA 1, JULIET 1
    F: sorted 0 0 1 1 2 2 2 3 3 4; F=0 w0 -> 1, F=1 w2 -> 2, F=2 w4 -> 3, F=3 w7 -> 4,
       F=4 w9 -> 5
    M: sorted 0 0 1k 5k 50k 50k 120k 250k 300k 400k; 0 w0 -> 1, 1k w2 -> 2, 5k w3 -> 2,
       50k w4 -> 3 (both), 120k w6 -> 4, 250k w7 -> 4, 300k w8 -> 5, 400k w9 -> 5

    customer  R F M  FM = (F+M+1)//2  segment (first matching rule)
    ACE       5 5 5  5                Champions
    BOLT      5 4 4  4                Champions
    CRANE     4 2 2  2                Potential Loyalist
    DELTA     4 3 3  3                Loyal
    ECHO      3 3 4  4                Loyal (R 3 is not Champions)
    FOX       3 2 2  2                Need Attention
    GOLF      2 4 5  5                Can't Lose Them
    HOTEL     2 3 3  3                At Risk
    INDIA     1 1 1  1                Lost
    JULIET    1 1 1  1                Lost

``JULIET_RETURNS`` then adds a 500,000 order of JULIET's 1 day before AS_OF; the second run:

    R: days 1 5 10 20 60 90 150 200 300 400 -> JULIET 5, ACE 5, BOLT 4, CRANE 4, DELTA 3,
       ECHO 3, FOX 2, GOLF 2, HOTEL 1, INDIA 1
    F: sorted 0 1 1 1 2 2 2 3 3 4; F=0 -> 1, F=1 w1 -> 1, F=2 w4 -> 3, F=3 w7 -> 4, F=4 -> 5
    M: sorted 0 1k 5k 50k 50k 120k 250k 300k 400k 500k; 0 -> 1, 1k w1 -> 1, 5k w2 -> 2,
       50k w3 -> 2, 120k w5 -> 3, 250k w6 -> 4, 300k w7 -> 4, 400k w8 -> 5, 500k w9 -> 5

    ACE 5 5 5 FM5 Champions; BOLT 4 4 4 FM4 Champions; CRANE 4 1 1 FM1 Promising (was
    Potential Loyalist); DELTA 3 3 2 FM3 Loyal; ECHO 3 3 3 FM3 Loyal; FOX 2 1 2 FM2
    Hibernating (was Need Attention); GOLF 2 4 4 FM4 At Risk (was Can't Lose Them);
    HOTEL 1 3 2 FM3 At Risk; INDIA 1 1 1 Lost; JULIET 5 1 5 FM3 Loyal (was Lost)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select

from central.db.domain import customers, items, sales_order_lines, sales_orders

AS_OF = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
WINDOW = 365

# code: (recency days, frequency, monetary cents, r, f, m, segment)
EXPECTED: dict[str, tuple[int, int, int, int, int, int, str]] = {
    "ACE": (5, 4, 400_000, 5, 5, 5, "Champions"),
    "BOLT": (10, 3, 250_000, 5, 4, 4, "Champions"),
    "CRANE": (20, 1, 1_000, 4, 2, 2, "Potential Loyalist"),
    "DELTA": (60, 2, 50_000, 4, 3, 3, "Loyal"),
    "ECHO": (90, 2, 120_000, 3, 3, 4, "Loyal"),
    "FOX": (150, 1, 5_000, 3, 2, 2, "Need Attention"),
    "GOLF": (200, 3, 300_000, 2, 4, 5, "Can't Lose Them"),
    "HOTEL": (300, 2, 50_000, 2, 3, 3, "At Risk"),
    "INDIA": (400, 0, 0, 1, 1, 1, "Lost"),
    "JULIET": (700, 0, 0, 1, 1, 1, "Lost"),
}
SECOND: dict[str, tuple[int, int, int, str]] = {  # code: (r, f, m, segment) after JULIET returns
    "ACE": (5, 5, 5, "Champions"),
    "BOLT": (4, 4, 4, "Champions"),
    "CRANE": (4, 1, 1, "Promising"),
    "DELTA": (3, 3, 2, "Loyal"),
    "ECHO": (3, 3, 3, "Loyal"),
    "FOX": (2, 1, 2, "Hibernating"),
    "GOLF": (2, 4, 4, "At Risk"),
    "HOTEL": (1, 3, 2, "At Risk"),
    "INDIA": (1, 1, 1, "Lost"),
    "JULIET": (5, 1, 5, "Loyal"),
}
CHANGED = {
    "CRANE": ("Potential Loyalist", "Promising"),
    "FOX": ("Need Attention", "Hibernating"),
    "GOLF": ("Can't Lose Them", "At Risk"),
    "JULIET": ("Lost", "Loyal"),
}


def ago(days: float, hours: float = 3) -> datetime:
    return AS_OF - timedelta(days=days, hours=hours)


class Book:
    """Writes customers and orders straight into the tables, at moments the test picks."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.orders = 0
        self.item_id = conn.execute(
            insert(items)
            .values(code="PUMP", description="Pump", kind="make", price_cents=0)
            .returning(items.c.id)
        ).scalar_one()

    def customer(self, code: str) -> int:
        return int(
            self.conn.execute(
                insert(customers)
                .values(code=code, name=f"{code.title()} Ltd", created_at=ago(1000))
                .returning(customers.c.id)
            ).scalar_one()
        )

    def order(
        self,
        code: str,
        days: float,
        *lines: tuple[float, int],
        status: str = "confirmed",
        created: float | None = None,
        hours: float = 3,
    ) -> str:
        """An order of ``code`` confirmed ``days`` ago (``lines``: quantity, unit price)."""
        self.orders += 1
        number = f"SO-{self.orders:04d}"
        customer_id = self.conn.execute(
            select(customers.c.id).where(customers.c.code == code)
        ).scalar_one()
        confirmed = None if status in ("draft", "held") else ago(days, hours)
        order_id = self.conn.execute(
            insert(sales_orders)
            .values(
                number=number,
                customer_id=customer_id,
                type="standard",
                status=status,
                created_at=ago(days if created is None else created, hours),
                confirmed_at=confirmed,
            )
            .returning(sales_orders.c.id)
        ).scalar_one()
        for line_no, (quantity, price) in enumerate(lines, start=1):
            self.conn.execute(
                insert(sales_order_lines).values(
                    sales_order_id=order_id,
                    line_no=line_no,
                    item_id=self.item_id,
                    quantity=quantity,
                    unit_price_cents=price,
                )
            )
        return number


def one(cents: int) -> tuple[float, int]:
    return (1.0, cents)


def fill(conn: Connection) -> Book:
    """The order book of the module docstring."""
    book = Book(conn)
    for code in (*EXPECTED, "NEVER", "DRAFTY"):
        book.customer(code)
    for days in (5, 40, 100, 200):
        book.order("ACE", days, one(100_000))
    book.order("ACE", 1, one(999), status="draft")
    book.order("ACE", 2, one(999), status="cancelled")
    book.order("BOLT", 10, one(50_000), status="shipped")
    book.order("BOLT", 100, one(100_000), status="closed")
    book.order("BOLT", 300, one(100_000), status="in_production")
    book.order("BOLT", -2, one(1_000_000))  # after AS_OF
    book.order("CRANE", 20, (2.5, 301), (1.5, 165))
    book.order("DELTA", 60, one(25_000))
    book.order("DELTA", 120, one(25_000))
    book.order("ECHO", 90, one(60_000), created=95)
    book.order("ECHO", 180, one(60_000), status="ready")
    book.order("FOX", 150, one(5_000))
    book.order("FOX", 500, one(77_777))
    for days in (200, 250, 300):
        book.order("GOLF", days, one(100_000))
    book.order("GOLF", 365, one(50_000), hours=0)  # the window's open end
    book.order("HOTEL", 300, one(30_000), status="held")
    book.order("HOTEL", 330, one(20_000))
    book.order("INDIA", 400, one(10_000))
    book.order("JULIET", 700, one(70_000))
    book.order("JULIET", 800, one(70_000))
    book.order("DRAFTY", 3, one(10_000), status="draft")
    book.order("DRAFTY", 4, one(10_000), status="cancelled")
    return book


def juliet_returns(book: Book) -> str:
    return book.order("JULIET", 1, one(500_000))


def summary_row(row: Any) -> tuple[int, int, int, int, int, int, str]:
    return (
        row.recency_days,
        row.frequency,
        row.monetary_cents,
        row.r,
        row.f,
        row.m,
        row.segment,
    )
