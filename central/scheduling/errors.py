"""What the scheduling engine refuses: a problem that cannot be scheduled as given."""

from __future__ import annotations


class SchedulingError(ValueError):
    """The problem is malformed: an unknown work center, a cycle, a calendar without shifts."""
