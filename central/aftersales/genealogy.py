"""Genealogy of a lot or serial: what went into it (backward), where it went (forward).

Lots as the order book keeps them (``central.orders.progress``): the finished goods of a
production order are the lot named by its work order number, or serials
``<work order>-0001``...; a made lot is consumed at its parent's operation under that
lot; bought lots come in by purchase; shipment lines name the lots that left.

Both directions walk the tree one level at a time with one indexed query per table and
level (IN lists of work orders or lots), so a trace costs a few dozen small queries
whatever the size of the order book. The event log is never read: who worked on an
operation is in ``operation_crews``, folded from the reports as they were ingested.

The walks are ``genealogy_backward`` and ``genealogy_forward``; what both look up is in
``genealogy_lookups``.
"""

from central.aftersales.genealogy_backward import backward
from central.aftersales.genealogy_forward import forward
from central.aftersales.genealogy_lookups import MAX_DEPTH

__all__ = ["MAX_DEPTH", "backward", "forward"]
