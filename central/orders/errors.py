"""What the order service refuses, and why: one exception per kind of refusal.

    Exception
     └── DomainError          code, message and the field at fault (if one is)
          ├── NotFound        the thing named does not exist            (HTTP 404)
          ├── Invalid         the request makes no sense as given       (HTTP 422)
          └── Conflict        it makes sense, but not in this state     (HTTP 409)

The API turns each into the one JSON error shape; nothing is changed when one is raised.
"""

from __future__ import annotations


class DomainError(Exception):
    status = 400

    def __init__(
        self,
        code: str,
        message: str,
        field: str | None = None,
        *,
        details: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field
        self.details = details or {}  # more for the caller, e.g. the candidates of a duplicate


class NotFound(DomainError):
    status = 404

    def __init__(self, what: str, key: object) -> None:
        super().__init__("not_found", f"no {what} {key!r}")


class Invalid(DomainError):
    status = 422


class Conflict(DomainError):
    status = 409
