"""Station workflow rules as plain Python over plain data: no I/O, no HTTP, no SQLite.

``Catalog`` answers lookups from the cached dispatch list and master data; ``Crew``
tracks who is logged in at a station; ``check_issue`` checks a material lot against
the BOM; ``split_report`` and ``build_report`` turn counts into production reports.
Every rule that says no raises ``Refused``.
"""

from edge.stations.catalog import (
    BomLine,
    Catalog,
    Item,
    Operator,
    Order,
    OrderOperation,
    RoutingStep,
)
from edge.stations.crew import Crew, Stint
from edge.stations.errors import Refused
from edge.stations.material import LotScan, check_issue, requirement
from edge.stations.reporting import ReportPolicy, ReportSplit, Share, build_report, split_report

__all__ = [
    "BomLine",
    "Catalog",
    "Crew",
    "Item",
    "LotScan",
    "Operator",
    "Order",
    "OrderOperation",
    "Refused",
    "ReportPolicy",
    "ReportSplit",
    "RoutingStep",
    "Share",
    "Stint",
    "build_report",
    "check_issue",
    "requirement",
    "split_report",
]
