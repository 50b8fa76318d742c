"""One error shape for every FloorSync JSON API: ``{"error": {code, message, details}}``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException


class ApiError(Exception):
    """An error a route returns on purpose, with a code a client can branch on."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


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


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": exc.challenge} if isinstance(exc, Unauthenticated) else None
        body = error_body(exc.code, exc.message, exc.details)
        return JSONResponse(body, status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"where": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        first = details[0] if details else {"where": "request", "message": "invalid"}
        message = f"{first['where']}: {first['message']}"
        return JSONResponse(error_body("invalid_request", message, details), status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        code = "not_found" if exc.status_code == 404 else f"http_{exc.status_code}"
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)
