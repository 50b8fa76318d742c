"""Barcode scans: what a scanner sent, and what it means on the shop floor.

Pure functions, no I/O. ``parse_scan(raw)`` returns a ``Scan`` or raises
``ScanError`` whose ``reason`` a worker can read on a terminal; ``explain(raw)``
gives the same as a JSON-ready dict and never raises for bad input.

Accepted input:

- One trailing terminator (CR, LF, CR LF, or several of them) is dropped.
- An AIM symbology identifier (``]`` + code + modifier) is optional.
  ``]C1`` GS1-128, ``]d2`` GS1 DataMatrix, ``]Q3`` GS1 QR and ``]e0`` GS1
  DataBar mean the data is a GS1 element string.
  ``]E0``, ``]E4`` (EAN/UPC) and ``]I1`` (ITF-14) mean the data is a bare GTIN.
  Any other identifier (``]C0``, ``]A0``, ``]Q1``, ...) means plain data, which
  must match an internal pattern.
- Without an identifier (keyboard wedge), data matching an internal pattern
  is that internal code; otherwise data that starts with a GS separator or
  with AI 00, 01 or 02 (identification key first, as GS1 labels put it) is
  read as a GS1 element string. Anything else is not a known code.
- In GS1 data the field separator is the ASCII group separator (GS, 0x1D).
  Because keyboard wedges often cannot type it, the renderings ``^]`` (caret
  notation of Ctrl+]), ``<GS>`` and ``{GS}`` are read as GS too. A leading GS
  (FNC1 in first position) and a trailing GS are ignored.
- GS1 data may only hold GS1 characters (ISO 646 subset, no spaces); element
  strings are parsed by biip, and GTIN check digits and dates are verified.
  A repeated AI must repeat the same value.
"""

from protocols.barcode.parse import explain, parse_scan
from protocols.barcode.patterns import DEFAULT_PATTERNS, InternalPattern
from protocols.barcode.scan import Scan, ScanError

__all__ = [
    "DEFAULT_PATTERNS",
    "InternalPattern",
    "Scan",
    "ScanError",
    "explain",
    "parse_scan",
]
