"""A quote as a PDF: letterhead, customer block, the quote's identity and validity, the lines
with list price, discount and net price, totals, technical specs of engineered lines, terms.

Core fonts only (no font files, no network): text outside latin-1 is transliterated
("Łódź" prints as "Lódz"), so any customer's name renders.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

__all__ = ["Letterhead", "latin1", "render"]

# what NFKD does not take apart into a latin-1 letter and a mark
_SPELLED = str.maketrans(
    {
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "Œ": "OE",
        "œ": "oe",
        "€": "EUR",
        "\u2013": "-",
        "\u2014": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": ",",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2026": "...",
        "\u2022": "-",
        "\u00a0": " ",
    }
)


@dataclass(frozen=True)
class Letterhead:
    """Who quotes: the header of every page."""

    name: str = "FloorSync"
    address: str = ""
    contact: str = ""


def latin1(text: str) -> str:
    """``text`` in the core fonts' latin-1: kept where it can be, else its letters unaccented."""
    out = []
    for char in text.translate(_SPELLED):
        if ord(char) < 256:
            out.append(char)
            continue
        plain = "".join(c for c in unicodedata.normalize("NFKD", char) if ord(c) < 256)
        out.append(plain if plain and not unicodedata.combining(plain[0]) else "?")
    return "".join(out)


def _money(cents: int | float) -> str:
    return f"{cents / 100:,.2f}"


def _quantity(value: float) -> str:
    return f"{value:g}"


def _specs(specs: dict[str, Any] | None) -> str:
    if not specs:
        return ""
    return "; ".join(
        f"{k}: {v if isinstance(v, str | int | float) else json.dumps(v)}" for k, v in specs.items()
    )


class _Document(FPDF):
    def __init__(self, letterhead: Letterhead, title: str) -> None:
        super().__init__(format="A4")
        self.letterhead, self.doc_title = letterhead, title
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(15, 15, 15)

    def normalize_text(self, text: str) -> str:
        # every string passes here on its way to a core font
        return super().normalize_text(latin1(text))

    def header(self) -> None:
        self.set_font("helvetica", "B", 14)
        self.cell(0, 7, self.letterhead.name, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font("helvetica", "", 8)
        for line in (self.letterhead.address, self.letterhead.contact):
            if line:
                self.cell(0, 4, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.line(15, self.get_y() + 1, 195, self.get_y() + 1)
        self.ln(4)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("helvetica", "", 7)
        self.cell(0, 5, f"{self.doc_title} - page {self.page_no()}/{{nb}}", align="C")


# label, width (mm), alignment
_COLUMNS = (
    ("#", 8, "R"),
    ("Item", 62, "L"),
    ("Qty", 14, "R"),
    ("List price", 22, "R"),
    ("Disc. %", 16, "R"),
    ("Net price", 22, "R"),
    ("Line total", 26, "R"),
)


def render(
    quote: dict[str, Any],
    customer: dict[str, Any],
    *,
    printed: date,
    letterhead: Letterhead = Letterhead(),
    compress: bool = True,
) -> bytes:
    """The PDF of ``quote`` (as quotes.detail gives it) for ``customer`` (quotes.bill_to)."""
    title = f"Quote {quote['number']} v{quote['version']}"
    pdf = _Document(letterhead, title)
    pdf.set_compression(compress)
    pdf.set_title(title)
    pdf.set_subject(f"{quote['number']} version {quote['version']} for {customer['name']}")
    pdf.set_author(letterhead.name)
    # the print date, not the clock: the same quote printed the same day is the same file
    pdf.set_creation_date(datetime.combine(printed, time(), UTC))
    pdf.alias_nb_pages()
    pdf.add_page()

    top = pdf.get_y()
    pdf.set_font("helvetica", "B", 10)
    pdf.cell(95, 5, customer["name"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", "", 9)
    for line in (customer.get("address") or "").splitlines():
        pdf.cell(95, 4.5, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if customer.get("tax_id"):
        pdf.cell(95, 4.5, f"Tax id: {customer['tax_id']}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    left_bottom = pdf.get_y()

    pdf.set_xy(120, top)
    pdf.set_font("helvetica", "B", 16)
    pdf.cell(75, 8, "QUOTE", align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font("helvetica", "", 9)
    for label, value in (
        ("Number", quote["number"]),
        ("Version", str(quote["version"])),
        ("Date", printed.isoformat()),
        ("Valid until", quote["valid_until"].isoformat()),
        ("Customer", customer["code"]),
        ("Opportunity", quote.get("opportunity") or ""),
    ):
        if value:
            pdf.set_x(120)
            pdf.cell(30, 4.5, label)
            pdf.cell(45, 4.5, value, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(max(left_bottom, pdf.get_y()) + 6)

    pdf.set_font("helvetica", "B", 8)
    pdf.set_fill_color(230, 230, 230)
    for label, width, align in _COLUMNS:
        pdf.cell(width, 6, label, border="B", align=align, fill=True)
    pdf.ln()
    engineered = quote["order_type"] == "engineered"
    for line in quote["lines"]:
        pdf.set_font("helvetica", "", 8)
        values = (
            str(line["line_no"]),
            f"{line['item']} - {line['description']}",
            _quantity(line["quantity"]),
            _money(line["list_price_cents"]),
            f"{line['discount_pct']:.2f}",
            _money(line["unit_price_cents"]),
            _money(line["line_total_cents"]),
        )
        for (_, width, align), value in zip(_COLUMNS, values, strict=True):
            pdf.cell(width, 5, _fit(pdf, value, width), align=align)
        pdf.ln()
        specs = _specs(line["technical_specs"]) if engineered else ""
        if specs:
            pdf.set_x(15 + _COLUMNS[0][1])
            pdf.set_font("helvetica", "I", 7)
            pdf.multi_cell(162, 3.5, f"Specs: {specs}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    totals = quote["totals"]
    pdf.ln(2)
    pdf.line(110, pdf.get_y(), 195, pdf.get_y())
    for label, cents, style in (
        ("List total", totals["list_cents"], ""),
        ("Discount", -totals["discount_cents"], ""),
        ("Net total", totals["net_cents"], "B"),
    ):
        pdf.set_font("helvetica", style, 9)
        pdf.set_x(110)
        pdf.cell(55, 5, label)
        pdf.cell(30, 5, _money(cents), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    quote_specs = _specs(quote.get("technical_specs"))
    if engineered and quote_specs:
        _section(pdf, "Technical specification", quote_specs)
    if quote.get("notes"):
        _section(pdf, "Notes", quote["notes"])
    terms = (
        f"This quote is valid until {quote['valid_until'].isoformat()}. "
        f"Payment within {customer['payment_terms_days']} days of invoice. "
        "Prices are net per unit; the order is placed by accepting this quote "
        f"({quote['number']}, version {quote['version']})."
    )
    _section(pdf, "Terms", terms)
    return bytes(pdf.output())


def _section(pdf: FPDF, heading: str, text: str) -> None:
    pdf.ln(4)
    pdf.set_font("helvetica", "B", 9)
    pdf.cell(0, 5, heading, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("helvetica", "", 8)
    pdf.multi_cell(0, 4, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """``text`` cut with an ellipsis to fit a cell ``width`` mm wide."""
    text = latin1(text)
    if pdf.get_string_width(text) <= width - 2:
        return text
    while text and pdf.get_string_width(text + "...") > width - 2:
        text = text[:-1]
    return text + "..."
