"""The order service's refusals in the one JSON error shape (protocols.api).

ApiError (protocols.api)     status, code, message, details
 ├── Unauthenticated         401, with ``WWW-Authenticate: Bearer`` (protocols.api)
 └── Forbidden               403, details name the roles that may (protocols.api)
DomainError (central.orders) 404 / 422 / 409 by class; details name the field
IntegrityError (SQLAlchemy)  409 ``conflict``: a row stored meanwhile clashes
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

from central.orders.errors import DomainError
from protocols.api import Forbidden as Forbidden
from protocols.api import Unauthenticated as Unauthenticated
from protocols.api import error_body


def install(app: FastAPI) -> None:
    """Add the order service's handlers to the ones protocols.api installs."""

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        details = {**({"field": exc.field} if exc.field else {}), **exc.details} or None
        return JSONResponse(error_body(exc.code, exc.message, details), status_code=exc.status)

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        message = "the change clashes with data stored meanwhile; read it and try again"
        return JSONResponse(error_body("conflict", message), status_code=409)
