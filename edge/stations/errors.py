"""The one error of station workflows: ``Refused``, a rule said no and nothing changed.

Reason codes (stable, for the terminal and the logs):

- ``unknown_work_order``, ``unknown_operation``, ``not_at_station``, ``operation_done``,
  ``work_order_withdrawn``, ``no_work_order``
- ``unknown_badge``, ``missing_skill``, ``not_logged_in``, ``no_crew``
- ``bad_scan``, ``unexpected_scan``, ``invalid_input``
- ``no_gtin``, ``unknown_gtin``, ``not_in_bom``, ``no_lot``, ``lot_expired``
- ``quantity_needed``, ``bad_quantity``, ``over_issue``, ``nothing_pending``
- ``unknown_defect_code``, ``bad_disposition``, ``bad_rework_operation``
- ``inspection_required``, ``short_close``
- ``store_full`` (not a rule: the edge's store has no room; see ``edge.workstations``)
"""

from __future__ import annotations


class Refused(Exception):
    """A station input broke a rule; ``message`` is what the worker reads on the terminal."""

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(message)
        self.reason_code = reason_code
        self.message = message

    def __repr__(self) -> str:
        return f"Refused({self.reason_code!r}, {self.message!r})"
