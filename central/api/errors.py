"""The order service's refusals in the one JSON error shape (protocols.api).

ApiError (protocols.api)     status, code, message, details
 ├── Unauthenticated         401, with ``WWW-Authenticate: Bearer``
 └── Forbidden               403, details name the roles that may
DomainError (central.orders) 404 / 422 / 409 by class; details name the field
IntegrityError (SQLAlchemy)  409 ``conflict``: a row stored meanwhile clashes
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from central.orders.errors import DomainError
from protocols.api import ApiError, error_body


class Unauthenticated(ApiError):
    def __init__(self, message: str, *, invalid_token: bool = False) -> None:
        super().__init__(401, "unauthenticated", message)
        # RFC 6750: say which scheme, and whether the token given was the problem.
        self.challenge = 'Bearer error="invalid_token"' if invalid_token else "Bearer"


class Forbidden(ApiError):
    def __init__(self, what: str, roles: Sequence[str]) -> None:
        super().__init__(
            403, "forbidden", f"{what} needs the role {' or '.join(roles)}", {"roles": list(roles)}
        )


def install(app: FastAPI) -> None:
    """Add the order service's handlers to the ones protocols.api installs."""

    @app.exception_handler(Unauthenticated)
    async def _unauthenticated(_: Request, exc: Unauthenticated) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message),
            status_code=exc.status,
            headers={"WWW-Authenticate": exc.challenge},
        )

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        details = {**({"field": exc.field} if exc.field else {}), **exc.details} or None
        return JSONResponse(error_body(exc.code, exc.message, details), status_code=exc.status)

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        message = "the change clashes with data stored meanwhile; read it and try again"
        return JSONResponse(error_body("conflict", message), status_code=409)
