"""What each kind of import takes, and every row checked against it in memory.

A field is plain data (type, limits, synonyms for the mapping proposal); ``check`` turns
a sheet's text cells into typed rows and a list of bad rows ``{row, field, message}``, with
what the database holds given as sets and dicts (``Known``), so 100,000 rows cost no
query each. A row is bad when any of its cells is; duplicates inside the file make the
later row bad; an open order with one bad line is bad as a whole (nothing half-imported).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from central.crm.import_files import Sheet
from central.db.domain import ITEM_KINDS, ORDER_TYPES, TRACKING

__all__ = ["FIELDS", "Checked", "Field", "ItemFacts", "Known", "check", "synonyms"]

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
GTIN = re.compile(r"^\d{8,14}$")
INT = re.compile(r"^[+-]?\d+(\.0*)?$")
MAX_QUANTITY = 1e9  # as the API's order lines (central.api.rows.MAX_QUANTITY)


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # text, code, email, int, quantity, date, choice, gtin
    required: bool = False
    max_length: int = 200
    low: int = 0
    high: int = 2**62
    choices: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()


def _f(name: str, type: str = "text", **kw: Any) -> Field:
    return Field(name, type, **kw)


_CUSTOMER_CODE = ("customercode", "customerno", "customernumber", "kundennummer", "kundennr")
_EMAIL = ("e-mail", "mail", "emailaddress", "e-mail-adresse")
_PHONE = ("telephone", "tel", "phonenumber", "telefon", "mobile")

FIELDS: dict[str, tuple[Field, ...]] = {
    "customers": (
        _f("code", "code", required=True, synonyms=(*_CUSTOMER_CODE, "account no", "debitor")),
        _f("name", required=True, synonyms=("company", "customer", "customer name", "firma")),
        _f("tax_id", max_length=32, synonyms=("vat id", "vat", "vat no", "ust-idnr", "tax no")),
        _f("email", "email", synonyms=_EMAIL),
        _f("phone", max_length=40, synonyms=_PHONE),
        _f("address", max_length=2000, synonyms=("adresse", "anschrift", "postal address")),
        _f("credit_limit_cents", "int", synonyms=("credit limit cents",)),
        _f("payment_terms_days", "int", high=3650, synonyms=("payment terms", "zahlungsziel")),
        _f("territory", "code", synonyms=("region", "sales territory", "gebiet")),
        _f("tier", "choice", choices=("A", "B", "C"), synonyms=("abc", "class", "kundenklasse")),
        _f("owner", "text", max_length=64, synonyms=("account manager", "sales rep", "betreuer")),
        _f("parent", "code", synonyms=("parent code", "parent account", "parent customer")),
    ),
    "contacts": (
        _f("customer", "code", required=True, synonyms=(*_CUSTOMER_CODE, "account")),
        _f("name", required=True, synonyms=("contact", "contact name", "full name")),
        _f("role", max_length=64, synonyms=("position", "job title", "title", "funktion")),
        _f("email", "email", synonyms=_EMAIL),
        _f("phone", max_length=40, synonyms=_PHONE),
    ),
    "items": (
        _f("code", "code", required=True, synonyms=("item", "item code", "item no", "sku")),
        _f("description", required=True, synonyms=("name", "item name", "bezeichnung")),
        _f("gtin", "gtin", synonyms=("ean", "barcode", "upc")),
        _f("kind", "choice", required=True, choices=ITEM_KINDS, synonyms=("item type", "type")),
        _f("tracking", "choice", choices=TRACKING),
        _f("unit", max_length=16, synonyms=("uom", "unit of measure", "einheit")),
        _f("price_cents", "int", synonyms=("price cents", "unit price cents")),
        _f("lead_time_days", "int", high=3650, synonyms=("lead time", "lieferzeit")),
        _f("warranty_months", "int", high=600, synonyms=("warranty", "garantie")),
    ),
    "open_orders": (
        _f("order", "text", required=True, max_length=64, synonyms=("order no", "order ref")),
        _f("customer", "code", required=True, synonyms=_CUSTOMER_CODE),
        _f("type", "choice", choices=ORDER_TYPES, synonyms=("order type",)),
        _f("due_date", "date", synonyms=("due", "delivery date", "liefertermin")),
        _f("item", "code", required=True, synonyms=("item code", "item no", "sku")),
        _f("quantity", "quantity", required=True, synonyms=("qty", "menge")),
        _f("unit_price_cents", "int", synonyms=("price cents", "unit price cents")),
        _f("technical_specs", max_length=4000, synonyms=("specs", "specification")),
    ),
}


def synonyms(kind: str) -> dict[str, tuple[str, ...]]:
    return {f.name: f.synonyms for f in FIELDS[kind]}


@dataclass(frozen=True)
class ItemFacts:
    id: int
    kind: str


@dataclass
class Known:
    """What the database holds that rows are checked against."""

    customers: dict[str, int] = field(default_factory=dict)  # code -> id
    items: dict[str, ItemFacts] = field(default_factory=dict)  # code -> facts
    gtins: set[str] = field(default_factory=set)
    users: dict[str, int] = field(default_factory=dict)  # name -> id
    contacts: set[tuple[str, str]] = field(default_factory=set)  # (customer code, name folded)
    orders: dict[tuple[str, str], str] = field(default_factory=dict)  # (customer, ref) -> number


@dataclass
class Checked:
    rows: list[tuple[int, dict[str, Any]]]  # the good rows, typed, with their row numbers
    errors: list[dict[str, Any]]  # every bad row's {row, field, message}
    bad: int  # how many rows are bad

    @property
    def good(self) -> int:
        return len(self.rows)


class _Bad(ValueError):
    pass


def check(kind: str, sheet: Sheet, mapping: dict[str, str], known: Known) -> Checked:
    """Every row of ``sheet`` read through ``mapping`` (file column -> field)."""
    fields = {f.name: f for f in FIELDS[kind]}
    missing = [f.name for f in fields.values() if f.required and f.name not in mapping.values()]
    if missing:
        unmapped = [
            {"row": None, "field": name, "message": "no column of the file is mapped to it"}
            for name in missing
        ]
        return Checked([], unmapped, len(sheet.rows))
    columns = [
        (i, fields[mapping[h]]) for i, h in enumerate(sheet.headers) if mapping.get(h) in fields
    ]
    typed: list[tuple[int, dict[str, Any]]] = []
    errors: dict[int, list[dict[str, Any]]] = {}
    for number, cells in sheet.rows:
        values: dict[str, Any] = {}
        for i, spec in columns:
            try:
                values[spec.name] = _value(spec, cells[i])
            except _Bad as exc:
                errors.setdefault(number, []).append(_error(number, spec.name, str(exc)))
        for spec in fields.values():
            if spec.required and values.get(spec.name) is None and not _has(errors, number, spec):
                errors.setdefault(number, []).append(_error(number, spec.name, "required"))
        typed.append((number, values))
    _ROWS[kind](typed, errors, known)
    good = [(n, v) for n, v in typed if n not in errors]
    listed = [e for n, _ in typed for e in errors.get(n, ())]
    return Checked(good, listed, len(typed) - len(good))


def _has(errors: dict[int, list[dict[str, Any]]], number: int, spec: Field) -> bool:
    return any(e["field"] == spec.name for e in errors.get(number, ()))


def _error(row: int, field: str, message: str) -> dict[str, Any]:
    return {"row": row, "field": field, "message": message}


def _value(spec: Field, text: str) -> Any:
    if text == "":
        return None
    limit = 64 if spec.type == "code" else spec.max_length
    if len(text) > limit:
        raise _Bad(f"longer than {limit} characters")
    if spec.type == "code" and not CODE.match(text):
        raise _Bad(f"{text!r} is not a code (letters, digits and _ . : / -)")
    if spec.type == "email" and not EMAIL.match(text):
        raise _Bad(f"{text!r} is not an e-mail address")
    if spec.type == "gtin" and not GTIN.match(text):
        raise _Bad(f"{text!r} is not a GTIN (8 to 14 digits)")
    if spec.type == "int":
        if not INT.match(text):
            raise _Bad(f"{text!r} is not a whole number")
        number = int(float(text)) if "." in text else int(text)
        if not spec.low <= number <= spec.high:
            raise _Bad(f"{number} is not between {spec.low} and {spec.high}")
        return number
    if spec.type == "quantity":
        return _quantity(text)
    if spec.type == "date":
        return _date(text)
    if spec.type == "choice":
        chosen = next((c for c in spec.choices if c.casefold() == text.casefold()), None)
        if chosen is None:
            raise _Bad(f"{text!r} is none of {', '.join(spec.choices)}")
        return chosen
    return text


def _quantity(text: str) -> float:
    as_float = text.replace(",", ".") if "." not in text else text
    try:
        quantity = float(as_float)
    except ValueError:
        raise _Bad(f"{text!r} is not a number") from None
    if not math.isfinite(quantity) or quantity <= 0:
        raise _Bad(f"{text!r} is not a positive quantity")
    if quantity > MAX_QUANTITY:
        raise _Bad(f"{text!r} is more than {MAX_QUANTITY:,.0f}")
    return quantity


def _date(text: str) -> date:
    for pattern in ("%Y-%m-%d", "%d.%m.%Y", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise _Bad(f"{text!r} is not a date (2026-12-31 or 31.12.2026)")


Rows = list[tuple[int, dict[str, Any]]]
Errors = dict[int, list[dict[str, Any]]]


def _first_seen(errors: Errors, number: int, key: object, seen: dict[Any, int], field: str) -> None:
    """Record ``key`` for row ``number``, or make the row bad when an earlier row had it."""
    if key in seen:
        shown = key[-1] if isinstance(key, tuple) else key
        message = f"{shown!r} is also on row {seen[key]}"
        errors.setdefault(number, []).append(_error(number, field, message))
    else:
        seen[key] = number


def _bad(errors: Errors, number: int, field: str, message: str) -> None:
    errors.setdefault(number, []).append(_error(number, field, message))


def _customers(rows: Rows, errors: Errors, known: Known) -> None:
    seen: dict[Any, int] = {}  # every new code of the file -> the row it is first on
    for number, row in rows:
        code = row.get("code")
        if code is not None:
            if code in known.customers:
                _bad(errors, number, "code", f"customer {code!r} exists")
            else:
                _first_seen(errors, number, code, seen, "code")
        owner = row.get("owner")
        if owner is not None and owner not in known.users:
            _bad(errors, number, "owner", f"no user {owner!r}")
    # parents once every code of the file is known: a parent may come after its subsidiary
    parent_of: dict[str, str] = {}
    for number, row in rows:
        code, parent = row.get("code"), row.get("parent")
        if parent is None:
            continue
        if parent == code:
            _bad(errors, number, "parent", "a customer cannot be its own parent")
        elif parent not in known.customers and parent not in seen:
            _bad(errors, number, "parent", f"no customer {parent!r} (in the database or file)")
        elif code is not None and seen.get(code) == number and parent in seen:
            parent_of[code] = parent
    for loop in _loops(parent_of):
        shown = " -> ".join([*loop, loop[0]])
        for code in loop:
            _bad(errors, seen[code], "parent", f"a parent loop: {shown}")
    # a parent on a bad row is not imported: its subsidiaries cannot point at it
    changed = True
    while changed:
        changed = False
        for number, row in rows:
            parent_row = seen.get(row.get("parent"))
            if number not in errors and parent_row is not None and parent_row in errors:
                _bad(errors, number, "parent", f"the parent is on bad row {parent_row}")
                changed = True


def _loops(parent_of: dict[str, str]) -> list[list[str]]:
    """The cycles of a child -> parent map, each once, in the order first met."""
    done: set[str] = set()
    loops = []
    for code in parent_of:
        path: list[str] = []
        on_path: dict[str, int] = {}
        at: str | None = code
        while at is not None and at not in done and at not in on_path:
            on_path[at] = len(path)
            path.append(at)
            at = parent_of.get(at)
        if at is not None and at in on_path:
            loops.append(path[on_path[at] :])
        done.update(path)
    return loops


def _contacts(rows: Rows, errors: Errors, known: Known) -> None:
    seen: dict[Any, int] = {}
    for number, row in rows:
        customer, name = row.get("customer"), row.get("name")
        if customer is not None and customer not in known.customers:
            _bad(errors, number, "customer", f"no customer {customer!r}")
        elif customer is not None and name is not None:
            key = (customer, name.casefold())
            if key in known.contacts:
                _bad(errors, number, "name", f"{customer} has a contact {name!r}")
            else:
                _first_seen(errors, number, key, seen, "name")


def _items(rows: Rows, errors: Errors, known: Known) -> None:
    codes: dict[Any, int] = {}
    gtins: dict[Any, int] = {}
    for number, row in rows:
        code, gtin = row.get("code"), row.get("gtin")
        if code is not None:
            if code in known.items:
                _bad(errors, number, "code", f"item {code!r} exists")
            else:
                _first_seen(errors, number, code, codes, "code")
        if gtin is not None:
            if gtin in known.gtins:
                _bad(errors, number, "gtin", f"GTIN {gtin} belongs to another item")
            else:
                _first_seen(errors, number, gtin, gtins, "gtin")


_ORDER_FIELDS = ("type", "due_date")  # the same on every row of an order


def _open_orders(rows: Rows, errors: Errors, known: Known) -> None:
    # an order is a customer's: two customers may use the same reference
    groups: dict[tuple[Any, str], list[tuple[int, dict[str, Any]]]] = {}
    for number, row in rows:
        row.setdefault("type", None)
        if row["type"] is None:
            row["type"] = "standard"
        customer, item, order = row.get("customer"), row.get("item"), row.get("order")
        if customer is not None and customer not in known.customers:
            _bad(errors, number, "customer", f"no customer {customer!r}")
        facts = known.items.get(item) if item is not None else None
        if item is not None and facts is None:
            _bad(errors, number, "item", f"no item {item!r}")
        if facts is not None and row["type"] == "service_contract" and facts.kind != "service":
            _bad(errors, number, "item", f"a service contract sells services, not {item}")
        if row["type"] == "engineered" and not row.get("technical_specs"):
            _bad(errors, number, "technical_specs", "an engineered order needs its specs")
        if order is None:
            continue
        existing = known.orders.get((customer or "", order))
        if existing is not None:
            _bad(errors, number, "order", f"order {order!r} of {customer} exists as {existing}")
        group = groups.setdefault((customer, order), [])
        if group:
            first_number, first = group[0]
            for name in _ORDER_FIELDS:
                if row.get(name) != first.get(name):
                    _bad(errors, number, name, f"differs from row {first_number} of the order")
        group.append((number, row))
    for (_, order), group in groups.items():
        bad = [n for n, _ in group if n in errors]
        for number, _ in group:
            if bad and number not in errors:
                _bad(errors, number, "order", f"order {order!r} has a bad row {bad[0]}")


_ROWS: dict[str, Callable[[Rows, Errors, Known], None]] = {
    "customers": _customers,
    "contacts": _contacts,
    "items": _items,
    "open_orders": _open_orders,
}
